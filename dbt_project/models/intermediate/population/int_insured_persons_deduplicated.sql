{{ config(
    touched_key=[version_key(column='social_insurance_code')],
    pre_hook="{{ touched_keys(
        changed_keys(ref('stg_social_insurance__insured_persons'), [version_key('changed', 'social_insurance_code') ~ ' as version_key'])
        ~ ' union ' ~ cmnd_link_changed_keys()
    ) }}",
) }}

-- The latest conformed version of each insured person: extraction is incremental, so a
-- social insurance code reappears in every batch where the person changed. Incremental: a
-- run recomputes the codes of the insured-person rows conformed again or removed since its
-- last build, and of the rows whose CMND link changed.
--
-- A "CMND only" person whose old ID card number named no citizen, or several, is conformed
-- with a null personal ID; linkage (ndc.linkage.flow, reason CMND_UNRESOLVED) may link the
-- record to a citizen by name, date of birth and sex, automatically or by a clerk's review.
-- So may a row quarantined for its personal ID (missing, malformed, unknown province): linked,
-- it leaves quarantine (quarantine.linked_rows). Either link gives the person its personal ID
-- here (personal_id_origin 'linkage'), so its contribution periods reach the citizen.
{%- set touched = touched_table() %}

with

insured_persons as (
    -- Conformed rows only: a duplicate registration of a person (another code) is merged
    -- into its original (quarantine.merged_duplicates).
    -- A personal ID that disagrees with the person's own sex or birth year is reported to
    -- social insurance (marts.discrepancies_social_insurance), not made a citizen.
    -- Rows quarantined for their personal ID only while linked (the join below).
    select * from {{ ref('stg_social_insurance__insured_persons') }} as insured
    where (quarantine_reason_code is null or quarantine_reason_code in ({{ link_reason_codes() }}))
        and duplicate_of_record_key is null
        and not coalesce(pid_sex_year_mismatch, false)
        {%- if touched %}
        and {{ version_key('insured', 'social_insurance_code') }} in (select version_key from {{ touched }})
        {%- endif %}
),

-- The links in effect (auto-linked, or accepted in review), each for the row's version it
-- was made for.
links as (
    select _batch_id, _source_row, _loaded_at, personal_id
    from {{ source('ops', 'person_links') }}
    where linked and source = 'social_insurance' and entity = 'insured_person'
),

linked as (
    select
        insured_persons.*,
        links.personal_id as linked_personal_id
    from insured_persons
    left join links
        on (insured_persons.personal_id is null or insured_persons.quarantine_reason_code is not null)
        and links._batch_id = insured_persons._batch_id
        and links._source_row = insured_persons._source_row
        and links._loaded_at = insured_persons._loaded_at
    where insured_persons.quarantine_reason_code is null or links.personal_id is not null
),

ranked as (
    select
        *,
        row_number() over (
            -- A row without a code cannot be matched to another version: keep it on its own.
            partition by coalesce(social_insurance_code, _batch_id || '#' || _source_row)
            order by source_updated_at desc nulls last, _loaded_at desc, _batch_id desc, _source_row desc
        ) as version_rank
    from linked
),

final as (
    select
        _batch_id,
        _source_row,
        _loaded_at,
        record_key,
        -- A row quarantined for its ID: the linked citizen's, never the unusable value.
        case
            when quarantine_reason_code is not null then linked_personal_id
            else coalesce(personal_id, linked_personal_id)
        end as personal_id,
        case
            when quarantine_reason_code is null and personal_id is not null then personal_id_origin
            when linked_personal_id is not null then 'linkage'
        end as personal_id_origin,
        cmnd,
        full_name,
        full_name_raw,
        date_of_birth,
        sex_code,
        social_insurance_code,
        employer_code,
        employer_tax_code,
        source_updated_at,
        now() as _built_at
    from ranked
    where version_rank = 1
)

select * from final
