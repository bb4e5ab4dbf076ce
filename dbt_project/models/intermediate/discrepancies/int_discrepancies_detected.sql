-- Every discrepancy found, one row per record and kind, in the columns of the per-agency
-- discrepancy marts (which split this table by source). Kinds: a record's date of birth, sex
-- or name differs from the population database's; its personal ID encodes another sex or
-- birth year; a dead person is still active (an open household membership or contribution
-- period); a record dated after the reform (a residence change, a land parcel) whose
-- administrative unit is a legacy ward that was split.
-- Incremental: a run recomputes the records macros/discrepancies.sql (discrepancy_touched_keys)
-- names: those with rows written or removed upstream and those of persons whose citizen or
-- registered death changed since its last build.
{{ config(
    touched_key=['source', 'entity', version_key()],
    pre_hook="{{ touched_keys(discrepancy_touched_keys()) }}",
) }}

with

deaths_registered as (
    select * from {{ ref('int_deaths_registered') }}
),

-- A record's date of birth, sex or name against the population database's, and what its
-- personal ID encodes (macros/discrepancies.sql, person_discrepancy_models).
{%- for m in person_discrepancy_models() %}
{{ m.model | replace('stg_', '') }} as (
    {{ person_discrepancies(
        ref(m.model), m.source, m.entity, m.fields,
        personal_id=m.get('personal_id', 'personal_id'), full_name=m.get('full_name', 'full_name')
    ) | indent(4) }}
),
{% endfor %}
-- Still active: a household membership with no end date.
open_memberships as (
    select
        'residence'::text as source,
        'household_member'::text as entity,
        'den_ngay'::text as field,
        members.record_key,
        members._batch_id,
        members._source_row,
        members._loaded_at,
        members.personal_id,
        'household ' || members.household_code || ' since '
            || coalesce(to_char(members.member_from, 'YYYY-MM-DD'), '?') || ', no end date' as source_value
    from ({{ conformed_latest(ref('stg_residence__household_members'), only=touched_records('residence', 'household_member')) }}) as members
    where members.member_until is null
),

-- Still active: a contribution period with no end month, linked to the person through the
-- insured person's social insurance code.
periods as (
    {{ conformed_latest(ref('stg_social_insurance__contribution_periods'), only=touched_records('social_insurance', 'contribution_period')) }}
),

-- The insured person's personal ID: the citizen linkage linked it to when its latest version
-- took its ID from a link (a CMND that named no single citizen, or a personal ID quarantined
-- for being missing or malformed: int_insured_persons_deduplicated), else its latest
-- conformed version's.
linked_insured as (
    select social_insurance_code, personal_id
    from {{ ref('int_insured_persons_deduplicated') }}
    where personal_id_origin = 'linkage' and social_insurance_code is not null
        {%- if touched_table() %}
        and social_insurance_code in (select social_insurance_code from periods)
        {%- endif %}
),

insured_person_ids as (
    select social_insurance_code, personal_id
    from ({{ conformed_latest(
        ref('stg_social_insurance__insured_persons'),
        only='record.social_insurance_code in (select social_insurance_code from periods)' if touched_table() else none
    ) }}) as insured
    where personal_id is not null
        and social_insurance_code not in (select social_insurance_code from linked_insured)
    union all
    select social_insurance_code, personal_id from linked_insured
),

open_periods as (
    select
        'social_insurance'::text as source,
        'contribution_period'::text as entity,
        'den_thang'::text as field,
        periods.record_key,
        periods._batch_id,
        periods._source_row,
        periods._loaded_at,
        insured_person_ids.personal_id,
        'period ' || periods.social_insurance_code || ' from '
            || coalesce(to_char(periods.period_start_month, 'MM/YYYY'), '?') || ', no end month' as source_value
    from periods
    inner join insured_person_ids
        on insured_person_ids.social_insurance_code = periods.social_insurance_code
    where periods.period_end_month is null
),

dead_still_active as (
    select
        still_active.source,
        still_active.entity,
        still_active.record_key,
        still_active._batch_id,
        still_active._source_row,
        still_active._loaded_at,
        still_active.personal_id,
        population.full_name,
        'dead_still_active'::text as discrepancy,
        still_active.field,
        still_active.source_value,
        to_char(deaths_registered.date_of_death, 'YYYY-MM-DD') as reference_value,
        deaths_registered.reference
    from (
        select * from open_memberships
        union all
        select * from open_periods
    ) as still_active
    inner join deaths_registered
        on deaths_registered.personal_id = still_active.personal_id
    left join {{ ref('stg_population__citizens') }} as population
        on population.personal_id = still_active.personal_id
),

-- The 2025 communes each legacy ward split into (one row per split ward).
split_wards as (
    select
        legacy_ward_code,
        new_commune_codes
    from ({{ legacy_ward_conversions() }}) as conversions
    where new_commune_count > 1
),

-- A record dated on or after the reform whose administrative unit names a legacy ward that
-- was split: the agency must say which commune. Every entity with an administrative unit
-- (admin_unit_models(), from the registry); records before the reform were right in their
-- time and are not reported, even when their ward cannot be converted.
ambiguous_admin_units as (
    {%- for m in admin_unit_models() %}
    {{ admin_unit_ambiguities(m, 'split_wards') }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        null::text as source, null::text as entity, null::text as record_key,
        null::text as _batch_id, null::bigint as _source_row, null::timestamptz as _loaded_at,
        null::text as personal_id, null::text as full_name, null::text as discrepancy,
        null::text as field, null::text as source_value, null::text as reference_value,
        null::text as reference
    where false
    {%- endfor %}
),

found as (
    {%- for m in person_discrepancy_models() %}
    select * from {{ m.model | replace('stg_', '') }}
    union all
    {%- endfor %}
    select * from dead_still_active
    union all
    select * from ambiguous_admin_units
),

final as (
    select
        found.*,
        now() as _built_at
    from found
)

select * from final
