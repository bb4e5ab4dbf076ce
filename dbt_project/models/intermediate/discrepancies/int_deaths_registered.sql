-- Everyone whose death is registered, one row per personal ID: civil registration deaths
-- first (the earliest date if registered twice), then the population database's date of
-- death for deaths registered before ndc ran.
--
-- A death record is proof of the death even when the row is quarantined for a date or its
-- personal ID is missing, malformed or mistyped: the person is the population database's one
-- citizen with the record's name key and date of birth (linked_personal_id), else its own
-- personal ID when the row conforms or the population database holds that ID under the
-- record's name (personal_id_confirmed). A date of death that did not parse or lies after the
-- registration falls back to the registration date (the death happened by then).
with

deaths as (
    select * from {{ ref('stg_civil_registration__deaths') }}
    where duplicate_of_record_key is null
),

population as (
    select * from {{ ref('stg_population__citizens') }}
    where date_of_death is not null
),

death_records as (
    select
        coalesce(
            linked_personal_id,
            case when quarantine_reason_code is null or personal_id_confirmed then personal_id end
        ) as personal_id,
        case
            when quarantine_reason_code is null then date_of_death
            when date_of_death <= registration_date then date_of_death
            else registration_date
        end as date_of_death
    from deaths
),

registered as (
    select
        personal_id,
        min(date_of_death) as date_of_death
    from death_records
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
