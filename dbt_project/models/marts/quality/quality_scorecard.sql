{{ config(materialized='view') }}

-- The six-property scorecard (include/dictionary/quality_measures.yaml): per source, entity,
-- day and measure, the value, its numerator and denominator, the target and whether it is
-- met. One row per day a source delivered, so the history is the table itself; and one row per
-- delivery period of each data product the platform shares (source `sharing`, the product as
-- the entity). A view over the small per-day counts (int_quality_counts, incremental), the load
-- ledger and the sharing log, never over a table a build swaps (dbt drops a swapped table's
-- dependent views): it is read live, so a delivery made after the transform counts at once.

with

counts as (
    select * from {{ ref('int_quality_counts') }}
),

batches as (
    select
        source,
        entity,
        {{ extraction_day() }} as extraction_day
    from {{ source('ops', 'load_ledger') }}
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

-- The shared property: the sharing registry's files products, each due once per period of
-- its frequency (a day, an ISO week, a month, a year; the period its delivery id names) from
-- its first delivery on. A period's delivery is on time when it was made within the period;
-- a period that has ended without one is a delivery missed, with no element delivered; an
-- open period not delivered yet is not due yet. A snapshot an operator asked for (`-full`)
-- is no scheduled delivery. A product never delivered has no row (its DAG is off).
products as (
    {%- set products = sharing_products() %}
    {%- if products %}
    select * from (
        values
        {%- for p in products %}
        ('{{ p.product }}', '{{ p.period }}', array[{% for e in p.elements %}'{{ e }}'{% if not loop.last %}, {% endif %}{% endfor %}]::text[])
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    ) as products (product, period, granted)
    {%- else %}
    select null::text as product, null::text as period, null::text[] as granted where false
    {%- endif %}
),

-- A period's first delivery (one per period, unless the product's frequency changed).
logged as (
    select distinct on (log.product, period_start)
        log.product,
        date_trunc(products.period, log.as_of at time zone 'UTC') as period_start,
        log.delivered_at,
        log.elements
    from {{ source('ops', 'sharing_log') }} as log
    join products
        on products.product = log.product
    where log.delivery_id not like '%-full'
    order by log.product, period_start, log.delivered_at
),

periods as (
    select
        products.product,
        products.granted,
        period_start,
        (period_start + ('1 ' || products.period)::interval) at time zone 'UTC' as due_at
    from products
    join (
        select product, min(period_start) as first_period from logged group by product
    ) as first_delivery
        on first_delivery.product = products.product
    cross join lateral generate_series(
        first_delivery.first_period,
        date_trunc(products.period, {{ scorecard_clock() }} at time zone 'UTC'),
        ('1 ' || products.period)::interval
    ) as period_start
),

shared as (
    select
        periods.product,
        periods.period_start::date as day,
        cardinality(periods.granted) as elements_granted,
        case
            when logged.product is null then 0
            -- logged before the elements were kept: not known
            when logged.elements is null then null
            else cardinality(array(
                select g from unnest(periods.granted) as g where g = any(logged.elements)
            ))
        end as elements_delivered,
        case when logged.delivered_at <= periods.due_at then 1 else 0 end as on_time
    from periods
    left join logged
        on logged.product = periods.product
        and logged.period_start = periods.period_start
    where logged.product is not null or periods.due_at <= {{ scorecard_clock() }}
),

-- Every row a measure is taken on: a source entity's delivery day, or a data product's
-- delivery period (source `sharing`, the product as the entity).
measured_days as (
    select
        days.*,
        false as sharing,
        null::bigint as elements_delivered,
        null::bigint as elements_granted,
        null::integer as on_time
    from days
    union all
    select
        'sharing'::text as source,
        shared.product as entity,
        shared.day as extraction_day,
        null::integer as days_since_previous,
        false as person_entity,
        null::integer as schedule_days,
        null::bigint as rows_loaded,
        null::bigint as rows_conformed,
        null::bigint as rows_missing_value,
        null::bigint as rows_code_unknown,
        null::bigint as records_disagreeing,
        null::bigint as personal_ids_found,
        true as sharing,
        shared.elements_delivered,
        shared.elements_granted,
        shared.on_time
    from shared
),

-- Each measure that applies to the row, with what it divides (in words:
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
            when 'elements_delivered' then days.elements_delivered
            when 'deliveries_on_time' then days.on_time
        end as numerator,
        case measures.measure
            when 'population_agreement' then days.rows_conformed
            when 'required_completeness' then days.rows_loaded
            when 'conformed_share' then days.rows_loaded
            when 'codes_mapped' then days.rows_loaded
            when 'personal_id_in_population' then days.rows_conformed
            when 'schedule_lag_days' then days.schedule_days
            when 'elements_delivered' then days.elements_granted
            when 'deliveries_on_time' then 1
        end as denominator
    from measured_days as days
    join measures
        on (measures.applies_to = 'all_entities' and not days.sharing)
        or (measures.applies_to = 'person_entities' and days.person_entity)
        or (measures.applies_to = 'sharing_products' and days.sharing)
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
