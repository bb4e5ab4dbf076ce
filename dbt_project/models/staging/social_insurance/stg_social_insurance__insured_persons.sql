with

source as (
    select * from {{ source('raw', 'social_insurance__insured_person') }}
),

-- Sex through the mapping the source declares (code_lists.sex in include/sources/social_insurance.yaml).
sex_codes as (
    {{ declared_code_map('social_insurance', 'sex') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.ma_so_bhxh') }} as record_key,
        -- Null for a "CMND only" person (old 9-digit ID card, no personal ID yet): such a
        -- row conforms with its cmnd; resolving it to a personal ID comes later.
        {{ conform_text('source.so_dinh_danh') }} as personal_id,
        {{ conform_text('source.so_cmnd') }} as cmnd,
        -- Upper case without marks for about a third of rows: repaired downstream, not here.
        {{ conform_name('source.ho_ten') }} as full_name,
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
        {{ parse_iso_timestamp('source.updated_at') }} as source_updated_at,
        source.so_dinh_danh,
        source.so_cmnd,
        source.ngay_sinh,
        source.gioi_tinh
    from source
    left join sex_codes
        on sex_codes.source_value = {{ code_lookup_value('source.gioi_tinh') }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id_or_cmnd('so_dinh_danh', 'so_cmnd')
            + check_date_parsed('ngay_sinh', 'date_of_birth')
            + check_not_future('ngay_sinh', 'date_of_birth')
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
        {{ phone_e164('phone_number') }} as phone_e164,
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
