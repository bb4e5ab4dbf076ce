{{ config(materialized='table') }}

-- The population database's citizens (snapshot), with the name matching key: what staging
-- resolves CMND numbers and restores name marks against, and what the per-agency discrepancy
-- marts compare each agency's records with.
with

source as (
    select * from {{ source('raw', 'population__citizen') }}
),

final as (
    select
        personal_id,
        full_name,
        {{ name_match_key('full_name') }} as full_name_key,
        date_of_birth,
        sex_code,
        date_of_death,
        cmnd,
        ethnicity_code,
        province_code,
        commune_code,
        household_id,
        updated_at,
        _snapshot_at
    from source
)

select * from final
