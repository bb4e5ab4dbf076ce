{{ config(materialized='view') }}

-- The citizens as the sharing products read them (include/sharing/*.yaml, `reads`): one row
-- per citizen, every column named by its dictionary element, with the golden record's current
-- commune and province (marts.citizen_attribute_versions: marts.citizens has no address).
-- A view: the transform pays nothing for it; a delivery reads it when it runs.

with

citizens as (
    select * from {{ ref('citizens') }}
),

current_versions as (
    select * from {{ ref('citizen_attribute_versions') }}
    where valid_to is null
        and attribute in ('commune_code', 'province_code')
),

addresses as (
    select
        personal_id,
        max(value) filter (where attribute = 'commune_code') as commune_code,
        max(value) filter (where attribute = 'province_code') as province_code
    from current_versions
    group by personal_id
),

final as (
    select
        citizens.personal_id,
        citizens.full_name,
        citizens.date_of_birth,
        citizens.sex_code,
        citizens.date_of_death,
        citizens.is_deceased,
        addresses.commune_code::varchar(5) as commune_code,
        addresses.province_code::varchar(2) as province_code
    from citizens
    left join addresses
        on addresses.personal_id = citizens.personal_id
)

select * from final
