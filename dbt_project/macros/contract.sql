{#- The standard conformance of a source entity, generated from its registry contract
    (include/sources/<source>.yaml: columns, primary_key and `conform`, listed for dbt in the
    generated macros/registry.sql). A staging model that needs nothing special is two lines:

        {{ config(post_hook=["{{ staging_indexes() }}"]) }}
        {{ conform_entity('<source>', '<entity>') }}

    Per column, by its declared kind (a column `conform` does not name is text as received,
    trimmed, under its own name):
      person_name  the name repaired (legacy encodings, NFC, spaces: macros/names.sql) as `to`,
                   and the name as received as `<to>_raw`; checked: comes out as Vietnamese
                   letters (NAME_UNREPAIRABLE);
      personal_id  spreadsheet damage undone (conform_personal_id, macros/personal_id.sql);
                   checked: 12 digits of a known province (PID_MALFORMED,
                   PID_UNKNOWN_PROVINCE), and present when required (PID_MISSING);
      date         parsed in the declared formats (dmy, iso, year, spreadsheet), the first
                   that parses winning, with `<to>_precision`; checked: parses (required: and
                   is present) and is not after the load date (DATE_UNPARSEABLE,
                   DATE_IN_FUTURE);
      phone        E.164 from the raw `<column>_e164` the load adds with libphonenumber
                   (ndc.phones), old mobile prefixes rewritten (macros/phone.sql); null when
                   it is no Vietnamese number;
      other kinds  trimmed text, as received.
    The record key is the primary key's columns, trimmed, joined by '|'. Rules the contract
    cannot say (code maps, lookups, duplicates, cross-field checks) are written by hand in the
    model, as the first five sources' models do. -#}

{#- One registry entity, as macros/registry.sql lists it. -#}
{% macro registry_entity(source_name, entity_name) -%}
    {%- for e in registry_entities() if e.source == source_name and e.entity == entity_name -%}
        {{ return(e) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no registry entity " ~ source_name ~ "." ~ entity_name ~ " (include/sources/" ~ source_name ~ ".yaml; make install writes macros/registry.sql)") }}
{%- endmacro %}

{#- A date in any of the declared formats: the first that parses. -#}
{% macro parse_date_formats(column, formats) -%}
    {%- set parsers = {'dmy': parse_dmy_date, 'iso': parse_iso_date, 'year': parse_year_only_date, 'spreadsheet': parse_spreadsheet_date} -%}
    coalesce(
        {%- for f in formats %}
        {{ parsers[f](column) }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- The checks of one declared column (macros/quarantine.sql); `raw` is the column carrying
    the value as received. -#}
{% macro contract_checks(column, c, raw) -%}
    {%- if c.kind == 'personal_id' -%}
        {{ return(check_personal_id(raw, field=column) if c.required else check_optional_personal_id(raw, field=column)) }}
    {%- elif c.kind == 'person_name' -%}
        {{ return(check_name(raw, c.to, field=column)) }}
    {%- elif c.kind == 'date' -%}
        {{ return((check_date_parsed(raw, c.to, field=column) if c.required else check_optional_date_parsed(raw, c.to, field=column)) + check_not_future(raw, c.to, field=column)) }}
    {%- endif -%}
    {{ return([]) }}
{%- endmacro %}

{% macro conform_entity(source_name, entity_name) -%}
{%- set e = registry_entity(source_name, entity_name) -%}
{%- set checks = [] -%}
{%- for column in e.columns if column in e.conform -%}
    {%- do checks.extend(contract_checks(column, e.conform[column], '_raw__' ~ column)) -%}
{%- endfor -%}
with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source(source_name, entity_name) }}
),

conformed as (
    {%- set key = [] %}
    {%- for k in e.primary_key %}{% do key.append("coalesce(" ~ conform_text(k) ~ ", '')") %}{% endfor %}
    {%- set columns = [
        '_batch_id', '_source_row', '_loaded_at',
        "nullif(" ~ (key | join(" || '|' || ")) ~ ", '" ~ ('|' * (e.primary_key | length - 1)) ~ "') as record_key"
    ] %}
    {%- for column in e.columns %}
        {%- set c = e.conform.get(column) %}
        {%- if c is none %}
            {%- do columns.append(conform_text(column) ~ ' as ' ~ column) %}
        {%- elif c.kind == 'person_name' %}
            {%- do columns.append(repair_name(column) ~ ' as ' ~ c.to) %}
        {%- elif c.kind == 'date' %}
            {%- do columns.append(parse_date_formats(column, c.formats) ~ ' as ' ~ c.to) %}
        {%- elif c.kind == 'phone' %}
            {%- do columns.append(phone_e164(column ~ '_e164') ~ ' as ' ~ c.to) %}
        {%- elif c.kind == 'personal_id' %}
            {%- do columns.append(conform_personal_id(column) ~ ' as ' ~ c.to) %}
        {%- else %}
            {%- do columns.append(conform_text(column) ~ ' as ' ~ c.to) %}
        {%- endif %}
        {%- if c is not none %}
            {%- do columns.append(column ~ ' as _raw__' ~ column) %}
        {%- endif %}
    {%- endfor %}
    select
        {{ columns | join(',\n        ') }}
    from source
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(checks) | indent(8) }}
    from conformed
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        -- When this row was conformed.
        now() as _conformed_at,
        record_key,
        {%- for column in e.columns %}
        {%- set c = e.conform.get(column) %}
        {%- if c is none %}
        {{ column }},
        {%- else %}
        {{ c.to }},
        {%- if c.kind == 'person_name' %}
        _raw__{{ column }} as {{ c.to }}_raw,
        {%- elif c.kind == 'date' %}
        {{ date_precision('_raw__' ~ column, c.to) }} as {{ c.to }}_precision,
        {%- endif %}
        {%- endif %}
        {%- endfor %}
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
{%- endmacro %}
