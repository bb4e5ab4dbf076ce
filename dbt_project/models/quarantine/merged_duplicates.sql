{{ config(
    pre_hook="{{ touched_keys(changed_staging_rows(duplicate_entities())) }}",
) }}

-- Every row collapsed into another row of the same source entity (an exact or near
-- duplicate), with the record it was merged into. Per batch, rows loaded = conformed rows +
-- quarantined rows + rows here. Incremental, like quarantined_rows.
with

load_batches as (
    select * from {{ ref('stg_ops__load_batches') }}
),

-- source and entity are the registry names (include/sources/*.yaml), as in quarantined_rows.
merged as (
    {%- for model, source_name, entity in duplicate_entities() %}
    {{ merged_rows(ref(model), source_name, entity) }}
    {%- if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),

final as (
    select
        merged.source,
        merged.entity,
        merged._batch_id,
        merged._source_row,
        load_batches.source_file,
        merged.record_key,
        merged.surviving_record_key,
        merged.surviving_batch_id,
        merged.surviving_source_row,
        merged.match_rule,
        now() as _built_at
    from merged
    left join load_batches
        on load_batches.batch_id = merged._batch_id
)

select * from final
