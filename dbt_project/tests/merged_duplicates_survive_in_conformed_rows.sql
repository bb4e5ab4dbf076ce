-- Every merged row was not quarantined, and points to a row of the same entity that is
-- conformed (neither quarantined nor itself merged) and carries the surviving key.
-- Returns the offending merged rows.
with

merged as (
    select * from {{ ref('merged_duplicates') }}
),

staged as (
    select 'civil_registration' as source, 'birth' as entity, _batch_id, _source_row,
        record_key, quarantine_reason_code, duplicate_of_record_key
    from {{ ref('stg_civil_registration__births') }}
    union all
    select 'civil_registration', 'death', _batch_id, _source_row,
        record_key, quarantine_reason_code, duplicate_of_record_key
    from {{ ref('stg_civil_registration__deaths') }}
    union all
    select 'social_insurance', 'insured_person', _batch_id, _source_row,
        record_key, quarantine_reason_code, duplicate_of_record_key
    from {{ ref('stg_social_insurance__insured_persons') }}
)

select merged.*
from merged
inner join staged as merged_row
    on merged_row.source = merged.source
    and merged_row.entity = merged.entity
    and merged_row._batch_id = merged._batch_id
    and merged_row._source_row = merged._source_row
left join staged as survivor
    on survivor.source = merged.source
    and survivor.entity = merged.entity
    and survivor._batch_id = merged.surviving_batch_id
    and survivor._source_row = merged.surviving_source_row
where
    merged_row.quarantine_reason_code is not null
    or survivor._batch_id is null
    or survivor.quarantine_reason_code is not null
    or survivor.duplicate_of_record_key is not null
    or survivor.record_key is distinct from merged.surviving_record_key
