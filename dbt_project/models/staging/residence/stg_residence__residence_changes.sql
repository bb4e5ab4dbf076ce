{{ config(post_hook=["{{ staging_indexes(['personal_id'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source('residence', 'residence_change') }}
),

-- Through the list version the source declares (code_lists.residence_change_type).
change_types as (
    {{ declared_code_map('residence', 'residence_change_type') }}
),

-- One row per legacy ward: the 2025 commune when it became exactly one (a ward split
-- between several communes is ambiguous: flagged, never guessed).
legacy_wards as (
    select
        legacy_ward_code,
        count(distinct new_commune_code) as new_commune_count,
        min(new_commune_code) as new_commune_code
    from {{ ref('admin_units_legacy_to_2025') }}
    group by legacy_ward_code
),

communes_2025 as (
    select commune_code from {{ ref('admin_units_2025_communes') }}
),

conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.id') }} as record_key,
        {{ conform_personal_id('source.so_dinh_danh') }} as personal_id,
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
        on change_types.source_value = {{ code_lookup_value('source.loai_bien_dong') }}
    {{ evaluate_once() }}
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

-- Codes before 2025-07-01 are legacy codes, from then 2025 codes (the source declares
-- legacy-until-2025-07-01), unless the row still names a district: the 2025 system has
-- none, so that row carries legacy codes (a clerk's system not switched over yet).
converted as (
    select
        checked.*,
        {{ admin_code_system('checked.change_date', 'checked.district_code') }} as admin_code_system,
        legacy_wards.new_commune_count,
        legacy_wards.new_commune_code,
        communes_2025.commune_code as known_2025_commune_code
    from checked
    left join legacy_wards
        on {{ admin_code_system('checked.change_date', 'checked.district_code') }} = 'legacy'
        and legacy_wards.legacy_ward_code = checked.commune_code
    left join communes_2025
        on {{ admin_code_system('checked.change_date', 'checked.district_code') }} = '2025'
        and communes_2025.commune_code = checked.commune_code
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        -- When this row was conformed.
        now() as _conformed_at,
        record_key,
        personal_id,
        change_type_code,
        province_code,
        district_code,
        commune_code,
        address_detail,
        change_date,
        source_updated_at,
        admin_code_system,
        case
            when admin_code_system = 'legacy' and new_commune_count = 1 then new_commune_code
            when admin_code_system = '2025' then known_2025_commune_code
        end as commune_code_2025,
        case
            when admin_code_system = 'legacy' then new_commune_count > 1
            when admin_code_system = '2025' then false
        end as admin_conversion_ambiguous,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from converted
)

select * from final
