{{ config(
    materialized='incremental',
    incremental_strategy='ndc_replace_keys',
    on_schema_change='fail',
    touched_key=['personal_id'],
    pre_hook="{{ touched_keys(changed_keys(ref('int_citizens_unified'), ['changed.personal_id'])) }}",
) }}

-- One row per citizen for the population sync and analysts. Incremental: a run rewrites the
-- citizens of int_citizens_unified written or removed since its last build; a citizen's
-- _changed_at moves only when its values change, so the sync sends only those citizens.
{%- set touched = touched_table() %}

with

citizens as (
    select * from {{ ref('int_citizens_unified') }}
    {%- if touched %}
    where personal_id in (select personal_id from {{ touched }})
    {%- endif %}
),

final as (
    select
        personal_id::varchar(12) as personal_id,
        full_name::text as full_name,
        date_of_birth::date as date_of_birth,
        sex_code::varchar(1) as sex_code,
        date_of_death::date as date_of_death,
        (date_of_death is not null) as is_deceased,
        source_systems::text as source_systems,
        record_count::integer as record_count
    from citizens
),

hashed as (
    select
        final.*,
        md5(row(final.*)::text) as _row_hash
    from final
)

{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) %}
{%- set has_marker = previous is not none and '_changed_at' in (adapter.get_columns_in_relation(previous) | map(attribute='name') | list) %}

select
    hashed.*,
    {%- if has_marker and not should_full_refresh() %}
    coalesce(previous._changed_at, now())::timestamptz as _changed_at,
    {%- else %}
    now()::timestamptz as _changed_at,
    {%- endif %}
    now()::timestamptz as _built_at
from hashed
{%- if has_marker and not should_full_refresh() %}
left join {{ this }} as previous
    on previous.personal_id = hashed.personal_id
    and previous._row_hash = hashed._row_hash
{%- endif %}
