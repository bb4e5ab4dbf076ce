{#- Phone numbers to E.164 ('+84' and the national significant number).

    Accepted: '+84 ...', '0084 ...', '84 ...' (then 9 or 10 digits), '0 ...', or the national
    number whose leading 0 a spreadsheet dropped; spaces, dots, dashes and brackets are
    ignored. The national number must be a 10-digit mobile (3x, 5x, 7x, 8x, 9x), a 10-digit
    landline of the 2017 area codes (2x), or an old 11-digit mobile (01xx), rewritten to its
    2018 prefix through the dictionary's mobile_prefix_2018 code list (a seed). Anything else (another country, a service number,
    a pre-2017 landline, garbage) gives null: it cannot be taken as a Vietnamese number. -#}
{% macro phone_e164(column) -%}
    (
        select
            case
                when national ~ '^[35789][0-9]{8}$' or national ~ '^2[0-9]{9}$'
                    then '+84' || national
                when national ~ '^1[0-9]{9}$'
                    then (
                        select '+84' || substr(prefix.new_prefix, 2) || right(national, 7)
                        from {{ ref('mobile_prefix_2018') }} as prefix
                        where prefix.code = '0' || left(national, 3)
                    )
            end
        from (
            select regexp_replace(
                regexp_replace(trim({{ column }}), '[[:space:].()-]', '', 'g'),
                '^(\+84|0084|84(?=[0-9]{9,10}$))?0?',
                ''
            )
        ) as parsed (national)
    )
{%- endmacro %}
