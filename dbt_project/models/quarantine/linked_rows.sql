{{ config(
    materialized='table',
    indexes=[{'columns': ['_batch_id']}],
) }}

-- The rows quarantined for their personal ID that linkage linked to a citizen: auto-linked,
-- or a clerk accepted the link (ndc.linkage.flow writes ops.person_links after a build; the
-- next build reads it). They leave quarantine: quarantined_rows leaves them out, and the
-- reconciliation counts them as linked. A table rebuilt every run: it holds only the linked
-- rows, found by key in each staging model.
with

links as (
    select * from {{ source('ops', 'person_links') }}
    where linked
),

-- The staging row still as it was linked (same ledger version) and still quarantined for its ID.
quarantined as (
    {%- for model, source_name, entity in quarantine_entities() %}
    select
        '{{ source_name }}'::text as source,
        '{{ entity }}'::text as entity,
        staged._batch_id,
        staged._source_row,
        staged._loaded_at,
        staged.record_key,
        staged.quarantine_reason_code
    from {{ ref(model) }} as staged
    where staged.quarantine_reason_code in ({{ link_reason_codes() }})
        and (staged._batch_id, staged._source_row) in (
            select _batch_id, _source_row from links
            where source = '{{ source_name }}' and entity = '{{ entity }}'
        )
    {%- if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),

final as (
    select
        quarantined.source,
        quarantined.entity,
        quarantined._batch_id,
        quarantined._source_row,
        quarantined.record_key,
        quarantined.quarantine_reason_code as reason_code,
        links.personal_id,
        links.link_method,
        links.match_probability,
        links.model_version,
        now() as _built_at
    from quarantined
    inner join links
        on links.source = quarantined.source
        and links.entity = quarantined.entity
        and links._batch_id = quarantined._batch_id
        and links._source_row = quarantined._source_row
        and links._loaded_at = quarantined._loaded_at
)

select * from final
