{{ config(post_hook=["{{ staging_indexes() }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source('education', 'graduation') }}
),

conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ conform_text('graduation_id') }} as record_key,
        {{ conform_text('graduation_id') }} as graduation_id,
        {{ conform_text('student_id') }} as student_id,
        -- THCS (lower secondary) or THPT (upper secondary); not yet a quarantine rule.
        {{ conform_code('level', ['THCS', 'THPT']) }} as education_level_code,
        case when trim(year) ~ '^[0-9]{4}$' then trim(year)::smallint end as graduation_year,
        {{ conform_name('classification') }} as classification,
        {{ parse_utc_timestamp('updated_at') }} as source_updated_at
    from source
    {{ evaluate_once() }}
),

-- No quarantine rule for graduations yet: every row conforms.
checked as (
    select
        *,
        {{ quarantine_columns([]) | indent(8) }}
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
        graduation_id,
        student_id,
        education_level_code,
        graduation_year,
        classification,
        source_updated_at,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
