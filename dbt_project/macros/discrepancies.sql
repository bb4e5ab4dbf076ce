{#- Discrepancies: conformed records that disagree with the population database (or, for the
    personal ID, with themselves), listed per source agency with both values so the agency
    can fix them at source. Used by models/intermediate/discrepancies and
    models/marts/discrepancies. -#}

{#- The conformed rows of a staging model, latest version of each record only: extraction is
    incremental, so a record reappears in every batch where it changed, and only what the
    agency holds now is worth reporting. A quarantined version is skipped (the last conforming
    one counts), and so is a row the dedup rule collapsed into another (duplicate_of_record_key
    set, in the models has_duplicate_columns names). -#}
{% macro conformed_latest(relation) -%}
    {%- set record_version = "record.record_key, case when record.record_key is null then record._batch_id || '#' || record._source_row end" -%}
    {#- distinct on, not row_number() = 1: the planner estimates distinct on from the key's
        statistics, but a filter on a window's output as a fraction of a percent of the rows,
        which planned the joins that follow as nested loops over 10^5 rows. -#}
    select distinct on ({{ record_version }}) record.*
    from {{ relation }} as record
    where record.quarantine_reason_code is null
        {%- if has_duplicate_columns(relation) %}
        and record.duplicate_of_record_key is null
        {%- endif %}
    order by {{ record_version }}, record._loaded_at desc, record._batch_id desc, record._source_row desc
{%- endmacro %}

{#- The staging models that carry the duplicate columns (macros/duplicates.sql). -#}
{% macro has_duplicate_columns(relation) -%}
    {%- set name = relation | string -%}
    {%- for model in ['stg_civil_registration__births', 'stg_civil_registration__deaths', 'stg_social_insurance__insured_persons'] -%}
        {%- if model in name -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#- How names are compared with the population database's (dbt var
    ndc_discrepancy_name_match). 'name' (the default): the conformed names, which staging has
    repaired (legacy encodings, NFC, proper case, marks restored from the population database
    when the matching keys agree), so a wrong mark counts. 'key': the matching keys (no marks,
    Đ as D, upper case), for when names cannot be repaired: a legacy upper-case name without
    marks ("NGUYEN VAN AN") is then no discrepancy. -#}
{% macro discrepancy_name_differs(record_name, population_alias='population') -%}
    {%- set mode = var('ndc_discrepancy_name_match', 'name') -%}
    {%- if mode == 'key' -%}
        {{ name_match_key(record_name) }} <> {{ population_alias }}.full_name_key
    {%- elif mode == 'name' -%}
        {{ record_name }} <> {{ population_alias }}.full_name
    {%- else -%}
        {{ exceptions.raise_compiler_error("ndc_discrepancy_name_match must be 'key' or 'name', not '" ~ mode ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- One (discrepancy, field, source_value, reference_value, reference, is_discrepant) tuple of
    the kind, for a record aliased `record` joined to the population database as `population`. -#}
{% macro discrepancy_tuple(kind, field, full_name) -%}
    {%- if kind == 'date_of_birth' -%}
        ('date_of_birth', '{{ field }}',
            case when {{ discrepancy_year_only() }} then to_char(record.date_of_birth, 'YYYY')
                else to_char(record.date_of_birth, 'YYYY-MM-DD') end,
            to_char(population.date_of_birth, 'YYYY-MM-DD'),
            'population_db',
            {{ discrepancy_date_of_birth_differs() }})
    {%- elif kind == 'sex' -%}
        ('sex', '{{ field }}', record.sex_code, population.sex_code, 'population_db',
            {{ discrepancy_sex_differs() }})
    {%- elif kind == 'full_name' -%}
        ('full_name', '{{ field }}', record.{{ full_name }}, population.full_name, 'population_db',
            {{ discrepancy_name_differs('record.' ~ full_name) }})
    {%- elif kind == 'pid_sex_year' -%}
        {#- What the record says against what its personal ID encodes. Reported when the
            population database does not know the ID, or holds it with the record's own sex and
            birth year: when it holds the ID with what the ID encodes, the ID is right and the
            record's date of birth or sex is what is wrong (reported as such instead). -#}
        ('pid_sex_year', '{{ field }}',
            'sex ' || coalesce(record.sex_code, '?') || ', born ' || coalesce(extract(year from record.date_of_birth)::text, '?'),
            'sex ' || record.pid_sex_code || ', born ' || record.pid_birth_year::text,
            'personal_id',
            record.pid_sex_year_mismatch
            and (
                population.personal_id is null
                or not coalesce(
                    extract(year from record.date_of_birth) <> extract(year from population.date_of_birth)
                    or {{ discrepancy_sex_differs() }},
                    false
                )
            ))
    {%- else -%}
        {{ exceptions.raise_compiler_error("no discrepancy kind '" ~ kind ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- A year-only date of birth (date_of_birth_precision 'year', stored as YYYY-01-01) is
    compared on the year. Read through to_jsonb(): not every staging model has the column. -#}
{% macro discrepancy_year_only() -%}
    to_jsonb(record) ->> 'date_of_birth_precision' = 'year'
{%- endmacro %}

{% macro discrepancy_date_of_birth_differs() -%}
    case
        when {{ discrepancy_year_only() }}
            then extract(year from record.date_of_birth) <> extract(year from population.date_of_birth)
        else record.date_of_birth <> population.date_of_birth
    end
{%- endmacro %}

{#- Sex '0' (unknown) on either side is no disagreement. -#}
{% macro discrepancy_sex_differs() -%}
    nullif(record.sex_code, '0') <> nullif(population.sex_code, '0')
{%- endmacro %}

{#- The person discrepancies of one staging model, in the columns of the discrepancy marts.
    `fields` maps each kind to check (date_of_birth, sex, full_name, pid_sex_year) to the
    source column the agency knows it by; `personal_id` and `full_name` name the model's
    columns for the person. -#}
{% macro person_discrepancies(relation, source, entity, fields, personal_id='personal_id', full_name='full_name') -%}
    {%- if 'pid_sex_year' in fields and 'date_of_birth' not in fields -%}
        {{ exceptions.raise_compiler_error("pid_sex_year needs the date_of_birth check (and the sex check where the source has a sex): it defers to them") }}
    {%- endif -%}
    select
        '{{ source }}'::text as source,
        '{{ entity }}'::text as entity,
        record.record_key,
        record._batch_id,
        record._source_row,
        record._loaded_at,
        record.{{ personal_id }} as personal_id,
        coalesce(population.full_name, record.{{ full_name }}) as full_name,
        found.discrepancy,
        found.field,
        found.source_value,
        found.reference_value,
        found.reference
    from ({{ conformed_latest(relation) }}) as record
    left join {{ ref('stg_population__citizens') }} as population
        on population.personal_id = record.{{ personal_id }}
    cross join lateral (
        values
        {%- for kind, field in fields.items() %}
            {{ discrepancy_tuple(kind, field, full_name) }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as found (discrepancy, field, source_value, reference_value, reference, is_discrepant)
    where found.is_discrepant
{%- endmacro %}

{#- A per-agency discrepancy mart: that agency's rows of int_discrepancies_detected. -#}
{% macro discrepancy_mart(source) -%}
with

discrepancies as (
    select * from {{ ref('int_discrepancies_detected') }}
),

final as (
    select
        source,
        entity,
        record_key,
        _batch_id,
        _source_row,
        personal_id,
        discrepancy,
        field,
        source_value,
        reference_value,
        reference,
        full_name,
        _loaded_at as received_at
    from discrepancies
    where source = '{{ source }}'
)

select * from final
{%- endmacro %}
