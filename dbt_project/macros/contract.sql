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
      admin_unit   the 2025 commune as `to` (macros/admin_units.sql): a code in the code
                   system the source declares (code_lists.administrative_units: legacy, 2025,
                   or the transition legacy-until-2025-07-01, picked by the column's `date`
                   and by its `district`: a row naming a district is legacy), a legacy ward
                   converted when it became one commune; a ward split between several
                   communes gives no code and admin_conversion_ambiguous = true (never
                   guessed); with admin_code_system, and the code as received, trimmed, as
                   `code_column` (default: the column's own name). An entity's admin_unit
                   columns are one unit (alternatives: the first given wins), a free-text
                   legacy address the extractor standardised (xml.legacy_address) among them
                   (the address NFC under its own name). Checked: a code that is no unit of
                   its system (CODE_UNKNOWN), an address matching no single ward
                   (ADMIN_ADDRESS_UNMATCHED), and, when required, a row giving no unit (the
                   address's ADMIN_ADDRESS_UNMATCHED, else CODE_UNKNOWN). A row dated after
                   the reform that names a split ward is reported to the agency
                   (admin_unit_ambiguous, int_discrepancies_detected);
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

{#- The places of a registry entity's administrative unit (macros/registry.sql): its
    admin_unit columns in column order, a code in the declared system or the standardised
    legacy address, as conform_entity's `conformed` CTE carries them (a column conform does
    not name under its own name, trimmed; a declared one as `_raw__<column>`; a code as
    received as its code_column). -#}
{% macro registry_admin_places(e) -%}
    {%- set places = [] -%}
    {%- for column in e.columns if column in e.conform and e.conform[column].kind == 'admin_unit' -%}
        {%- set c = e.conform[column] -%}
        {%- set address = e.legacy_address if e.legacy_address and e.legacy_address.column == column else none -%}
        {%- if address -%}
            {%- do places.append(admin_address_place(column, conformed_column(e, address.ward_code), conformed_column(e, address.status), value='_raw__' ~ column)) -%}
        {%- else -%}
            {%- set date = e.conform[c.date].to if c.date else none -%}
            {%- set district = conformed_column(e, c.district) if c.district else none -%}
            {%- do places.append(admin_place(column, c.code_column or column, declared_admin_code_system(e.admin_units, date, district), value='_raw__' ~ column)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(places) }}
{%- endmacro %}

{#- The SQL of a source column's value as received, trimmed, in conform_entity's `conformed`
    CTE. -#}
{% macro conformed_column(e, column) -%}
    {{ return(column if column not in e.conform else conform_text('_raw__' ~ column)) }}
{%- endmacro %}

{% macro conform_entity(source_name, entity_name) -%}
{%- set e = registry_entity(source_name, entity_name) -%}
{%- set checks = [] -%}
{%- for column in e.columns if column in e.conform -%}
    {%- do checks.extend(contract_checks(column, e.conform[column], '_raw__' ~ column)) -%}
{%- endfor -%}
{#- The administrative unit: its columns (alternatives, the first given wins) conform to one
    2025 commune (macros/admin_units.sql). -#}
{%- set units = [] -%}
{%- for column in e.columns if column in e.conform and e.conform[column].kind == 'admin_unit' -%}
    {%- do units.append(column) -%}
{%- endfor -%}
{%- set places = registry_admin_places(e) if units else [] -%}
{%- set unit_required = [] -%}
{%- for column in units if e.conform[column].required -%}{%- do unit_required.append(column) -%}{%- endfor -%}
{%- if units -%}
    {%- do checks.extend(check_admin_unit(places, required=(unit_required | length > 0))) -%}
{%- endif -%}
{%- set address = e.legacy_address.column if units and e.legacy_address else none -%}
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
        {%- elif c.kind == 'admin_unit' and column == address %}
            {%- do columns.append(conform_name(column) ~ ' as ' ~ column) %}
        {%- elif c.kind == 'admin_unit' %}
            {%- do columns.append(conform_text(column) ~ ' as ' ~ (c.code_column or column)) %}
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
{%- if units %}

-- The administrative unit in the 2025 system: a split legacy ward flagged, never guessed.
converted as (
    {{ convert_admin_unit('conformed', places) }}
),
{%- endif %}

checked as (
    select
        *,
        {{ quarantine_columns(checks) | indent(8) }}
    from {{ 'converted' if units else 'conformed' }}
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
        {%- elif c.kind == 'admin_unit' %}
        {%- if column == units[0] %}
        commune_code_2025{% if c.to != 'commune_code_2025' %} as {{ c.to }}{% endif %},
        admin_code_system,
        admin_conversion_ambiguous,
        {%- endif %}
        {%- if column == address %}
        {{ column }},
        {%- if c.code_column and c.code_column != e.legacy_address.ward_code %}
        {{ conform_text(e.legacy_address.ward_code) }} as {{ c.code_column }},
        {%- endif %}
        {%- else %}
        {{ c.code_column or column }},
        {%- endif %}
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
