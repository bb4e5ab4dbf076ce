{{ config(post_hook=["{{ staging_indexes(['personal_id'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet, and the rows that changed
-- citizens of the population database touch (macros/incremental.sql).
source as (
    {{ pending_source('land_registry', 'owner', population_matches=[('personal_id', 'personal_id', name_lacks_marks('full_name_raw'))]) }}
),

citizens as (
    -- The population database: a name without marks takes the marks of the citizen's name.
    select personal_id, full_name from {{ ref('stg_population__citizens') }}
),

-- An owner is a person with a personal ID, or none (an older certificate, a foreigner);
-- the land registry records no sex.
conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.ma_thua') }} || '/' || {{ conform_text('source.stt') }} as record_key,
        {{ conform_text('source.ma_thua') }} as parcel_id,
        {{ conform_text('source.stt') }} as owner_number,
        {{ conform_text('source.so_dinh_danh') }} as personal_id,
        {{ restore_name_marks(repair_name('source.ho_ten'), 'citizen.full_name') }} as full_name,
        source.ho_ten as full_name_raw,
        coalesce(
            {{ parse_iso_date('source.ngay_sinh') }},
            {{ parse_year_only_date('source.ngay_sinh') }}
        ) as date_of_birth,
        case
            when {{ conform_text('source.ty_le_so_huu') }} ~ '^[0-9]+(\.[0-9]+)?$'
                then {{ conform_text('source.ty_le_so_huu') }}::numeric
        end as ownership_share,
        {{ conform_text('source.ma_xa') }} as residence_commune_code,
        source.so_dinh_danh,
        source.ngay_sinh,
        source.ty_le_so_huu
    from source
    left join citizens as citizen
        on citizen.personal_id = {{ conform_text('source.so_dinh_danh') }}
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_optional_personal_id('so_dinh_danh')
            + check_optional_date_parsed('ngay_sinh', 'date_of_birth')
            + check_not_future('ngay_sinh', 'date_of_birth')
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
        parcel_id,
        owner_number,
        personal_id,
        full_name,
        full_name_raw,
        {{ name_match_key('full_name') }} as full_name_key,
        date_of_birth,
        {{ date_precision('ngay_sinh', 'date_of_birth') }} as date_of_birth_precision,
        null::text as sex_code,
        ownership_share,
        residence_commune_code,
        {{ pid_province_code('personal_id') }} as pid_province_code,
        {{ pid_sex_code('personal_id') }} as pid_sex_code,
        {{ pid_birth_year('personal_id') }} as pid_birth_year,
        -- A discrepancy to report (on the birth year: no sex recorded), not a quarantine rule.
        {{ pid_sex_year_mismatch('personal_id', 'null::text', 'date_of_birth') }} as pid_sex_year_mismatch,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
