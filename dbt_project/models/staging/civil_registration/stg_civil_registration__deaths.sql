{{ config(post_hook=["{{ staging_indexes(['full_name_key, date_of_birth', 'personal_id', '_source_hash', '_near_key'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet, and the rows that changed
-- citizens of the population database touch (macros/incremental.sql).
source as (
    {{ pending_source('civil_registration', 'death', population_matches=[('personal_id', 'personal_id'), ('full_name_key, date_of_birth', 'full_name_key, date_of_birth')]) }}
),

-- Not materialized: read twice, and a materialized CTE is hashed whole, where an incremental
-- run looks a few thousand rows up in the population's index.
citizens as not materialized (
    -- The population database: a name without marks takes the marks of the citizen's name.
    select personal_id, full_name from {{ ref('stg_population__citizens') }}
),

-- Citizens that are the only one with their name key and date of birth: the person a death
-- record names, whatever its personal ID says (see linked_personal_id).
unique_name_birth_dates as (
    select full_name_key, date_of_birth, personal_id
    from {{ ref('stg_population__unique_name_birth_dates') }}
),

conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ source_row_hash('source') }} as _source_hash,
        {{ conform_text('so_dang_ky') }} as record_key,
        {{ conform_personal_id('so_dinh_danh') }} as personal_id,
        {{ restore_name_marks(repair_name('ho_ten'), 'citizen.full_name') }} as full_name,
        ho_ten as full_name_raw,
        -- Optional on a death record: may be empty, but a value that does not parse is
        -- quarantined like any other unparseable date. The year alone ('1942') is valid data
        -- of year precision, stored as 1 January.
        coalesce({{ parse_dmy_date('ngay_sinh', partial=true) }}, {{ parse_year_only_date('ngay_sinh') }}) as date_of_birth,
        {{ parse_dmy_date('ngay_mat') }} as date_of_death,
        {{ conform_text('so_dang_ky') }} as registration_number,
        {{ parse_dmy_date('ngay_dang_ky') }} as registration_date,
        {{ conform_text('noi_mat_tinh') }} as death_province_code,
        so_dinh_danh,
        ngay_sinh,
        ngay_mat,
        ngay_dang_ky
    from source
    left join citizens as citizen
        on citizen.personal_id = {{ conform_personal_id('so_dinh_danh') }}
    {{ evaluate_once() }}
),

linked as (
    select
        conformed.*,
        name_birth_date.personal_id as linked_personal_id,
        coalesce(
            {{ name_match_key('citizen.full_name') }} = {{ name_match_key('conformed.full_name') }},
            false
        ) as personal_id_confirmed
    from conformed
    left join citizens as citizen
        on citizen.personal_id = conformed.personal_id
    left join unique_name_birth_dates as name_birth_date
        on name_birth_date.full_name_key = {{ name_match_key('conformed.full_name') }}
        and name_birth_date.date_of_birth = conformed.date_of_birth
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
            + check_dates_in_order('date_of_birth', 'date_of_death', 'DEATH_BEFORE_BIRTH', 'ngay_mat')
            + check_name('full_name_raw', 'full_name', field='ho_ten')
        ) | indent(8) }}
    from linked
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        -- When this row was conformed.
        now() as _conformed_at,
        _source_hash,
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
        -- The population database's one citizen with this name key and date of birth: who
        -- died when the personal ID is missing, malformed or mistyped.
        linked_personal_id,
        -- The population database holds this personal ID under the same name.
        personal_id_confirmed,
        -- The death register sends no sex: null, kept for the personal ID checks.
        null::text as sex_code,
        {{ pid_sex_code('personal_id') }} as pid_sex_code,
        {{ pid_birth_year('personal_id') }} as pid_birth_year,
        -- A discrepancy to report: the ID's birth year is not the record's, or the citizen
        -- of this name and date of birth holds the same number but for the century/sex and
        -- year digits (a mistyped sex digit, which the record alone cannot show).
        coalesce({{ pid_sex_year_mismatch('personal_id', 'null::text', 'date_of_birth') }}, false)
            or coalesce(
                personal_id ~ '^[0-9]{12}$'
                and linked_personal_id <> personal_id
                and left(linked_personal_id, 3) = left(personal_id, 3)
                and right(linked_personal_id, 6) = right(personal_id, 6),
                false
            ) as pid_sex_year_mismatch,
        -- The near-duplicate rule's partition as one key (macros/duplicates.sql).
        {{ near_key(['personal_id', 'date_of_death', 'date_of_birth', name_match_key('full_name')]) }} as _near_key,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
),

-- Duplicates within deaths, over every batch (the same death may come in two daily files).
-- Quarantined rows are left out: they never survive and are never merged.

-- Duplicates (macros/duplicates.sql, deduplicate). Exact: the same row again (equal source
-- hashes); the first copy by (_batch_id, _source_row) survives.
-- Near: the same death registered again under another so_dang_ky, the name typed without
-- marks. It matches on the personal ID, date of death, date of birth and name key. The
-- survivor is the original registration: the one whose name came with marks (a
-- re-registration is typed without them), then the earliest batch, row and key. Rows
-- without a personal ID or key cannot be matched.
{{ deduplicate('civil_registration', 'death', survivor_order=[has_marks('full_name_raw') ~ ' desc']) }}

select * from deduplicated
