{{ config(
    pre_hook="{{ touched_keys(changed_staging_rows(quarantine_entities()) ~ ' union ' ~ changed_links()) }}",
    indexes=[
        {'columns': ['_batch_id', '_source_row']},
        {'columns': ['source', 'entity', '_batch_id', '_source_row']},
        {'columns': ['reason_code', '_batch_id', '_source_row']},
    ],
) }}

-- The indexes: the reconciliation counts a run's batches (_batch_id leads); the quarantine
-- browser of the Airflow UI (include/ndc/ui) pages in (_batch_id, _source_row) order, whole
-- or filtered by source and entity or by reason, and lists the values present of each
-- filter (`ndc bench --only ui`: under a second a page on 1,000,000 rows).

-- Every rejected row of every staging model, with its reason. Incremental: a run rewrites the
-- staging rows conformed again or removed since its last build (macros/quarantine.sql), and
-- those whose link changed (ops.person_links). A row linked to a citizen (linked_rows) has left
-- quarantine.
with

linked as (
    select source, entity, _batch_id, _source_row from {{ ref('linked_rows') }}
),

load_batches as (
    select * from {{ ref('stg_ops__load_batches') }}
),

-- source and entity are the registry names (include/sources/*.yaml): the reconciliation
-- counts quarantined rows per (source, entity, batch).
rejected as (
    {%- for model, source_name, entity in quarantine_entities() %}
    {{ rejected_rows(ref(model), source_name, entity) }}
    {%- if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),

final as (
    select
        rejected.source,
        rejected.entity,
        rejected._batch_id,
        rejected._source_row,
        load_batches.source_file,
        rejected.record_key,
        rejected.reason_code,
        rejected.field,
        rejected.value,
        now() as _built_at
    from rejected
    left join load_batches
        on load_batches.batch_id = rejected._batch_id
    where not exists (
        select from linked
        where linked.source = rejected.source
            and linked.entity = rejected.entity
            and linked._batch_id = rejected._batch_id
            and linked._source_row = rejected._source_row
    )
)

select * from final
