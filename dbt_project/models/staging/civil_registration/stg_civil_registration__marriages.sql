{{ config(post_hook=["{{ staging_indexes(['husband_personal_id', 'wife_personal_id']) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet, and the rows that changed
-- citizens of the population database touch (macros/incremental.sql).
source as (
    {{ pending_source('civil_registration', 'marriage', population_matches=[('husband_personal_id', 'personal_id', name_lacks_marks('husband_full_name_raw')), ('wife_personal_id', 'personal_id', name_lacks_marks('wife_full_name_raw'))]) }}
),

-- Not materialized: read twice, and a materialized CTE is hashed whole, where an incremental
-- run looks a few thousand rows up in the population's index.
citizens as not materialized (
    -- The population database: a name without marks takes the marks of the citizen's name.
    select personal_id, full_name from {{ ref('stg_population__citizens') }}
),

conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ conform_text('so_dang_ky') }} as record_key,
        {{ conform_text('so_dang_ky') }} as registration_number,
        {{ parse_dmy_date('ngay_dang_ky') }} as registration_date,
        {{ conform_text('noi_dang_ky_tinh') }} as registration_province_code,
        {{ conform_personal_id('so_dinh_danh_chong') }} as husband_personal_id,
        {{ restore_name_marks(repair_name('ho_ten_chong'), 'husband.full_name') }} as husband_full_name,
        ho_ten_chong as husband_full_name_raw,
        -- The spouses' dates of birth are optional on the certificate; d/m/yyyy or the year
        -- alone (year precision, stored as 1 January).
        coalesce(
            {{ parse_dmy_date('ngay_sinh_chong') }},
            {{ parse_year_only_date('ngay_sinh_chong') }}
        ) as husband_date_of_birth,
        {{ conform_personal_id('so_dinh_danh_vo') }} as wife_personal_id,
        {{ restore_name_marks(repair_name('ho_ten_vo'), 'wife.full_name') }} as wife_full_name,
        ho_ten_vo as wife_full_name_raw,
        coalesce(
            {{ parse_dmy_date('ngay_sinh_vo') }},
            {{ parse_year_only_date('ngay_sinh_vo') }}
        ) as wife_date_of_birth,
        ngay_dang_ky,
        so_dinh_danh_chong,
        ngay_sinh_chong,
        so_dinh_danh_vo,
        ngay_sinh_vo
    from source
    left join citizens as husband
        on husband.personal_id = {{ conform_personal_id('so_dinh_danh_chong') }}
    left join citizens as wife
        on wife.personal_id = {{ conform_personal_id('so_dinh_danh_vo') }}
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id('so_dinh_danh_chong')
            + check_personal_id('so_dinh_danh_vo')
            + check_date_parsed('ngay_dang_ky', 'registration_date')
            + check_optional_date_parsed('ngay_sinh_chong', 'husband_date_of_birth')
            + check_optional_date_parsed('ngay_sinh_vo', 'wife_date_of_birth')
            + check_not_future('ngay_dang_ky', 'registration_date')
            + check_not_future('ngay_sinh_chong', 'husband_date_of_birth')
            + check_not_future('ngay_sinh_vo', 'wife_date_of_birth')
            + check_name('husband_full_name_raw', 'husband_full_name', field='ho_ten_chong')
            + check_name('wife_full_name_raw', 'wife_full_name', field='ho_ten_vo')
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
        registration_number,
        registration_date,
        registration_province_code,
        husband_personal_id,
        husband_full_name,
        husband_full_name_raw,
        {{ name_match_key('husband_full_name') }} as husband_full_name_key,
        husband_date_of_birth,
        {{ date_precision('ngay_sinh_chong', 'husband_date_of_birth') }} as husband_date_of_birth_precision,
        wife_personal_id,
        wife_full_name,
        wife_full_name_raw,
        {{ name_match_key('wife_full_name') }} as wife_full_name_key,
        wife_date_of_birth,
        {{ date_precision('ngay_sinh_vo', 'wife_date_of_birth') }} as wife_date_of_birth_precision,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
