{{ config(post_hook=["{{ staging_indexes(['representative_personal_id'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet, and the rows that changed
-- citizens of the population database touch (macros/incremental.sql).
source as (
    {{ pending_source('business_registry', 'enterprise', population_matches=[('representative_personal_id', 'personal_id', name_lacks_marks('representative_full_name_raw'))]) }}
),

citizens as (
    -- The population database: a name without marks takes the marks of the citizen's name.
    select personal_id, full_name from {{ ref('stg_population__citizens') }}
),

conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ conform_text('ma_so_thue') }} as record_key,
        {{ conform_text('ma_so_thue') }} as tax_code,
        {{ conform_name('ten_doanh_nghiep') }} as enterprise_name,
        {{ conform_name('loai_hinh') }} as enterprise_type,
        -- An Excel cell read as text: ISO date or date-time, serial number, or d/m/yyyy.
        {{ parse_spreadsheet_date('ngay_thanh_lap') }} as founding_date,
        {{ conform_name('dia_chi_tru_so') }} as head_office_address,
        {{ conform_text('ma_tinh') }} as province_code,
        {{ restore_name_marks(repair_name('ho_ten_nguoi_dai_dien'), 'representative.full_name') }} as representative_full_name,
        ho_ten_nguoi_dai_dien as representative_full_name_raw,
        -- Optional (a foreign representative has none); malformed when present is rejected.
        {{ conform_personal_id('so_dinh_danh_nguoi_dai_dien') }} as representative_personal_id,
        {{ conform_name('trang_thai') }} as status,
        ngay_thanh_lap,
        so_dinh_danh_nguoi_dai_dien
    from source
    left join citizens as representative
        on representative.personal_id = {{ conform_personal_id('so_dinh_danh_nguoi_dai_dien') }}
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_optional_personal_id('so_dinh_danh_nguoi_dai_dien')
            + check_date_parsed('ngay_thanh_lap', 'founding_date')
            + check_not_future('ngay_thanh_lap', 'founding_date')
            + check_name('representative_full_name_raw', 'representative_full_name', field='ho_ten_nguoi_dai_dien')
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
        record_key,
        tax_code,
        enterprise_name,
        enterprise_type,
        founding_date,
        head_office_address,
        province_code,
        representative_full_name,
        representative_full_name_raw,
        {{ name_match_key('representative_full_name') }} as representative_full_name_key,
        representative_personal_id,
        status,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
