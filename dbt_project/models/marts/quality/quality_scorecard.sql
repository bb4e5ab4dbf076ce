-- The six-property scorecard (include/dictionary/quality_measures.yaml): per source, entity,
-- extraction day and measure, the value, its numerator and denominator, the target and whether
-- it is met. One row per day a source delivered, so the history is the table itself. A table
-- rebuilt every run from the small per-day counts (int_quality_counts, incremental) and the
-- load ledger: nothing in it depends on when it was built.

with

counts as (
    select * from {{ ref('int_quality_counts') }}
),

batches as (
    select * from {{ ref('stg_ops__load_batches') }}
),

measures as (
    select * from {{ ref('quality_measures') }}
),

schedules as (
    select * from (
        values
        {%- for s in registry_sources() %}
        ('{{ s.source }}', {{ s.schedule_days if s.schedule_days is not none else 'null' }}::integer)
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    ) as schedules (source, schedule_days)
),

-- Every day an entity delivered, and the days since its previous delivery.
deliveries as (
    select
        source,
        entity,
        extraction_day,
        extraction_day - lag(extraction_day) over (
            partition by source, entity order by extraction_day
        ) as days_since_previous
    from (select distinct source, entity, extraction_day from batches) as days
),

days as (
    select
        deliveries.*,
        (deliveries.source, deliveries.entity) in (
            {%- for e in person_entities() %}
            ('{{ e.source }}', '{{ e.entity }}'){% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as person_entity,
        schedules.schedule_days,
        counts.rows_loaded,
        counts.rows_conformed,
        counts.rows_missing_value,
        counts.rows_code_unknown,
        counts.records_disagreeing,
        counts.personal_ids_found
    from deliveries
    left join schedules
        on schedules.source = deliveries.source
    left join counts
        on counts.source = deliveries.source
        and counts.entity = deliveries.entity
        and counts.extraction_day = deliveries.extraction_day
),

-- Each measure that applies to the day's entity, with what it divides (in words:
-- include/dictionary/quality_measures.yaml, formula). A measure the platform cannot measure
-- yet has neither.
figures as (
    select
        days.source,
        days.entity,
        days.extraction_day,
        measures.measure,
        measures.property,
        measures.unit,
        measures.target,
        measures.direction,
        measures.measured,
        case measures.measure
            when 'population_agreement' then days.rows_conformed - days.records_disagreeing
            when 'required_completeness' then days.rows_loaded - days.rows_missing_value
            when 'conformed_share' then days.rows_conformed
            when 'codes_mapped' then days.rows_loaded - days.rows_code_unknown
            when 'personal_id_in_population' then days.personal_ids_found
            when 'schedule_lag_days' then coalesce(days.days_since_previous, days.schedule_days)
        end as numerator,
        case measures.measure
            when 'population_agreement' then days.rows_conformed
            when 'required_completeness' then days.rows_loaded
            when 'conformed_share' then days.rows_loaded
            when 'codes_mapped' then days.rows_loaded
            when 'personal_id_in_population' then days.rows_conformed
            when 'schedule_lag_days' then days.schedule_days
        end as denominator
    from days
    join measures
        on measures.applies_to = 'all_entities'
        or (measures.applies_to = 'person_entities' and days.person_entity)
),

valued as (
    select
        figures.*,
        case
            when not figures.measured then null
            when figures.unit = 'days' then greatest(figures.numerator - figures.denominator, 0)
            else {{ quality_share('figures.numerator', 'figures.denominator') }}
        end as value
    from figures
),

final as (
    select
        source,
        entity,
        extraction_day as day,
        property,
        measure,
        value,
        target,
        direction,
        case
            when value is null then null
            when direction = 'at_least' then value >= target
            else value <= target
        end as met,
        case when measured then numerator end as numerator,
        case when measured then denominator end as denominator,
        case
            when not measured or (unit = 'days' and denominator is null) then 'not_measured'
            when value is null then 'no_data'
            else 'measured'
        end as status
    from valued
)

select * from final
