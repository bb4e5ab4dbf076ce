-- Every row collapsed into another row of the same source entity (an exact or near
-- duplicate), with the record it was merged into. Per batch, rows loaded = conformed rows +
-- quarantined rows + rows here.
with

births as (
    select * from {{ ref('stg_civil_registration__births') }}
),

deaths as (
    select * from {{ ref('stg_civil_registration__deaths') }}
),

insured_persons as (
    select * from {{ ref('stg_social_insurance__insured_persons') }}
),

load_batches as (
    select * from {{ ref('stg_ops__load_batches') }}
),

-- source and entity are the registry names (include/sources/*.yaml), as in quarantined_rows.
merged as (
    {{ merged_rows('births', 'civil_registration', 'birth') }}
    union all
    {{ merged_rows('deaths', 'civil_registration', 'death') }}
    union all
    {{ merged_rows('insured_persons', 'social_insurance', 'insured_person') }}
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
        merged.match_rule
    from merged
    left join load_batches
        on load_batches.batch_id = merged._batch_id
)

select * from final
