{#- Decoding the personal ID number (số định danh cá nhân): PPP G YY NNNNNN
    (docs/domain.md#personal-identification-number).
    Each macro takes the conformed (trimmed) ID and gives null unless it is 12 digits.
    There is no checksum: what decodes is only what the number claims. -#}

{#- PPP: the (pre-2025) province or country where the birth was registered. -#}
{% macro pid_province_code(column) -%}
    case when {{ column }} ~ '^[0-9]{12}$' then left({{ column }}, 3) end
{%- endmacro %}

{#- G: even = male, odd = female, as a QCVN 109 sex code ('1' male, '2' female). -#}
{% macro pid_sex_code(column) -%}
    case
        when {{ column }} ~ '^[0-9]{12}$'
            then case when substr({{ column }}, 4, 1)::int % 2 = 0 then '1' else '2' end
    end
{%- endmacro %}

{#- Birth year = 1900 + 100 * (G div 2) + YY. -#}
{% macro pid_birth_year(column) -%}
    case
        when {{ column }} ~ '^[0-9]{12}$'
            then 1900 + 100 * (substr({{ column }}, 4, 1)::int / 2) + substr({{ column }}, 5, 2)::int
    end
{%- endmacro %}

{#- True when the ID's sex or birth year disagrees with the record's sex_code or
    date_of_birth; false when both agree; null when nothing can be compared (no decodable ID)
    or one side is unknown and the other agrees (sex '0' counts as unknown). A discrepancy
    to report, not a quarantine rule: the ID may be right and the record wrong. -#}
{% macro pid_sex_year_mismatch(column, sex_code, date_of_birth) -%}
    (
        {{ pid_sex_code(column) }} <> nullif({{ sex_code }}, '0')
        or {{ pid_birth_year(column) }} <> extract(year from {{ date_of_birth }})::int
    )
{%- endmacro %}

{#- The personal ID as received, with the damage spreadsheets do undone
    (docs/domain.md#what-can-be-validated): full-width digits read as digits (NFKC), a leading
    apostrophe (a cell forced to text) and separators (spaces, dots, dashes) removed, and the
    leading zeros of a number stored as a number restored: a 10- or 11-digit value not
    starting with 0 is padded to 12 only when the padded number starts with '0' + a province
    code of the dictionary (every issued number does), the one reading of that length. Any
    other value is returned trimmed, as received, for the quarantine rules to judge. -#}
{% macro conform_personal_id(column) -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    {%- set cleaned = "regexp_replace(normalize(" ~ value ~ ", nfkc), '^''|[ .-]', '', 'g')" -%}
    (case
        when {{ value }} ~ '^[0-9]{12}$' then {{ value }}
        when {{ cleaned }} ~ '^[0-9]{12}$' then {{ cleaned }}
        when {{ cleaned }} ~ '^[1-9][0-9]{9,10}$'
            and left(lpad({{ cleaned }}, 12, '0'), 3) in (
                select '0' || province_code from {{ ref('admin_units_provinces') }}
            )
            then lpad({{ cleaned }}, 12, '0')
        else nullif({{ value }}, '')
    end)
{%- endmacro %}
