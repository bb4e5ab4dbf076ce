{{ config(
    incremental_strategy='ndc_replace_keys',
    unique_key='cmnd',
    touched_key=['cmnd'],
    pre_hook="{{ touched_keys(changed_keys(ref('stg_population__citizens'), ['changed.cmnd'])) }}",
    post_hook=["{{ staging_indexes(['cmnd'], batch_rows=false) }}"],
) }}

-- Old 9-digit ID card numbers (CMND) that exactly one citizen holds: a CMND-only record
-- resolves to that citizen's personal ID. Incremental: a run recomputes the numbers that the
-- citizens changed since its last build held before or hold now.
{%- set touched = touched_table() %}

with

citizens as (
    select personal_id, cmnd
    from {{ ref('stg_population__citizens') }}
    where cmnd is not null
    {%- if touched %}
        and cmnd in (select cmnd from {{ touched }})
    {%- endif %}
),

final as (
    select
        cmnd,
        min(personal_id) as personal_id,
        now() as _conformed_at
    from citizens
    group by cmnd
    having count(*) = 1
)

select * from final
