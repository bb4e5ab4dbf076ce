with

source as (
    select * from {{ source('raw', 'civil_registration__birth') }}
),

-- Sex through the mapping the source declares (code_lists.sex in include/sources/civil_registration.yaml).
sex_codes as (
    {{ declared_code_map('civil_registration', 'sex') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.so_dang_ky') }} as record_key,
        {{ conform_text('source.so_dinh_danh') }} as personal_id,
        {{ conform_name('source.ho_ten') }} as full_name,
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
        {{ conform_name('source.ho_ten_me') }} as mother_full_name,
        {{ conform_text('source.so_dinh_danh_me') }} as mother_personal_id,
        source.so_dinh_danh,
        source.ngay_sinh,
        source.ngay_dang_ky,
        source.gioi_tinh
    from source
    left join sex_codes
        on sex_codes.source_value = {{ code_lookup_value('source.gioi_tinh') }}
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
        {{ date_precision('ngay_sinh', 'date_of_birth') }} as date_of_birth_precision,
        sex_code,
        registration_number,
        registration_date,
        birth_province_code,
        mother_full_name,
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
