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
        -- The day of the data the batch holds (macros/quality.sql; the scorecard's day).
        {{ extraction_day() }} as extraction_day,
        loaded_at
    from ledger
)

select * from final
