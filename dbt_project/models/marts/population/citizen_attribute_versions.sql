{{ config(
    materialized='incremental',
    incremental_strategy='ndc_replace_keys',
    on_schema_change='fail',
    touched_key=['personal_id'],
    pre_hook="{{ touched_keys(changed_keys(ref('int_citizen_attribute_records'), ['changed.personal_id'])) }}",
    post_hook=[
        "create index if not exists citizen_attribute_versions__person on {{ this }} (personal_id)",
        "create index if not exists citizen_attribute_versions__built_at on {{ this }} (_built_at)",
    ],
) }}

-- The golden record's attribute versions: one row per citizen, attribute and version, for the
-- population sync (citizen_attribute, citizen_history) and `ndc citizen show`.
-- Survivorship by the dictionary (seed golden_attributes): on each date a record of the
-- attribute took effect, the value is the one its rules pick among the records in effect by
-- then (sort keys: macros/golden.sql, survivorship_key). A version lasts from that date to the
-- next date the value changes (valid_to exclusive; null while current) and carries the
-- provenance of the record that set it. Only the source records' own dates count, so the
-- versions are the same whatever order and grouping the batches arrive in.
-- Incremental: a run rebuilds the persons whose records changed; a version rebuilt unchanged
-- keeps its row (and _built_at), so the sync sends only the citizens whose versions changed.
{%- set touched = touched_table() %}

with

records as (
    select * from {{ ref('int_citizen_attribute_records') }}
    {%- if touched %}
    where personal_id in (select personal_id from {{ touched }})
    {%- endif %}
),

attributes as (
    select * from {{ ref('golden_attributes') }}
),

-- Every date on which a record of the person's attribute took effect.
change_points as (
    select distinct personal_id, attribute, effective_date
    from records
),

-- The surviving record on each of those dates.
survivors as (
    select distinct on (point.personal_id, point.attribute, point.effective_date)
        point.personal_id,
        point.attribute,
        point.effective_date as valid_from,
        candidate.value,
        candidate.source_system,
        candidate.source_entity,
        candidate._batch_id as batch_id,
        candidate._source_row as source_row,
        candidate.record_key
    from change_points as point
    inner join records as candidate
        on candidate.personal_id = point.personal_id
        and candidate.attribute = point.attribute
        and candidate.effective_date <= point.effective_date
    inner join attributes as attribute
        on attribute.attribute = point.attribute
    order by
        point.personal_id, point.attribute, point.effective_date,
        {{ survivorship_key(1) }},
        {{ survivorship_key(2) }},
        {{ survivorship_key(3) }},
        candidate.recorded_at desc nulls last,
        candidate._batch_id desc, candidate._source_row desc, candidate.record_key desc
),

-- A new version where the surviving value changes; the record that first set it is its
-- provenance.
changes as (
    select
        survivors.*,
        lag(value) over (
            partition by personal_id, attribute order by valid_from
        ) as previous_value,
        row_number() over (
            partition by personal_id, attribute order by valid_from
        ) as point_number
    from survivors
),

versions as (
    select * from changes
    where point_number = 1 or value is distinct from previous_value
),

final as (
    select
        personal_id::varchar(12) as personal_id,
        attribute::text as attribute,
        value::text as value,
        valid_from::date as valid_from,
        lead(valid_from) over (
            partition by personal_id, attribute order by valid_from
        )::date as valid_to,
        source_system::text as source_system,
        source_entity::text as source_entity,
        batch_id::text as batch_id,
        source_row::integer as source_row,
        record_key::text as record_key
    from versions
)

select
    final.*,
    now()::timestamptz as _built_at
from final
