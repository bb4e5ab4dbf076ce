{{ config(post_hook=["{{ staging_indexes(['social_insurance_code'], record_versions=true) }}"]) }}

with

-- The raw rows to conform: the batches not conformed yet (macros/incremental.sql).
source as (
    {{ pending_source('social_insurance', 'contribution_period') }}
),

conformed as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ conform_text('id') }} as record_key,
        {{ conform_text('ma_so_bhxh') }} as social_insurance_code,
        -- Months 'MM/YYYY' become the first day of the month; an open period has no end.
        {{ parse_month('tu_thang') }} as period_start_month,
        {{ parse_month('den_thang') }} as period_end_month,
        -- Whole VND; anything but digits gives null (kept as received in raw).
        case
            when trim(muc_luong) ~ '^[0-9]{1,15}$' then trim(muc_luong)::bigint
        end as monthly_salary_vnd,
        {{ conform_text('ma_so_thue_don_vi') }} as employer_tax_code,
        {{ parse_iso_timestamp('updated_at') }} as source_updated_at,
        tu_thang,
        den_thang
    from source
    {{ evaluate_once() }}
),

checked as (
    select
        *,
        {{ quarantine_columns(
            check_date_parsed('tu_thang', 'period_start_month')
            + check_optional_date_parsed('den_thang', 'period_end_month')
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
        social_insurance_code,
        period_start_month,
        period_end_month,
        monthly_salary_vnd,
        employer_tax_code,
        source_updated_at,
        quarantine_reason_code,
        quarantine_field,
        quarantine_value
    from checked
)

select * from final
