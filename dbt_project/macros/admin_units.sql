{#- Administrative codes carry their code system: 2025 codes reuse legacy codes for other
    places (docs/domain.md#codes-were-reused-a-bare-code-is-ambiguous), so the system never comes from the code's shape. It comes from the
    row's date (the dictionary's transition legacy-until-2025-07-01,
    include/dictionary/code_lists/admin_units_legacy_to_2025.yaml) and from the row's
    structure: the 2025 system has two levels (province, commune), so a row that still names
    a district is a legacy address, whatever its date (a system not yet switched over). -#}
{% macro admin_code_system(date_column, district_column=none, switch_date='2025-07-01') -%}
    case
        when {{ date_column }} < date '{{ switch_date }}' then 'legacy'
        {%- if district_column %}
        when {{ conform_text(district_column) }} is not null then 'legacy'
        {%- endif %}
        when {{ date_column }} >= date '{{ switch_date }}' then '2025'
    end
{%- endmacro %}
