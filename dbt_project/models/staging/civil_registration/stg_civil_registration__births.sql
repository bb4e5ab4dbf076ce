{{ config(post_hook=["{{ staging_indexes(['mother_personal_id', 'personal_id', '_source_hash', '_near_key'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet, and the rows that changed
-- citizens of the population database touch (macros/incremental.sql).
source as (
    {{ pending_source('civil_registration', 'birth', population_matches=[('personal_id', 'personal_id', name_lacks_marks('full_name_raw')), ('mother_personal_id', 'personal_id', name_lacks_marks('mother_full_name_raw'))]) }}
),

-- Sex through the mapping the source declares (code_lists.sex in include/sources/civil_registration.yaml).
sex_codes as (
    {{ declared_code_map('civil_registration', 'sex') }}
),

-- Not materialized: read twice, and a materialized CTE is hashed whole, where an incremental
-- run looks a few thousand rows up in the population's index.
citizens as not materialized (
    -- The population database: a name without marks takes the marks of the citizen's name.
    select personal_id, full_name from {{ ref('stg_population__citizens') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ source_row_hash('source') }} as _source_hash,
        {{ conform_text('source.so_dang_ky') }} as record_key,
        {{ conform_personal_id('source.so_dinh_danh') }} as personal_id,
        {{ restore_name_marks(repair_name('source.ho_ten'), 'citizen.full_name') }} as full_name,
        source.ho_ten as full_name_raw,
        -- d/m/yyyy, or the year alone (year precision, stored as 1 January).
        coalesce(
            {{ parse_dmy_date('source.ngay_sinh') }},
            {{ parse_year_only_date('source.ngay_sinh') }}
        ) as date_of_birth,
        sex_codes.code as sex_code,
        {{ conform_text('source.so_dang_ky') }} as registration_number,
        {{ parse_dmy_date('source.ngay_dang_ky') }} as registration_date,
        {{ conform_text('source.noi_sinh_tinh') }} as birth_province_code,
        {{ restore_name_marks(repair_name('source.ho_ten_me'), 'mother.full_name') }} as mother_full_name,
        source.ho_ten_me as mother_full_name_raw,
        {{ conform_personal_id('source.so_dinh_danh_me') }} as mother_personal_id,
        source.so_dinh_danh,
        source.ngay_sinh,
        source.ngay_dang_ky,
        source.gioi_tinh
    from source
    left join citizens as citizen
        on citizen.personal_id = {{ conform_personal_id('source.so_dinh_danh') }}
    left join citizens as mother
        on mother.personal_id = {{ conform_personal_id('source.so_dinh_danh_me') }}
    left join sex_codes
        on sex_codes.source_value = {{ code_lookup_value('source.gioi_tinh') }}
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id('so_dinh_danh')
            + check_date_parsed('ngay_sinh', 'date_of_birth')
            + check_date_parsed('ngay_dang_ky', 'registration_date')
            + check_not_future('ngay_sinh', 'date_of_birth')
            + check_not_future('ngay_dang_ky', 'registration_date')
            + check_code_known('gioi_tinh', 'sex_code')
            + check_dates_in_order('date_of_birth', 'registration_date', 'BIRTH_AFTER_REGISTRATION', 'ngay_dang_ky')
            + check_name('full_name_raw', 'full_name', field='ho_ten')
            + check_name('mother_full_name_raw', 'mother_full_name', field='ho_ten_me')
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
        full_name,
        full_name_raw,
        {{ name_match_key('full_name') }} as full_name_key,
        date_of_birth,
        {{ date_precision('ngay_sinh', 'date_of_birth') }} as date_of_birth_precision,
        sex_code,
        registration_number,
        registration_date,
        birth_province_code,
        mother_full_name,
        mother_full_name_raw,
        {{ name_match_key('mother_full_name') }} as mother_full_name_key,
        mother_personal_id,
        {{ pid_province_code('personal_id') }} as pid_province_code,
        {{ pid_sex_code('personal_id') }} as pid_sex_code,
        {{ pid_birth_year('personal_id') }} as pid_birth_year,
        -- A discrepancy to report, not a quarantine rule.
        {{ pid_sex_year_mismatch('personal_id', 'sex_code', 'date_of_birth') }} as pid_sex_year_mismatch,
        -- The near-duplicate rule's partition as one key (macros/duplicates.sql).
        {{ near_key(['personal_id', 'date_of_birth', 'sex_code', 'mother_personal_id', name_match_key('mother_full_name'), name_match_key('full_name')]) }} as _near_key,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
),

-- Duplicates within births, over every batch (the same birth may come in two daily files).
-- Quarantined rows are left out: they never survive and are never merged.

-- Duplicates (macros/duplicates.sql, deduplicate). Exact: the same row again (equal source
-- hashes); the first copy by (_batch_id, _source_row) survives.
-- Near: the same birth registered again under another so_dang_ky, the child's name typed
-- without marks. It matches on the child's personal ID, date of birth, sex, the mother (ID
-- and name key) and the child's name key: twins share the mother and date of birth but not
-- the personal ID or name, so they never match. The survivor is the original registration:
-- the one whose name came with marks (a re-registration is typed without them), then the
-- earliest batch, row and key. Rows without a personal ID or key cannot be matched.
{{ deduplicate('civil_registration', 'birth', survivor_order=[has_marks('full_name_raw') ~ ' desc']) }}

select * from deduplicated
