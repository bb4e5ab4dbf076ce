{{ config(post_hook=["{{ staging_indexes() }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source('education', 'enrolment') }}
),

conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ conform_text('enrolment_id') }} as record_key,
        {{ conform_text('enrolment_id') }} as enrolment_id,
        {{ conform_text('student_id') }} as student_id,
        {{ conform_text('school_code') }} as school_code,
        -- 'YYYY-YYYY' (2025-2026); the first year starts the school year.
        case
            when trim(school_year) ~ '^[0-9]{4}-[0-9]{4}$' then trim(school_year)
        end as school_year,
        case
            when trim(grade) ~ '^[0-9]{1,2}$' and trim(grade)::int between 1 and 12
                then trim(grade)::smallint
        end as grade,
        {{ parse_iso_date('enrolled_on') }} as enrolment_date,
        {{ parse_utc_timestamp('updated_at') }} as source_updated_at,
        enrolled_on
    from source
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_date_parsed('enrolled_on', 'enrolment_date')
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
        enrolment_id,
        student_id,
        school_code,
        school_year,
        grade,
        enrolment_date,
        source_updated_at,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
