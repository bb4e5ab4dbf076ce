{{ config(
    incremental_strategy='ndc_replace_keys',
    unique_key='personal_id',
    touched_key=['personal_id'],
    pre_hook="{{ touched_keys(population_changed_ids()) }}",
    post_hook=["{{ staging_indexes(['personal_id', 'cmnd', 'full_name_key, date_of_birth'], batch_rows=false) }}"],
) }}

-- The population database's citizens (snapshot), with the name matching key: what staging
-- resolves CMND numbers and restores name marks against, and what the per-agency discrepancy
-- marts compare each agency's records with. Incremental: a run rebuilds the citizens the
-- snapshot's change log holds since this model's last build (ndc.population logs every
-- citizen it adds, changes or removes), not the whole population.
{%- set touched = touched_table() %}

with

source as (
    select * from {{ source('raw', 'population__citizen') }}
    {%- if touched %}
    where personal_id in (select personal_id from {{ touched }})
    {%- endif %}
),

final as (
    select
        personal_id,
        full_name,
        {{ name_match_key('full_name') }} as full_name_key,
        date_of_birth,
        sex_code,
        date_of_death,
        {{ conform_text('cmnd') }} as cmnd,
        ethnicity_code,
        province_code,
        commune_code,
        household_id,
        _snapshot_at,
        -- When this row was written.
        now() as _conformed_at
    from source
)

select * from final
