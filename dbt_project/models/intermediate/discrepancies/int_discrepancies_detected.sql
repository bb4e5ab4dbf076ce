-- Every discrepancy found, one row per record and kind, in the columns of the per-agency
-- discrepancy marts (which split this table by source). Kinds: a record's date of birth, sex
-- or name differs from the population database's; its personal ID encodes another sex or
-- birth year; a dead person is still active (an open household membership or contribution
-- period); a residence change recorded after the reform in a legacy ward that was split.
with

deaths_registered as (
    select * from {{ ref('int_deaths_registered') }}
),

civil_registration_deaths as (
    {{ person_discrepancies(
        ref('stg_civil_registration__deaths'), 'civil_registration', 'death',
        {'date_of_birth': 'ngay_sinh', 'pid_sex_year': 'so_dinh_danh'}
    ) }}
),

civil_registration_births as (
    {{ person_discrepancies(
        ref('stg_civil_registration__births'), 'civil_registration', 'birth',
        {'date_of_birth': 'ngay_sinh', 'sex': 'gioi_tinh', 'pid_sex_year': 'so_dinh_danh'}
    ) }}
),

insured_persons as (
    {{ person_discrepancies(
        ref('stg_social_insurance__insured_persons'), 'social_insurance', 'insured_person',
        {'date_of_birth': 'ngay_sinh', 'sex': 'gioi_tinh', 'full_name': 'ho_ten', 'pid_sex_year': 'so_dinh_danh'}
    ) }}
),

students as (
    {{ person_discrepancies(
        ref('stg_education__students'), 'education', 'student',
        {'date_of_birth': 'date_of_birth', 'sex': 'gender', 'full_name': 'full_name', 'pid_sex_year': 'citizen_id'}
    ) }}
),

enterprise_representatives as (
    {{ person_discrepancies(
        ref('stg_business_registry__enterprises'), 'business_registry', 'enterprise',
        {'full_name': 'ho_ten_nguoi_dai_dien'},
        personal_id='representative_personal_id', full_name='representative_full_name'
    ) }}
),

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
    from ({{ conformed_latest(ref('stg_residence__household_members')) }}) as members
    where members.member_until is null
),

-- Still active: a contribution period with no end month, linked to the person through the
-- insured person's social insurance code.
insured_person_ids as (
    select social_insurance_code, personal_id
    from ({{ conformed_latest(ref('stg_social_insurance__insured_persons')) }}) as insured
    where personal_id is not null
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
    from ({{ conformed_latest(ref('stg_social_insurance__contribution_periods')) }}) as periods
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
        string_agg(new_commune_code, ', ' order by new_commune_code) as new_commune_codes
    from {{ ref('admin_units_legacy_to_2025') }}
    group by legacy_ward_code
    having count(distinct new_commune_code) > 1
),

-- A change dated on or after the reform that names a legacy ward which was split: the agency
-- must say which commune. Changes before the reform were right in their time and are not
-- reported, even when their ward cannot be converted.
ambiguous_admin_units as (
    select
        'residence'::text as source,
        'residence_change'::text as entity,
        changes.record_key,
        changes._batch_id,
        changes._source_row,
        changes._loaded_at,
        changes.personal_id,
        population.full_name,
        'admin_unit_ambiguous'::text as discrepancy,
        'ma_xa'::text as field,
        changes.commune_code as source_value,
        split_wards.new_commune_codes as reference_value,
        'admin_units_legacy_to_2025'::text as reference
    from ({{ conformed_latest(ref('stg_residence__residence_changes')) }}) as changes
    inner join split_wards
        on split_wards.legacy_ward_code = changes.commune_code
    left join {{ ref('stg_population__citizens') }} as population
        on population.personal_id = changes.personal_id
    where {{ admin_code_system('changes.change_date') }} = '2025'
        and changes.commune_code_2025 is null
),

final as (
    select * from civil_registration_deaths
    union all
    select * from civil_registration_births
    union all
    select * from insured_persons
    union all
    select * from students
    union all
    select * from enterprise_representatives
    union all
    select * from dead_still_active
    union all
    select * from ambiguous_admin_units
)

select * from final
