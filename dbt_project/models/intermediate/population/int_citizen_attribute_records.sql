{{ config(
    touched_key=['personal_id'],
    pre_hook="{{ touched_keys(
        record_persons_changed(ref('stg_residence__residence_changes'))
        ~ ' union ' ~ changed_keys(ref('stg_civil_registration__deaths'), [unified_death_person_id('changed') ~ ' as personal_id'])
        ~ ' union ' ~ changed_keys(ref('stg_civil_registration__marriages'), ['changed.husband_personal_id'])
        ~ ' union ' ~ changed_keys(ref('stg_civil_registration__marriages'), ['changed.wife_personal_id'])
        ~ ' union select personal_id from ' ~ ref('int_insured_persons_deduplicated')
            ~ ' where social_insurance_code in (' ~ changed_keys(ref('stg_social_insurance__contribution_periods'), ['changed.social_insurance_code']) ~ ')'
        ~ ' union ' ~ changed_keys(ref('int_insured_persons_deduplicated'), ['changed.personal_id'])
        ~ ' union select personal_id from ' ~ ref('stg_education__students')
            ~ ' where student_id in (' ~ changed_keys(ref('stg_education__graduations'), ['changed.student_id']) ~ ')'
        ~ ' union ' ~ record_persons_changed(ref('stg_education__students'))
    ) }}",
    post_hook=["create index if not exists int_citizen_attribute_records__person on {{ this }} (personal_id)"],
) }}

-- What each source record says about a person's golden-record attributes (seed
-- golden_attributes, from the dictionary's `survivorship` elements), with the date it took
-- effect by the record itself (never when it was loaded) and its provenance:
--   commune_code, province_code  residence: a permanent-residence registration's 2025 commune
--                                (a legacy ward split between communes gives none) on its
--                                change date;
--   date_of_death                civil registration: a death on its date;
--   marital_status_code          civil registration: married ('2') on a marriage's
--                                registration date, for both spouses;
--   is_insured                   social insurance: true from a contribution period's first
--                                month, false from the month after its last one unless
--                                another period of the person covers that month;
--   education_level_code         education: a graduation's level on 1 January of its year
--                                (year precision, as dates of birth of a year only).
-- A record's latest conforming version counts. Incremental: a run rebuilds the persons of the
-- records written or removed upstream since its last build.
{%- set touched = touched_table() %}

with

residence_changes as (
    {{ latest_record_versions(
        ref('stg_residence__residence_changes'),
        "versions.personal_id is not null" ~ (
            " and " ~ version_key('versions') ~ " in (select " ~ version_key('mine') ~ " from "
            ~ ref('stg_residence__residence_changes') ~ " as mine where mine.personal_id in (select personal_id from "
            ~ touched ~ "))" if touched else ""),
    ) }}
),

communes as (
    select commune_code, province_code from {{ ref('admin_units_2025_communes') }}
),

registrations as (
    select residence_changes.*, communes.province_code as province_code_2025
    from residence_changes
    inner join communes on communes.commune_code = residence_changes.commune_code_2025
    where residence_changes.change_type_code = 'DK_THUONG_TRU'
        {%- if touched %}
        and residence_changes.personal_id in (select personal_id from {{ touched }})
        {%- endif %}
),

deaths as (
    select * from (
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

spouses as (
    select husband_personal_id as personal_id, marriages.*
    from {{ ref('stg_civil_registration__marriages') }} as marriages
    where quarantine_reason_code is null and husband_personal_id is not null
    union all
    select wife_personal_id as personal_id, marriages.*
    from {{ ref('stg_civil_registration__marriages') }} as marriages
    where quarantine_reason_code is null and wife_personal_id is not null
),

married as (
    select * from spouses
    where registration_date is not null
        {%- if touched %}
        and personal_id in (select personal_id from {{ touched }})
        {%- endif %}
),

insured_persons as (
    select social_insurance_code, personal_id
    from {{ ref('int_insured_persons_deduplicated') }}
    where personal_id is not null and social_insurance_code is not null
        {%- if touched %}
        and personal_id in (select personal_id from {{ touched }})
        {%- endif %}
),

periods as (
    select insured_persons.personal_id, latest.*
    from ({{ latest_record_versions(
        ref('stg_social_insurance__contribution_periods'),
        "versions.social_insurance_code in (select social_insurance_code from insured_persons)",
    ) }}) as latest
    inner join insured_persons using (social_insurance_code)
),

period_ends as (
    select
        ended.*,
        (ended.period_end_month + interval '1 month')::date as ended_on,
        exists (
            select 1 from periods as other
            where other.personal_id = ended.personal_id
                and other._batch_id || '#' || other._source_row <> ended._batch_id || '#' || ended._source_row
                and other.period_start_month <= ended.period_end_month + interval '1 month'
                and (other.period_end_month is null
                    or other.period_end_month >= ended.period_end_month + interval '1 month')
        ) as still_insured
    from periods as ended
    where ended.period_end_month is not null
),

students as (
    select student_id, personal_id
    from ({{ latest_record_versions(
        ref('stg_education__students'),
        "versions.personal_id is not null" ~ (
            " and " ~ version_key('versions') ~ " in (select " ~ version_key('mine') ~ " from "
            ~ ref('stg_education__students') ~ " as mine where mine.personal_id in (select personal_id from "
            ~ touched ~ "))" if touched else ""),
    ) }}) as latest
    {%- if touched %}
    where personal_id in (select personal_id from {{ touched }})
    {%- endif %}
),

graduations as (
    select students.personal_id, latest.*
    from ({{ latest_record_versions(
        ref('stg_education__graduations'),
        "versions.student_id in (select student_id from students)",
    ) }}) as latest
    inner join students using (student_id)
    where latest.education_level_code is not null and latest.graduation_year is not null
),

records as (
    select
        personal_id, 'commune_code' as attribute, commune_code_2025 as value,
        change_date as effective_date, source_updated_at as recorded_at,
        'residence' as source_system, 'residence_change' as source_entity,
        _batch_id, _source_row, record_key
    from registrations
    union all
    select
        personal_id, 'province_code', province_code_2025,
        change_date, source_updated_at,
        'residence', 'residence_change',
        _batch_id, _source_row, record_key
    from registrations
    union all
    select
        person_id, 'date_of_death', date_of_death::text,
        date_of_death, null::timestamp,
        'civil_registration', 'death',
        _batch_id, _source_row, record_key
    from deaths
    union all
    select
        personal_id, 'marital_status_code', '2',
        registration_date, null::timestamp,
        'civil_registration', 'marriage',
        _batch_id, _source_row, record_key
    from married
    union all
    select
        personal_id, 'is_insured', 'true',
        period_start_month, source_updated_at,
        'social_insurance', 'contribution_period',
        _batch_id, _source_row, record_key
    from periods
    where period_start_month is not null
    union all
    select
        personal_id, 'is_insured', case when still_insured then 'true' else 'false' end,
        ended_on, source_updated_at,
        'social_insurance', 'contribution_period',
        _batch_id, _source_row, record_key
    from period_ends
    union all
    select
        personal_id, 'education_level_code', education_level_code,
        make_date(graduation_year::integer, 1, 1), source_updated_at,
        'education', 'graduation',
        _batch_id, _source_row, record_key
    from graduations
),

final as (
    select
        personal_id::varchar(12) as personal_id,
        attribute,
        value,
        effective_date,
        recorded_at::timestamp as recorded_at,
        source_system,
        source_entity,
        _batch_id,
        _source_row,
        record_key,
        now() as _built_at
    from records
    where personal_id is not null and value is not null and effective_date is not null
)

select * from final
