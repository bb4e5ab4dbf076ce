{#- The quality scorecard (models/intermediate/quality, models/marts/quality): measures per
    source, entity and extraction day, defined in include/dictionary/quality_measures.yaml. -#}

{#- The registry entities whose records are persons compared with the population database
    (`discrepancies:` in the registry): the ones the person measures apply to. -#}
{% macro person_entities() -%}
    {%- set entities = [] -%}
    {%- for e in registry_entities() if e.discrepancies -%}
        {%- do entities.append(e) -%}
    {%- endfor -%}
    {{ return(entities) }}
{%- endmacro %}

{#- The (source, entity, extraction_day) whose counts an incremental run of int_quality_counts
    recomputes: the days of the batches with staging, quarantine or discrepancy rows written or
    removed since its last build, and of the person records whose personal ID names a citizen
    the population database added, changed or removed since then (whether the ID is found can
    change without the record being conformed again). -#}
{% macro quality_touched_days() -%}
    select distinct batches.source, batches.entity, batches.extraction_day
    from (
        {%- for e in registry_entities() %}
        {{ changed_keys(ref(e.model), ['changed._batch_id']) }}
        union
        {%- endfor %}
        {{ changed_keys(ref('quarantined_rows'), ['changed._batch_id']) }}
        union
        {{ changed_keys(ref('int_discrepancies_detected'), ['changed._batch_id']) }}
        {%- for e in person_entities() %}
        union
        select person._batch_id from {{ ref(e.model) }} as person
        where person.{{ e.discrepancies.personal_id }} in (
            {{ changed_keys(ref('stg_population__citizens'), ['changed.personal_id']) }}
        )
        {%- endfor %}
    ) as touched (_batch_id)
    join {{ ref('stg_ops__load_batches') }} as batches
        on batches.batch_id = touched._batch_id
{%- endmacro %}

{#- A measure's share, rounded so that two builds print it alike; null without a denominator. -#}
{% macro quality_share(numerator, denominator) -%}
    trim_scale(round({{ numerator }}::numeric / nullif({{ denominator }}, 0), 6))
{%- endmacro %}

{#- The day of the data a batch holds: its data interval (ops.load_ledger.extracted_at, an ISO
    date), not when it was loaded, so a day-by-day run and a rebuild date a batch alike; a
    batch landed without one (a manual load) is dated by its local load day. -#}
{% macro extraction_day(extracted_at='extracted_at', loaded_at='loaded_at') -%}
    coalesce(left({{ extracted_at }}, 10)::date, {{ local_load_date(loaded_at) }})
{%- endmacro %}

{#- The time the scorecard's shared measures are read at: a delivery period is due once it has
    ended (a macro, so a unit test can fix it). -#}
{% macro scorecard_clock() -%}
    now()
{%- endmacro %}
