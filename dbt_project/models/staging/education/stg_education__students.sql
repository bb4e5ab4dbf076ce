{{ config(post_hook=["{{ staging_indexes(['personal_id'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet, and the rows that changed
-- citizens of the population database touch (macros/incremental.sql).
source as (
    {{ pending_source('education', 'student', population_matches=[('personal_id', 'personal_id', name_lacks_marks('full_name_raw'))]) }}
),

-- Sex through the mapping the source declares (code_lists.sex in include/sources/education.yaml).
sex_codes as (
    {{ declared_code_map('education', 'sex') }}
),

-- Ethnicity through the list the source declares (code_lists.ethnicity): the 2008 numbering
-- as is, a 1979 code carried to it by the crosswalk.
ethnicity_codes as (
    {{ declared_code_map('education', 'ethnicity') }}
),

citizens as (
    -- The population database: a name without marks takes the marks of the citizen's name.
    select personal_id, full_name from {{ ref('stg_population__citizens') }}
),

-- The API's column names are the dictionary's own (date_of_birth, ethnicity_code): the raw
-- values are carried as <name>_raw for the quarantine report.
conformed as (
    select
        source._batch_id,
        source._source_row,
        source._loaded_at,
        {{ conform_text('source.student_id') }} as record_key,
        {{ conform_text('source.student_id') }} as student_id,
        -- Every citizen has a personal ID from birth registration: a missing one is quarantined.
        {{ conform_personal_id('source.citizen_id') }} as personal_id,
        {{ restore_name_marks(repair_name('source.full_name'), 'citizen.full_name') }} as full_name,
        source.full_name as full_name_raw,
        -- YYYY-MM-DD, sometimes d/m/yyyy typed as text, or the year alone (year precision,
        -- stored as 1 January).
        coalesce(
            {{ parse_iso_date('source.date_of_birth') }},
            {{ parse_dmy_date('source.date_of_birth') }},
            {{ parse_year_only_date('source.date_of_birth') }}
        ) as date_of_birth,
        sex_codes.code as sex_code,
        ethnicity_codes.code as ethnicity_code,
        {{ parse_utc_timestamp('source.updated_at') }} as source_updated_at,
        source.citizen_id,
        source.date_of_birth as date_of_birth_raw,
        source.gender,
        source.ethnicity_code as ethnicity_code_raw
    from source
    left join citizens as citizen
        on citizen.personal_id = {{ conform_personal_id('source.citizen_id') }}
    left join sex_codes
        on sex_codes.source_value = {{ code_lookup_value('source.gender') }}
    left join ethnicity_codes
        on ethnicity_codes.source_value = {{ code_lookup_value('source.ethnicity_code') }}
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_personal_id('citizen_id')
            + check_date_parsed('date_of_birth_raw', 'date_of_birth', field='date_of_birth')
            + check_not_future('date_of_birth_raw', 'date_of_birth', field='date_of_birth')
            + check_code_known('gender', 'sex_code')
            + check_code_known('ethnicity_code_raw', 'ethnicity_code', field='ethnicity_code')
            + check_name('full_name_raw', 'full_name', field='full_name')
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
        student_id,
        personal_id,
        full_name,
        full_name_raw,
        {{ name_match_key('full_name') }} as full_name_key,
        date_of_birth,
        {{ date_precision('date_of_birth_raw', 'date_of_birth') }} as date_of_birth_precision,
        sex_code,
        ethnicity_code,
        source_updated_at,
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
