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

rejected as (
    {{ rejected_rows('births', 'civil_registration', 'birth') }}
    union all
    {{ rejected_rows('deaths', 'civil_registration', 'death') }}
    union all
    {{ rejected_rows('insured_persons', 'social_insurance', 'insured_person') }}
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
        rejected.value
    from rejected
    left join load_batches
        on load_batches.batch_id = rejected._batch_id
)

select * from final
