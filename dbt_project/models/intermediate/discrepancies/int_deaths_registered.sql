-- Everyone whose death is registered, one row per personal ID: the conformed civil
-- registration deaths first (the earliest date if registered twice), then the population
-- database's date of death for deaths registered before ndc ran.
with

deaths as (
    {{ conformed_latest(ref('stg_civil_registration__deaths')) }}
),

population as (
    select * from {{ ref('stg_population__citizens') }}
    where date_of_death is not null
),

registered as (
    select
        personal_id,
        min(date_of_death) as date_of_death
    from deaths
    where personal_id is not null
        and date_of_death is not null
    group by personal_id
),

final as (
    select
        personal_id,
        date_of_death,
        'civil_registration_death' as reference
    from registered

    union all

    select
        population.personal_id,
        population.date_of_death,
        'population_db' as reference
    from population
    left join registered
        on registered.personal_id = population.personal_id
    where registered.personal_id is null
)

select * from final
