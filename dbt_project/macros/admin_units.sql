{#- Administrative codes carry their code system: 2025 codes reuse legacy codes for other
    places (DOMAIN.md), so the system comes from the row's date, never from the code.
    The switch date is the dictionary's transition legacy-until-2025-07-01
    (include/dictionary/code_lists/admin_units_legacy_to_2025.yaml). -#}
{% macro admin_code_system(date_column, switch_date='2025-07-01') -%}
    case
        when {{ date_column }} < date '{{ switch_date }}' then 'legacy'
        when {{ date_column }} >= date '{{ switch_date }}' then '2025'
    end
{%- endmacro %}
