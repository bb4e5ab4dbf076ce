{#- Use `+schema:` as the schema name itself (staging, quarantine, ...), not
    `<target schema>_staging`: the warehouse's schema names are part of the design. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
