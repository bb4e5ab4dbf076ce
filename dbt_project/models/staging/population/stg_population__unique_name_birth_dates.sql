{{ config(
    incremental_strategy='ndc_replace_keys',
    unique_key=['full_name_key', 'date_of_birth'],
    touched_key=['full_name_key', 'date_of_birth'],
    pre_hook="{{ touched_keys(changed_keys(ref('stg_population__citizens'), ['changed.full_name_key', 'changed.date_of_birth'])) }}",
    post_hook=["{{ staging_indexes(['full_name_key, date_of_birth'], batch_rows=false) }}"],
) }}

-- Name matching keys and dates of birth that exactly one citizen has: the person a death
-- record names whatever its personal ID says, and the marks a name received without them
-- may take when its own personal ID finds no citizen of that name. Incremental: a run
-- recomputes the pairs that the citizens changed since its last build held before or hold now.
{%- set touched = touched_table() %}

with

citizens as (
    select personal_id, full_name, full_name_key, date_of_birth
    from {{ ref('stg_population__citizens') }}
    where full_name_key is not null and date_of_birth is not null
    {%- if touched %}
        and (full_name_key, date_of_birth) in (select full_name_key, date_of_birth from {{ touched }})
    {%- endif %}
),

final as (
    select
        full_name_key,
        date_of_birth,
        min(personal_id) as personal_id,
        min(full_name) as full_name,
        now() as _conformed_at
    from citizens
    group by full_name_key, date_of_birth
    having count(*) = 1
)

select * from final
