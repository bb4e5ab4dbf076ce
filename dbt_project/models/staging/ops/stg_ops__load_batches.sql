{{ config(materialized='table') }}

with

ledger as (
    select * from {{ source('ops', 'load_ledger') }}
),

final as (
    select
        batch_id,
        source,
        entity,
        source_file,
        landing_key,
        rows_extracted,
        rows_landed,
        rows_loaded,
        loaded_at
    from ledger
)

select * from final
