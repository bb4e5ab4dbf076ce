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

-- The commune in the 2025 system (macros/admin_units.sql): codes before 2025-07-01 are
-- legacy codes, from then 2025 codes (the source declares legacy-until-2025-07-01), unless
-- the row still names a district: the 2025 system has none, so that row carries legacy codes
-- (a clerk's system not switched over yet). The date decides the system of all the row's
-- codes, a commune code or not; a split legacy ward is flagged, never guessed.
{%- set places = [admin_place(
    'ma_xa', 'commune_code',
    declared_admin_code_system(registry_entity('residence', 'residence_change').admin_units, 'change_date', 'district_code'),
    given='true'
)] %}
converted as (
    {{ convert_admin_unit('checked', places) }}
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
        commune_code_2025,
        admin_conversion_ambiguous,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from converted
)

select * from final
