with

source as (
    select * from {{ source('raw', 'civil_registration__death') }}
),

conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ conform_text('so_dang_ky') }} as record_key,
        {{ conform_text('so_dinh_danh') }} as personal_id,
        {{ conform_name('ho_ten') }} as full_name,
        ho_ten as full_name_raw,
        -- Optional on a death record: may be empty, but a value that does not parse is
        -- quarantined like any other unparseable date. The year alone ('1942') is valid data
        -- of year precision, stored as 1 January.
        coalesce({{ parse_dmy_date('ngay_sinh') }}, {{ parse_year_only_date('ngay_sinh') }}) as date_of_birth,
        {{ parse_dmy_date('ngay_mat') }} as date_of_death,
        {{ conform_text('so_dang_ky') }} as registration_number,
        {{ parse_dmy_date('ngay_dang_ky') }} as registration_date,
        {{ conform_text('noi_mat_tinh') }} as death_province_code,
        so_dinh_danh,
        ngay_sinh,
        ngay_mat,
        ngay_dang_ky
    from source
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id('so_dinh_danh')
            + check_date_parsed('ngay_mat', 'date_of_death')
            + check_date_parsed('ngay_dang_ky', 'registration_date')
            + check_optional_date_parsed('ngay_sinh', 'date_of_birth')
            + check_not_future('ngay_sinh', 'date_of_birth')
            + check_not_future('ngay_mat', 'date_of_death')
            + check_not_future('ngay_dang_ky', 'registration_date')
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
        date_of_death,
        registration_number,
        registration_date,
        death_province_code,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
