{#- Quarantine rules shared by the staging models.

    A check is a dict: `when` (SQL that is true when the row fails), `reason` (a reason code
    of include/dictionary/reason_codes.yaml), `field` (the source column at fault). The check
    macros return lists of checks; `quarantine_columns` turns an ordered list into the three
    quarantine columns, the first failing check winning. The value reported is the source
    column as received. -#}

{% macro check_personal_id(column) -%}
    {{ return([
        {"when": conform_text(column) ~ " is null", "reason": "PID_MISSING", "field": column},
        {"when": "trim(" ~ column ~ ") !~ '^[0-9]{12}$'", "reason": "PID_MALFORMED", "field": column},
    ]) }}
{%- endmacro %}

{#- A required date: `parsed` is the conformed column, null when `column` did not parse. -#}
{% macro check_date_parsed(column, parsed) -%}
    {{ return([
        {"when": parsed ~ " is null", "reason": "DATE_UNPARSEABLE", "field": column},
    ]) }}
{%- endmacro %}

{#- An optional date: empty is fine, a value that does not parse is not. -#}
{% macro check_optional_date_parsed(column, parsed) -%}
    {{ return([
        {"when": conform_text(column) ~ " is not null and " ~ parsed ~ " is null",
         "reason": "DATE_UNPARSEABLE", "field": column},
    ]) }}
{%- endmacro %}

{% macro check_not_future(column, parsed) -%}
    {{ return([
        {"when": parsed ~ " > " ~ local_load_date(), "reason": "DATE_IN_FUTURE", "field": column},
    ]) }}
{%- endmacro %}

{#- A coded value: `mapped` is the dictionary code, null when the value is not in the
    source's declared mapping. -#}
{% macro check_code_known(column, mapped) -%}
    {{ return([
        {"when": mapped ~ " is null", "reason": "CODE_UNKNOWN", "field": column},
    ]) }}
{%- endmacro %}

{% macro quarantine_columns(checks) -%}
    case
        {%- for check in checks %}
        when {{ check.when }} then '{{ check.reason }}'
        {%- endfor %}
    end as quarantine_reason_code,
    case
        {%- for check in checks %}
        when {{ check.when }} then '{{ check.field }}'
        {%- endfor %}
    end as quarantine_field,
    case
        {%- for check in checks %}
        when {{ check.when }} then {{ check.field }}
        {%- endfor %}
    end as quarantine_value
{%- endmacro %}

{#- The quarantined rows of one staging relation, in the shape of quarantined_rows. -#}
{% macro rejected_rows(relation, source_name, entity) -%}
    select
        '{{ source_name }}'::text as source,
        '{{ entity }}'::text as entity,
        _batch_id,
        _source_row,
        record_key,
        quarantine_reason_code as reason_code,
        quarantine_field as field,
        quarantine_value as value
    from {{ relation }}
    where quarantine_reason_code is not null
{%- endmacro %}
