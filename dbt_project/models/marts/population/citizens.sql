with

citizens as (
    select * from {{ ref('int_citizens_unified') }}
),

final as (
    select
        personal_id::varchar(12) as personal_id,
        full_name::text as full_name,
        date_of_birth::date as date_of_birth,
        sex_code::varchar(1) as sex_code,
        date_of_death::date as date_of_death,
        (date_of_death is not null) as is_deceased,
        source_systems::text as source_systems,
        record_count::integer as record_count
    from citizens
)

select * from final
