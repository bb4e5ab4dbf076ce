with

source as (
    select * from {{ source('raw', 'civil_registration__birth') }}
),

sex_code_map as (
    select * from {{ ref('sex_code_map') }}
    where mapping = 'civil_registration_sex'
),

citizens as (
    -- The population database: a name without marks takes the marks of the citizen's name.
    select personal_id, full_name from {{ ref('stg_population__citizens') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.so_dang_ky') }} as record_key,
        {{ conform_text('source.so_dinh_danh') }} as personal_id,
        {{ restore_name_marks(repair_name('source.ho_ten'), 'citizen.full_name') }} as full_name,
        source.ho_ten as full_name_raw,
        {{ parse_dmy_date('source.ngay_sinh') }} as date_of_birth,
        sex_code_map.sex_code,
        {{ conform_text('source.so_dang_ky') }} as registration_number,
        {{ parse_dmy_date('source.ngay_dang_ky') }} as registration_date,
        {{ conform_text('source.noi_sinh_tinh') }} as birth_province_code,
        {{ restore_name_marks(repair_name('source.ho_ten_me'), 'mother.full_name') }} as mother_full_name,
        source.ho_ten_me as mother_full_name_raw,
        {{ conform_text('source.so_dinh_danh_me') }} as mother_personal_id,
        source.so_dinh_danh,
        source.ngay_sinh,
        source.ngay_dang_ky,
        source.gioi_tinh
    from source
    left join citizens as citizen
        on citizen.personal_id = {{ conform_text('source.so_dinh_danh') }}
    left join citizens as mother
        on mother.personal_id = {{ conform_text('source.so_dinh_danh_me') }}
    left join sex_code_map
        on sex_code_map.source_value = normalize(trim(source.gioi_tinh), nfc)
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
        ) | indent(8) }}
    from conformed
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        record_key,
        personal_id,
        full_name,
        full_name_raw,
        {{ name_match_key('full_name') }} as full_name_key,
        date_of_birth,
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
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
