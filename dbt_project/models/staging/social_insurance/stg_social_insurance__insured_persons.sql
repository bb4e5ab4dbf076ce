{{ config(post_hook=["{{ staging_indexes(['cmnd', 'full_name_key, date_of_birth', 'personal_id', '_source_hash', '_near_key', 'social_insurance_code'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet, and the rows that changed
-- citizens of the population database touch (macros/incremental.sql).
source as (
    {{ pending_source('social_insurance', 'insured_person', population_matches=[('personal_id', 'personal_id', name_lacks_marks('full_name_raw')), ('cmnd', 'cmnd', "personal_id_origin is distinct from 'source'"), ('full_name_key, date_of_birth', 'full_name_key, date_of_birth', name_lacks_marks('full_name_raw'))]) }}
),

-- Sex through the mapping the source declares (code_lists.sex in include/sources/social_insurance.yaml).
sex_codes as (
    {{ declared_code_map('social_insurance', 'sex') }}
),

citizens as (
    select personal_id, full_name
    from {{ ref('stg_population__citizens') }}
),

-- Old ID card numbers that name exactly one citizen: a CMND-only row resolves through them.
unique_cmnds as (
    select cmnd, personal_id
    from {{ ref('stg_population__unique_cmnds') }}
),

-- Citizens that are the only one with their name key and date of birth: a name received
-- without marks whose personal ID finds no citizen with the same name key (a mistyped ID)
-- takes its marks from such a citizen. Used for the marks only, never for the identity.
unique_name_birth_dates as (
    select full_name_key, date_of_birth, full_name
    from {{ ref('stg_population__unique_name_birth_dates') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ source_row_hash('source') }} as _source_hash,
        {{ conform_text('source.ma_so_bhxh') }} as record_key,
        -- A "CMND only" person (old 9-digit ID card, no personal ID in the source) gets the
        -- personal ID of the one citizen with that CMND in the population database; with no
        -- or several such citizens the row still conforms, with a null personal ID.
        coalesce({{ conform_personal_id('source.so_dinh_danh') }}, cmnd_citizen.personal_id) as personal_id,
        case
            when {{ conform_personal_id('source.so_dinh_danh') }} is not null then 'source'
            when cmnd_citizen.personal_id is not null then 'cmnd'
        end as personal_id_origin,
        {{ conform_text('source.so_cmnd') }} as cmnd,
        -- Upper case without marks for about a third of rows: case is repaired here, marks
        -- only where the population database knows the person.
        {{ restore_name_marks(
            restore_name_marks('repaired.ho_ten', 'citizen.full_name'),
            'name_birth_date.full_name'
        ) }} as full_name,
        source.ho_ten as full_name_raw,
        -- YYYY-MM-DD, or the year alone (year precision, stored as 1 January).
        coalesce(
            {{ parse_iso_date('source.ngay_sinh') }},
            {{ parse_year_only_date('source.ngay_sinh') }}
        ) as date_of_birth,
        sex_codes.code as sex_code,
        {{ conform_text('source.ma_so_bhxh') }} as social_insurance_code,
        {{ conform_text('source.ma_don_vi') }} as employer_code,
        {{ conform_text('source.ma_so_thue_don_vi') }} as employer_tax_code,
        {{ conform_text('source.so_dien_thoai') }} as phone_number,
        source.so_dien_thoai_e164,
        {{ parse_iso_timestamp('source.updated_at') }} as source_updated_at,
        source.so_dinh_danh,
        source.so_cmnd,
        source.ngay_sinh,
        source.gioi_tinh
    from source
    -- The name repaired once: the join below and the marks above both use it.
    cross join lateral (select {{ repair_name('source.ho_ten') }} as ho_ten {{ evaluate_once() }}) as repaired
    left join unique_cmnds as cmnd_citizen
        on {{ conform_personal_id('source.so_dinh_danh') }} is null
        and cmnd_citizen.cmnd = {{ conform_text('source.so_cmnd') }}
    left join citizens as citizen
        on citizen.personal_id = coalesce({{ conform_personal_id('source.so_dinh_danh') }}, cmnd_citizen.personal_id)
    left join unique_name_birth_dates as name_birth_date
        on name_birth_date.full_name_key = {{ name_match_key('repaired.ho_ten') }}
        and name_birth_date.date_of_birth = {{ parse_iso_date('source.ngay_sinh') }}
    left join sex_codes
        on sex_codes.source_value = {{ code_lookup_value('source.gioi_tinh') }}
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id_or_cmnd('so_dinh_danh', 'so_cmnd')
            + check_date_parsed('ngay_sinh', 'date_of_birth')
            + check_not_future('ngay_sinh', 'date_of_birth')
            + check_code_known('gioi_tinh', 'sex_code')
            + check_name('full_name_raw', 'full_name', field='ho_ten')
        ) | indent(8) }}
    from conformed
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        -- When this row was conformed.
        now() as _conformed_at,
        _source_hash,
        record_key,
        personal_id,
        personal_id_origin,
        cmnd,
        full_name,
        full_name_raw,
        {{ name_match_key('full_name') }} as full_name_key,
        date_of_birth,
        {{ date_precision('ngay_sinh', 'date_of_birth') }} as date_of_birth_precision,
        sex_code,
        social_insurance_code,
        employer_code,
        employer_tax_code,
        phone_number,
        source_updated_at,
        {{ phone_e164('so_dien_thoai_e164') }} as phone_e164,
        {{ pid_province_code('personal_id') }} as pid_province_code,
        {{ pid_sex_code('personal_id') }} as pid_sex_code,
        {{ pid_birth_year('personal_id') }} as pid_birth_year,
        -- A discrepancy to report, not a quarantine rule.
        {{ pid_sex_year_mismatch('personal_id', 'sex_code', 'date_of_birth') }} as pid_sex_year_mismatch,
        -- The near-duplicate rule's partition as one key (macros/duplicates.sql).
        {{ near_key(['personal_id', 'date_of_birth', 'sex_code', name_match_key('full_name')]) }} as _near_key,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
),

-- Duplicates within insured persons, over every batch. A social insurance code that comes
-- again in a later batch with changes is a new version, not a duplicate (see
-- int_insured_persons_deduplicated); an unchanged row extracted twice is an exact duplicate.
-- Quarantined rows are left out: they never survive and are never merged.

-- Duplicates (macros/duplicates.sql, deduplicate). Exact: the same row again (equal source
-- hashes); the first copy by (_batch_id, _source_row) survives.
-- Near: the same person insured again under another ma_so_bhxh, the name in legacy upper
-- case without marks. It matches on the personal ID, date of birth, sex and name key: two
-- people with the same name and date of birth have different personal IDs. The survivor is
-- the original record: the one whose name came with marks (the second registration is typed
-- without them); when neither has marks (a third of the source's names are upper case), the
-- more complete one, with a phone number or old ID card number (a second registration carries
-- only the essentials); then the earliest batch, row and key. Rows without a personal ID
-- ("CMND only") or key cannot be matched.
{{ deduplicate('social_insurance', 'insured_person', survivor_order=[has_marks('full_name_raw') ~ ' desc', '(phone_number is not null)::int + (cmnd is not null)::int desc']) }}

select * from deduplicated
