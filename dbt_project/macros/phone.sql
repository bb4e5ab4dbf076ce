{#- Phone numbers to E.164 ('+84' and the national significant number).

    The parsing is libphonenumber's, at load (include/ndc/phones.py): the raw column
    `<column>_e164` holds the number read as Vietnamese in E.164 ('+84 ...', '0084 ...',
    '+84 (0) ...', '84 ...', '0 ...', the national number without its 0; separators
    ignored), null when it cannot be one. What stays here is the 2018 mobile prefix change:
    an old 11-digit mobile number ('+841' and nine digits, no valid number today) is
    rewritten to its new prefix through the dictionary's mobile_prefix_2018 code list (a
    seed: reference data, so a change to it rebuilds the models, rule 8 of the README); an
    old prefix the list does not know gives null. -#}
{% macro phone_e164(e164_column) -%}
    case
        when {{ e164_column }} ~ '^[+]841[0-9]{9}$'
            then (
                select '+84' || substr(prefix.new_prefix, 2) || right({{ e164_column }}, 7)
                from {{ ref('mobile_prefix_2018') }} as prefix
                where prefix.code = '0' || substr({{ e164_column }}, 4, 3)
            )
        when {{ e164_column }} ~ '^[+]84[2-9][0-9]{8,9}$'
            then {{ e164_column }}
    end
{%- endmacro %}
