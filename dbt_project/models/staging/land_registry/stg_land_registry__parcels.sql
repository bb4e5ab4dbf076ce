{{ config(post_hook=["{{ staging_indexes(['record_key']) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source('land_registry', 'parcel') }}
),

-- One row per legacy ward: the 2025 commune when it became exactly one (a ward split
-- between several communes is ambiguous: flagged, never guessed), as residence changes do.
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

-- A parcel's place arrives as codes (<DiaChi MaHuyen MaXa>) or, from provinces not switched
-- over, only as a free-text legacy address that the extractor standardised offline to its
-- legacy ward code (ma_xa_tu_dia_chi; ket_qua_dia_chi matched or unmatched).
conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ conform_text('ma_thua') }} as record_key,
        {{ conform_text('ma_thua') }} as parcel_id,
        {{ conform_text('so_to') }} as map_sheet_number,
        {{ conform_text('so_thua') }} as parcel_number,
        case
            when {{ conform_text('dien_tich') }} ~ '^[0-9]+(\.[0-9]+)?$'
                then {{ conform_text('dien_tich') }}::numeric
        end as area_m2,
        {{ conform_text('muc_dich_su_dung') }} as land_use_code,
        {{ conform_text('ma_huyen') }} as district_code,
        {{ conform_text('ma_xa') }} as commune_code,
        {{ conform_name('dia_chi') }} as address_text,
        {{ conform_text('ma_xa_tu_dia_chi') }} as address_legacy_ward_code,
        {{ conform_text('ket_qua_dia_chi') }} as address_match,
        {{ parse_iso_date('ngay_cap_nhat') }} as update_date,
        dia_chi,
        ngay_cap_nhat
    from source
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_date_parsed('ngay_cap_nhat', 'update_date')
            + check_not_future('ngay_cap_nhat', 'update_date')
            + [{"when": "commune_code is null and (address_match is distinct from 'matched')",
                "reason": "ADMIN_ADDRESS_UNMATCHED", "field": "dia_chi", "value": "dia_chi"}]
        ) | indent(8) }}
    from conformed
),

-- Codes: legacy before 2025-07-01, 2025 from then unless the row still names a district
-- (the source declares legacy-until-2025-07-01). A free-text address names legacy units.
systems as (
    select
        checked.*,
        case
            when commune_code is not null
                then {{ admin_code_system('update_date', 'district_code') }}
            when address_match = 'matched' then 'legacy'
        end as admin_code_system,
        coalesce(commune_code, address_legacy_ward_code) as place_code
    from checked
),

converted as (
    select
        systems.*,
        legacy_wards.new_commune_count,
        legacy_wards.new_commune_code,
        communes_2025.commune_code as known_2025_commune_code
    from systems
    left join legacy_wards
        on systems.admin_code_system = 'legacy'
        and legacy_wards.legacy_ward_code = systems.place_code
    left join communes_2025
        on systems.admin_code_system = '2025'
        and communes_2025.commune_code = systems.place_code
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        -- When this row was conformed.
        now() as _conformed_at,
        record_key,
        parcel_id,
        map_sheet_number,
        parcel_number,
        area_m2,
        land_use_code,
        district_code,
        commune_code,
        address_text,
        address_legacy_ward_code,
        address_match,
        update_date,
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
