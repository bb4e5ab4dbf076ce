{{ config(
    touched_key=['personal_id'],
    pre_hook="{{ touched_keys(
        changed_keys(ref('stg_civil_registration__deaths'), [death_person_id('changed') ~ ' as personal_id'])
        ~ ' union ' ~ changed_keys(ref('stg_population__citizens'), ['changed.personal_id'])
        ~ ' union ' ~ changed_keys(ref('linked_rows'), ['changed.personal_id'])
    ) }}",
) }}

-- Everyone whose death is registered, one row per personal ID: civil registration deaths
-- first (the earliest date if registered twice), then the population database's date of
-- death for deaths registered before ndc ran.
--
-- A death record is proof of the death even when the row is quarantined for a date or its
-- personal ID is missing, malformed or mistyped: the person is the population database's one
-- citizen with the record's name key and date of birth (linked_personal_id), else its own
-- personal ID when the row conforms or the population database holds that ID under the
-- record's name (personal_id_confirmed), else the citizen linkage linked it to (linked_rows:
-- a name with a typo, namesakes told apart by the rest of the record). A date of death that
-- did not parse or lies after the registration falls back to the registration date (the death
-- happened by then).
-- Incremental: a run recomputes the persons of the death records conformed again or removed
-- since its last build and of the citizens changed since then.
{%- set touched = touched_table() %}

with

deaths as (
    select * from {{ ref('stg_civil_registration__deaths') }}
    where duplicate_of_record_key is null
),

probabilistic_links as (
    select _batch_id, _source_row, personal_id from {{ ref('linked_rows') }}
    where source = 'civil_registration' and entity = 'death'
),

population as (
    select * from {{ ref('stg_population__citizens') }}
    where date_of_death is not null
    {%- if touched %}
        and personal_id in (select personal_id from {{ touched }})
    {%- endif %}
),

death_records as (
    select
        coalesce({{ death_person_id('deaths') }}, probabilistic_links.personal_id) as personal_id,
        case
            when quarantine_reason_code is null then date_of_death
            when date_of_death <= registration_date then date_of_death
            else registration_date
        end as date_of_death
    from deaths
    left join probabilistic_links
        on probabilistic_links._batch_id = deaths._batch_id
        and probabilistic_links._source_row = deaths._source_row
),

registered as (
    select
        personal_id,
        min(date_of_death) as date_of_death
    from death_records
    where personal_id is not null
        and date_of_death is not null
        {%- if touched %}
        and personal_id in (select personal_id from {{ touched }})
        {%- endif %}
    group by personal_id
),

final as (
    select
        personal_id,
        date_of_death,
        'civil_registration_death' as reference,
        now() as _built_at
    from registered

    union all

    select
        population.personal_id,
        population.date_of_death,
        'population_db' as reference,
        now() as _built_at
    from population
    left join registered
        on registered.personal_id = population.personal_id
    where registered.personal_id is null
)

select * from final
