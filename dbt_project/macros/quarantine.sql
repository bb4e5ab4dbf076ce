{#- Quarantine rules shared by the staging models.

    A check is a dict: `when` (SQL that is true when the row fails), `reason` (a reason code
    of include/dictionary/reason_codes.yaml), `field` (the source column at fault) and `value`
    (the SQL column holding that source value as received). The check macros return lists of
    checks; `quarantine_columns` turns an ordered list into the three quarantine columns, the
    first failing check winning.

    `column` is the raw column as the model carries it. When a source column's name is also
    the name of its conformed column (education sends `date_of_birth`), the model carries the
    raw value as `<name>_raw` and passes `field='<name>'` so the report names the source
    column. -#}

{% macro check_personal_id(column, field=none) -%}
    {{ return([
        {"when": conform_text(column) ~ " is null", "reason": "PID_MISSING", "field": field or column, "value": column},
    ] + check_optional_personal_id(column, field)) }}
{%- endmacro %}

{#- A personal ID that may be absent (a young student, an enterprise's representative): only
    a value that is present and not 12 digits once conformed (conform_personal_id undoes
    spreadsheet damage), or 12 digits not starting with a known province, fails. -#}
{% macro check_optional_personal_id(column, field=none) -%}
    {{ return([
        {"when": conform_personal_id(column) ~ " !~ '^[0-9]{12}$'", "reason": "PID_MALFORMED", "field": field or column, "value": column},
        {"when": pid_province_unknown(conform_personal_id(column)), "reason": "PID_UNKNOWN_PROVINCE", "field": field or column, "value": column},
    ]) }}
{%- endmacro %}

{#- True when a 12-digit personal ID's first three digits (PPP) are not '0' + a province code
    of the dictionary, legacy or 2025 (seed admin_units_provinces): no such number is issued. -#}
{% macro pid_province_unknown(column) -%}
    ({{ column }} ~ '^[0-9]{12}$' and left({{ column }}, 3) not in (
        select '0' || province_code from {{ ref('admin_units_provinces') }}
    ))
{%- endmacro %}

{#- A personal ID that may be replaced by an old 9-digit ID card number (CMND): missing only
    when both are empty; a personal ID that is present must be 12 digits. -#}
{% macro check_personal_id_or_cmnd(column, cmnd_column) -%}
    {{ return([
        {"when": conform_text(column) ~ " is null and " ~ conform_text(cmnd_column) ~ " is null",
         "reason": "PID_MISSING", "field": column, "value": column},
    ] + check_optional_personal_id(column)) }}
{%- endmacro %}

{#- A required date: `parsed` is the conformed column, null when `column` did not parse. -#}
{% macro check_date_parsed(column, parsed, field=none) -%}
    {{ return([
        {"when": parsed ~ " is null", "reason": "DATE_UNPARSEABLE", "field": field or column, "value": column},
    ]) }}
{%- endmacro %}

{#- An optional date: empty is fine, a value that does not parse is not. -#}
{% macro check_optional_date_parsed(column, parsed, field=none) -%}
    {{ return([
        {"when": conform_text(column) ~ " is not null and " ~ parsed ~ " is null",
         "reason": "DATE_UNPARSEABLE", "field": field or column, "value": column},
    ]) }}
{%- endmacro %}

{% macro check_not_future(column, parsed, field=none) -%}
    {{ return([
        {"when": parsed ~ " > " ~ local_load_date(), "reason": "DATE_IN_FUTURE", "field": field or column, "value": column},
    ]) }}
{%- endmacro %}

{#- A coded value: `mapped` is the dictionary code, null when the value is not in the
    source's declared mapping. -#}
{% macro check_code_known(column, mapped, field=none) -%}
    {{ return([
        {"when": mapped ~ " is null", "reason": "CODE_UNKNOWN", "field": field or column, "value": column},
    ]) }}
{%- endmacro %}

{#- A person's name: `repaired` is the conformed name. A name that does not come out of the
    repair as Vietnamese letters (name_not_vietnamese) is quarantined, never stored. -#}
{% macro check_name(column, repaired, field=none) -%}
    {{ return([
        {"when": name_not_vietnamese(repaired), "reason": "NAME_UNREPAIRABLE", "field": field or column, "value": column},
    ]) }}
{%- endmacro %}

{#- Two dates of one record that must come in order: quarantined with `reason` when
    `earlier` lies after `later` (a birth after its registration, a death before the birth).
    `column`/`field` name the source column reported. -#}
{% macro check_dates_in_order(earlier, later, reason, column, field=none) -%}
    {{ return([
        {"when": earlier ~ " > " ~ later, "reason": reason, "field": field or column, "value": column},
    ]) }}
{%- endmacro %}

{#- With no checks (an entity without rules yet) every row conforms. -#}
{% macro quarantine_columns(checks) -%}
    {%- if checks | length == 0 -%}
    null::text as quarantine_reason_code,
    null::text as quarantine_field,
    null::text as quarantine_value
    {%- else -%}
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
        when {{ check.when }} then {{ check.value }}
        {%- endfor %}
    end as quarantine_value
    {%- endif %}
{%- endmacro %}

{#- The quarantined rows of one staging relation, in the shape of quarantined_rows (on an
    incremental run, of its changed rows only). -#}
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
    from ({{ rows_to_derive(relation, source_name, entity, 'staged') }}) as staged
    where quarantine_reason_code is not null
{%- endmacro %}

{#- The staging models whose rejected rows quarantined_rows gathers: (model, source, entity)
    of every registry entity (macros/registry.sql, generated from include/sources). -#}
{% macro quarantine_entities() -%}
    {%- set entities = [] -%}
    {%- for e in registry_entities() -%}
        {%- do entities.append((e.model, e.source, e.entity)) -%}
    {%- endfor -%}
    {{ return(entities) }}
{%- endmacro %}

{#- The staging rows that quarantine models derive from and that changed since the model's
    last build: (source, entity, _batch_id, _source_row) of each rewritten or removed row of the
    given (model, source, entity) list. -#}
{% macro changed_staging_rows(entities) -%}
    {%- for model, source_name, entity in entities %}
    {{ changed_keys(ref(model), ["'" ~ source_name ~ "'::text as source", "'" ~ entity ~ "'::text as entity", 'changed._batch_id', 'changed._source_row']) }}
    {%- if not loop.last %}
    union{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The rows of a staging relation to derive on this run: all of them on a full build, the
    changed ones (see changed_staging_rows) on an incremental run. -#}
{% macro rows_to_derive(relation, source_name, entity, alias) -%}
    {%- set touched = touched_table() -%}
    select * from {{ relation }} as {{ alias }}
    {%- if touched %}
    where ({{ alias }}._batch_id, {{ alias }}._source_row) in (
        select _batch_id, _source_row from {{ touched }}
        where source = '{{ source_name }}' and entity = '{{ entity }}'
    )
    {%- endif %}
{%- endmacro %}

{#- The reasons a row may leave quarantine by linkage (the link reasons of ndc.linkage.flow). -#}
{% macro link_reason_codes() -%}
    'PID_MISSING', 'PID_MALFORMED', 'PID_UNKNOWN_PROVINCE'
{%- endmacro %}

{#- The staging rows whose link changed since the model's last build (a new link, a review
    decision): (source, entity, _batch_id, _source_row). -#}
{% macro changed_links() -%}
    select source, entity, _batch_id, _source_row
    from {{ source('ops', 'person_links') }}
    where _changed_at > {{ last_built() }}
{%- endmacro %}

{#- The version keys (social insurance code, else batch#row) of the insured-person rows whose
    link (a CMND that resolved to no single citizen, or a personal ID quarantined) changed
    since the model's last build. -#}
{% macro cmnd_link_changed_keys() -%}
    select {{ version_key('s', 'social_insurance_code') }} as version_key
    from {{ ref('stg_social_insurance__insured_persons') }} as s
    where (s._batch_id, s._source_row) in (
        select _batch_id, _source_row from ({{ changed_links() }}) as l
        where l.source = 'social_insurance' and l.entity = 'insured_person'
    )
{%- endmacro %}
