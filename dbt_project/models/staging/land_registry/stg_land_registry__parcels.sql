{{ config(post_hook=["{{ staging_indexes(['record_key'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source('land_registry', 'parcel') }}
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

-- The parcel's commune in the 2025 system (macros/admin_units.sql), as residence changes
-- do: its code, legacy before 2025-07-01 and 2025 from then unless the row still names a
-- district (the source declares legacy-until-2025-07-01); else its free-text address, a
-- legacy ward. A split legacy ward is flagged, never guessed.
{%- set places = [
    admin_place('ma_xa', 'commune_code', declared_admin_code_system(
        registry_entity('land_registry', 'parcel').admin_units, 'update_date', 'district_code')),
    admin_address_place('dia_chi', 'address_legacy_ward_code', 'address_match', value='dia_chi'),
] %}
converted as (
    {{ convert_admin_unit('conformed', places) }}
),

-- A parcel must be placed: without a code, an address that names no single ward (or none) is
-- quarantined.
checked as (
    select
        *,
        {{ quarantine_columns(
            check_date_parsed('ngay_cap_nhat', 'update_date')
            + check_not_future('ngay_cap_nhat', 'update_date')
            + check_admin_unit(places, required=true, unknown=false)
        ) | indent(8) }}
    from converted
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
        commune_code_2025,
        admin_conversion_ambiguous,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
