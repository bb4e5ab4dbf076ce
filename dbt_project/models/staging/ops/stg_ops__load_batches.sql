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
        -- The day of the data the batch holds (its data interval, ISO date), not when it was
        -- loaded: a day-by-day run and a rebuild date a batch alike (the quality scorecard's
        -- day). A batch landed without one (a manual load) is dated by its local load day.
        coalesce(left(extracted_at, 10)::date, {{ local_load_date('loaded_at') }}) as extraction_day,
        loaded_at
    from ledger
)

select * from final
