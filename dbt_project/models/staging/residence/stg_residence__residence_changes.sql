with

source as (
    select * from {{ source('raw', 'residence__residence_change') }}
),

change_types as (
    select * from {{ ref('residence_change_type') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.id') }} as record_key,
        {{ conform_text('source.so_dinh_danh') }} as personal_id,
        change_types.code as change_type_code,
        {{ conform_text('source.ma_tinh') }} as province_code,
        {{ conform_text('source.ma_huyen') }} as district_code,
        {{ conform_text('source.ma_xa') }} as commune_code,
        {{ conform_name('source.dia_chi_chi_tiet') }} as address_detail,
        {{ parse_iso_date('source.ngay_bien_dong') }} as change_date,
        {{ parse_iso_timestamp('source.updated_at') }} as source_updated_at,
        source.so_dinh_danh,
        source.loai_bien_dong,
        source.ngay_bien_dong
    from source
    left join change_types
        on change_types.code = trim(source.loai_bien_dong)
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id('so_dinh_danh')
            + check_date_parsed('ngay_bien_dong', 'change_date')
            + check_not_future('ngay_bien_dong', 'change_date')
            + check_code_known('loai_bien_dong', 'change_type_code')
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
        change_type_code,
        province_code,
        district_code,
        commune_code,
        address_detail,
        change_date,
        source_updated_at,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
