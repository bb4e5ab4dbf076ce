{{ config(
    touched_key=['source', 'entity', 'extraction_day'],
    pre_hook="{{ touched_keys(quality_touched_days()) }}",
) }}

-- The counts the quality scorecard's measures divide, per source, entity and extraction day
-- (the day of the data: ops.load_ledger.extracted_at), over the current rows of that day's
-- batches. Incremental: a run recounts the days whose rows were written or removed upstream
-- since its last build (macros/quality.sql), so a day's counts are what a full build gives.
-- depends_on: {{ ref('stg_population__citizens') }}
{%- set touched = touched_table() %}

with

batches as (
    select * from {{ ref('stg_ops__load_batches') }}
    {%- if touched %}
    where (source, entity, extraction_day) in (
        select source, entity, extraction_day from {{ touched }}
    )
    {%- endif %}
),

citizens as (
    select personal_id from {{ ref('stg_population__citizens') }}
),

-- Per batch: rows held, conformed (neither quarantined nor merged into another row: the
-- reconciliation's rule) and, for person records, conformed with a personal ID the
-- population database holds.
staged as (
    {%- for e in registry_entities() %}
    {%- set conformed = 'staged.quarantine_reason_code is null' ~ (' and staged.duplicate_of_record_key is null' if has_duplicate_columns(ref(e.model)) else '') %}
    select
        '{{ e.source }}'::text as source,
        '{{ e.entity }}'::text as entity,
        staged._batch_id,
        count(*) as rows_loaded,
        count(*) filter (where {{ conformed }}) as rows_conformed,
        {%- if e.discrepancies %}
        count(*) filter (
            where {{ conformed }}
                and staged.{{ e.discrepancies.personal_id }} in (select personal_id from citizens)
        ) as personal_ids_found
        {%- else %}
        0::bigint as personal_ids_found
        {%- endif %}
    from {{ ref(e.model) }} as staged
    where staged._batch_id in (
        select batch_id from batches
        where source = '{{ e.source }}' and entity = '{{ e.entity }}'
    )
    group by staged._batch_id
    {%- if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),

-- Quarantined rows whose rejected value is empty (a required element missing), and rows
-- quarantined for a code no code list of the dictionary maps.
quarantined as (
    select
        _batch_id,
        count(*) filter (where nullif(trim(value), '') is null) as rows_missing_value,
        count(*) filter (where reason_code = 'CODE_UNKNOWN') as rows_code_unknown
    from {{ ref('quarantined_rows') }}
    where _batch_id in (select batch_id from batches)
    group by _batch_id
),

-- Conformed records that disagree with the population database on a person's element (an
-- ambiguous administrative unit is no disagreement with the population database).
discrepant as (
    select
        _batch_id,
        count(distinct _source_row) as records_disagreeing
    from {{ ref('int_discrepancies_detected') }}
    where discrepancy <> 'admin_unit_ambiguous'
        and _batch_id in (select batch_id from batches)
    group by _batch_id
),

final as (
    select
        batches.source,
        batches.entity,
        batches.extraction_day,
        count(*) as batches,
        sum(staged.rows_loaded)::bigint as rows_loaded,
        sum(staged.rows_conformed)::bigint as rows_conformed,
        coalesce(sum(quarantined.rows_missing_value), 0)::bigint as rows_missing_value,
        coalesce(sum(quarantined.rows_code_unknown), 0)::bigint as rows_code_unknown,
        coalesce(sum(discrepant.records_disagreeing), 0)::bigint as records_disagreeing,
        sum(staged.personal_ids_found)::bigint as personal_ids_found,
        now() as _built_at
    from batches
    join staged
        on staged._batch_id = batches.batch_id
        and staged.source = batches.source
        and staged.entity = batches.entity
    left join quarantined
        on quarantined._batch_id = batches.batch_id
    left join discrepant
        on discrepant._batch_id = batches.batch_id
    group by batches.source, batches.entity, batches.extraction_day
)

select * from final
