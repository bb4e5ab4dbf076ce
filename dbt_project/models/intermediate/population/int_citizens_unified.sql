{{ config(
    touched_key=['personal_id'],
    pre_hook="{{ touched_keys(
        changed_keys(ref('stg_civil_registration__births'), ['changed.personal_id'])
        ~ ' union ' ~ changed_keys(ref('int_insured_persons_deduplicated'), ['changed.personal_id'])
        ~ ' union ' ~ changed_keys(ref('stg_civil_registration__deaths'), [unified_death_person_id('changed') ~ ' as personal_id'])
    ) }}",
) }}

-- One row per personal ID from the conformed rows of every source. Survivorship for name,
-- date of birth and sex: civil registration births, then the latest social insurance row,
-- then deaths; within a source the most recent record wins. A record whose personal ID
-- disagrees with its own sex or birth year (pid_sex_year_mismatch, reported to the agency)
-- gives no citizen: a mistyped number must not become a new citizen in the population
-- database. A death counts for the citizen it is linked to by name and date of birth.
-- Incremental: a run recomputes the persons of the birth, insured-person and death rows
-- written or removed upstream since its last build.
{%- set touched = touched_table() %}

with

births as (
    select * from {{ ref('stg_civil_registration__births') }}
    where quarantine_reason_code is null and duplicate_of_record_key is null
        and not coalesce(pid_sex_year_mismatch, false)
        {%- if touched %}
        and personal_id in (select personal_id from {{ touched }})
        {%- endif %}
),

insured_persons as (
    select * from {{ ref('int_insured_persons_deduplicated') }}
    -- "CMND only" persons have no personal ID yet: they join once it is resolved.
    where personal_id is not null
        {%- if touched %}
        and personal_id in (select personal_id from {{ touched }})
        {%- endif %}
),

deaths as (
    select
        linked.*
    from (
        select
            deaths.*,
            {{ unified_death_person_id('deaths') }} as person_id
        from {{ ref('stg_civil_registration__deaths') }} as deaths
        where deaths.quarantine_reason_code is null and deaths.duplicate_of_record_key is null
    ) as linked
    where linked.person_id is not null
        {%- if touched %}
        and linked.person_id in (select personal_id from {{ touched }})
        {%- endif %}
),

records as (
    select
        personal_id, full_name, date_of_birth, sex_code, null::date as date_of_death,
        'civil_registration' as source_system, 1 as survivorship_rank,
        {{ local_load_timestamp() }} as recorded_at, _batch_id, _source_row
    from births
    union all
    select
        personal_id, full_name, date_of_birth, sex_code, null::date as date_of_death,
        'social_insurance' as source_system, 2 as survivorship_rank,
        source_updated_at as recorded_at, _batch_id, _source_row
    from insured_persons
    union all
    select
        person_id as personal_id, full_name, date_of_birth, null::text as sex_code, date_of_death,
        'civil_registration' as source_system, 3 as survivorship_rank,
        {{ local_load_timestamp() }} as recorded_at, _batch_id, _source_row
    from deaths
),

final as (
    select
        personal_id,
        {{ survivor('full_name') }} as full_name,
        {{ survivor('date_of_birth') }} as date_of_birth,
        {{ survivor('sex_code') }} as sex_code,
        {{ survivor('date_of_death') }} as date_of_death,
        string_agg(distinct source_system, ',' order by source_system) as source_systems,
        count(*) as record_count,
        now() as _built_at
    from records
    group by personal_id
)

select * from final
