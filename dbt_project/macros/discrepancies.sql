{#- Discrepancies: conformed records that disagree with the population database (or, for the
    personal ID, with themselves), listed per source agency with both values so the agency
    can fix them at source. Used by models/intermediate/discrepancies and
    models/marts/discrepancies. -#}

{#- The conformed rows of a staging model, latest version of each record only: extraction is
    incremental, so a record reappears in every batch where it changed, and only what the
    agency holds now is worth reporting. A quarantined version is skipped (the last conforming
    one counts), and so is a row the dedup rule collapsed into another (duplicate_of_record_key
    set, in the models has_duplicate_columns names). -#}
{% macro conformed_latest(relation, only=none) -%}
    {%- set record_version = "record.record_key, case when record.record_key is null then record._batch_id || '#' || record._source_row end" -%}
    {#- distinct on, not row_number() = 1: the planner estimates distinct on from the key's
        statistics, but a filter on a window's output as a fraction of a percent of the rows,
        which planned the joins that follow as nested loops over 10^5 rows. `only`: a further
        condition on `record` (the records an incremental run recomputes). -#}
    select distinct on ({{ record_version }}) record.*
    from {{ relation }} as record
    where record.quarantine_reason_code is null
        {%- if has_duplicate_columns(relation) %}
        and record.duplicate_of_record_key is null
        {%- endif %}
        {%- if only %}
        and {{ only }}
        {%- endif %}
    order by {{ record_version }}, record._loaded_at desc, record._batch_id desc, record._source_row desc
{%- endmacro %}

{#- On an incremental run of int_discrepancies_detected: the condition that a record (alias
    `record`) of the source entity is one the run recomputes; none on a full build. -#}
{% macro touched_records(source_name, entity) -%}
    {%- set touched = touched_table() -%}
    {%- if touched -%}
        {{ return(version_key('record') ~ " in (select version_key from " ~ touched ~ " where source = '" ~ source_name ~ "' and entity = '" ~ entity ~ "')") }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The staging models whose records are compared with the population database, with the
    kinds checked (each mapped to the source column the agency knows it by) and the columns
    holding the person: the registry entities with `discrepancies` (macros/registry.sql). -#}
{% macro person_discrepancy_models() -%}
    {%- set models = [] -%}
    {%- for e in registry_entities() if e.discrepancies -%}
        {%- do models.append({
            'model': e.model, 'source': e.source, 'entity': e.entity,
            'fields': e.discrepancies.fields,
            'personal_id': e.discrepancies.personal_id,
            'full_name': e.discrepancies.full_name,
        }) -%}
    {%- endfor -%}
    {{ return(models) }}
{%- endmacro %}

{#- The staging models whose administrative unit the discrepancy marts report when a split
    legacy ward leaves it without a 2025 commune: the registry entities with admin_unit columns
    (macros/registry.sql), each with its places (the source column, and the staging column
    keeping the code it gave: its code_column, by default the column's own name or, for a
    legacy address, its ward-code column), its 2025 commune's column, the column of the date
    that dates a row (the first `date` its admin_unit columns name), the reform's date and the
    column of the person it names (its personal_id), if any. -#}
{% macro admin_unit_models() -%}
    {%- set models = [] -%}
    {%- for e in registry_entities() if e.admin_units -%}
        {%- set places = [] -%}
        {%- set dates = [] -%}
        {%- set persons = [] -%}
        {%- for column in e.columns if column in e.conform -%}
            {%- set c = e.conform[column] -%}
            {%- if c.kind == 'admin_unit' -%}
                {%- set address = e.legacy_address if e.legacy_address and e.legacy_address.column == column else none -%}
                {%- do places.append({'field': column, 'code': c.code_column or (address.ward_code if address else column), 'to': c.to}) -%}
                {%- if c.date -%}{%- do dates.append(e.conform[c.date].to) -%}{%- endif -%}
            {%- elif c.kind == 'personal_id' -%}
                {%- do persons.append(c.to) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if e.discrepancies -%}{%- do persons.insert(0, e.discrepancies.personal_id) -%}{%- endif -%}
        {%- do models.append({
            'model': e.model, 'source': e.source, 'entity': e.entity, 'places': places,
            'commune_code_2025': places[0].to,
            'date': dates[0] if dates else none,
            'reform_date': e.admin_units.switch_date or '2025-07-01',
            'personal_id': persons[0] if persons else none,
        }) -%}
    {%- endfor -%}
    {{ return(models) }}
{%- endmacro %}

{#- The records of an admin_unit_models() entry dated on or after the reform (or in the 2025
    system) whose unit names a legacy ward that was split, so has no 2025 commune: the agency
    must say which. Records before the reform were right in their time and are not reported,
    even when their ward cannot be converted. `split_wards`: a relation of the split wards
    (legacy_ward_code) and their communes (new_commune_codes). In the columns of the
    discrepancy marts. -#}
{% macro admin_unit_ambiguities(m, split_wards) -%}
    select
        '{{ m.source }}'::text as source,
        '{{ m.entity }}'::text as entity,
        record.record_key,
        record._batch_id,
        record._source_row,
        record._loaded_at,
        {%- if m.personal_id %}
        record.{{ m.personal_id }} as personal_id,
        population.full_name,
        {%- else %}
        null::text as personal_id,
        null::text as full_name,
        {%- endif %}
        'admin_unit_ambiguous'::text as discrepancy,
        placed.field,
        placed.code as source_value,
        split_wards.new_commune_codes as reference_value,
        'admin_units_legacy_to_2025'::text as reference
    from ({{ conformed_latest(ref(m.model), only=touched_records(m.source, m.entity)) }}) as record
    cross join lateral (
        select
            case
                {%- for p in m.places %}
                when record.{{ p.code }} is not null then '{{ p.field }}'
                {%- endfor %}
            end as field,
            coalesce({% for p in m.places %}record.{{ p.code }}{% if not loop.last %}, {% endif %}{% endfor %}) as code
    ) as placed
    inner join {{ split_wards }} as split_wards
        on split_wards.legacy_ward_code = placed.code
    {%- if m.personal_id %}
    left join {{ ref('stg_population__citizens') }} as population
        on population.personal_id = record.{{ m.personal_id }}
    {%- endif %}
    where record.{{ m.commune_code_2025 }} is null
        and (record.admin_code_system = '2025'
            {%- if m.date %} or record.{{ m.date }} >= date '{{ m.reform_date }}'{% endif %})
{%- endmacro %}

{#- The records (source, entity, version_key) an incremental run of int_discrepancies_detected
    recomputes: every record with a row written or removed upstream since its last build, every
    record of a person whose citizen changed (the values compared, the name shown), every open
    membership or contribution period of a person whose registered death changed, and every
    contribution period whose insured person changed. -#}
{% macro discrepancy_touched_keys() -%}
    {%- set citizens = "select personal_id from (" ~ changed_keys(ref('stg_population__citizens'), ['changed.personal_id']) ~ ") as citizen" -%}
    {%- set deaths = "select personal_id from (" ~ changed_keys(ref('int_deaths_registered'), ['changed.personal_id']) ~ ") as death" -%}
    {%- set entities = [] -%}
    {%- for m in person_discrepancy_models() -%}
        {%- do entities.append((m.model, m.source, m.entity, m.get('personal_id', 'personal_id'), citizens)) -%}
    {%- endfor -%}
    {%- do entities.append(('stg_residence__household_members', 'residence', 'household_member', 'personal_id', citizens ~ ' union ' ~ deaths)) -%}
    {%- for m in admin_unit_models() -%}
        {%- do entities.append((m.model, m.source, m.entity, m.personal_id, citizens)) -%}
    {%- endfor -%}
    {%- for model, source_name, entity, person, persons in entities %}
    {{ changed_keys(ref(model), ["'" ~ source_name ~ "'::text as source", "'" ~ entity ~ "'::text as entity", version_key('changed') ~ ' as version_key']) }}
    union
    {%- if person %}
    select '{{ source_name }}'::text, '{{ entity }}'::text, {{ version_key('record') }}
    from {{ ref(model) }} as record
    where record.{{ person }} in ({{ persons }})
    union
    {%- endif %}
    {%- endfor %}
    {{ changed_keys(ref('stg_social_insurance__contribution_periods'), ["'social_insurance'::text as source", "'contribution_period'::text as entity", version_key('changed') ~ ' as version_key']) }}
    union
    select 'social_insurance'::text, 'contribution_period'::text, {{ version_key('record') }}
    from {{ ref('stg_social_insurance__contribution_periods') }} as record
    where record.social_insurance_code in (
        {{ changed_keys(ref('stg_social_insurance__insured_persons'), ['changed.social_insurance_code']) }}
        union
        -- an insured person's link (and so its personal ID) changed
        {{ changed_keys(ref('int_insured_persons_deduplicated'), ['changed.social_insurance_code']) }}
        union
        select insured.social_insurance_code
        from {{ ref('stg_social_insurance__insured_persons') }} as insured
        where insured.personal_id in ({{ citizens }} union {{ deaths }})
    )
{%- endmacro %}

{#- The staging models that carry the duplicate columns (macros/duplicates.sql). The model's
    name is the relation's last part ("db"."staging"."stg_x"), or, in a dbt unit test, the CTE
    that stands in for it (__dbt__cte__stg_x): compared whole, so one model's name inside
    another's does not match. -#}
{% macro has_duplicate_columns(relation) -%}
    {%- set name = (relation | string).split('.')[-1] | replace('"', '') | replace('__dbt__cte__', '') -%}
    {{ return(name in duplicate_entities() | map(attribute=0) | list) }}
{%- endmacro %}

{#- How names are compared with the population database's (dbt var
    ndc_discrepancy_name_match). 'name' (the default): the conformed names, which staging has
    repaired (legacy encodings, NFC, proper case, marks restored from the population database
    when the matching keys agree), so a wrong mark counts. 'key': the matching keys (no marks,
    Đ as D, upper case), for when names cannot be repaired: a legacy upper-case name without
    marks ("NGUYEN VAN AN") is then no discrepancy. -#}
{% macro discrepancy_name_differs(record_name, population_alias='population') -%}
    {%- set mode = var('ndc_discrepancy_name_match', 'name') -%}
    {%- if mode == 'key' -%}
        {{ name_match_key(record_name) }} <> {{ population_alias }}.full_name_key
    {%- elif mode == 'name' -%}
        {{ record_name }} <> {{ population_alias }}.full_name
    {%- else -%}
        {{ exceptions.raise_compiler_error("ndc_discrepancy_name_match must be 'key' or 'name', not '" ~ mode ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- One (discrepancy, field, source_value, reference_value, reference, is_discrepant) tuple of
    the kind, for a record aliased `record` joined to the population database as `population`. -#}
{% macro discrepancy_tuple(kind, field, full_name) -%}
    {%- if kind == 'date_of_birth' -%}
        ('date_of_birth', '{{ field }}',
            case when {{ discrepancy_year_only() }} then to_char(record.date_of_birth, 'YYYY')
                else to_char(record.date_of_birth, 'YYYY-MM-DD') end,
            to_char(population.date_of_birth, 'YYYY-MM-DD'),
            'population_db',
            {{ discrepancy_date_of_birth_differs() }})
    {%- elif kind == 'sex' -%}
        ('sex', '{{ field }}', record.sex_code, population.sex_code, 'population_db',
            {{ discrepancy_sex_differs() }})
    {%- elif kind == 'full_name' -%}
        ('full_name', '{{ field }}', record.{{ full_name }}, population.full_name, 'population_db',
            {{ discrepancy_name_differs('record.' ~ full_name) }})
    {%- elif kind == 'pid_sex_year' -%}
        {#- What the record says against what its personal ID encodes. Reported when the
            population database does not know the ID, or holds it with the record's own sex and
            birth year: when it holds the ID with what the ID encodes, the ID is right and the
            record's date of birth or sex is what is wrong (reported as such instead). -#}
        ('pid_sex_year', '{{ field }}',
            'sex ' || coalesce(record.sex_code, '?') || ', born ' || coalesce(extract(year from record.date_of_birth)::text, '?'),
            'sex ' || record.pid_sex_code || ', born ' || record.pid_birth_year::text,
            'personal_id',
            record.pid_sex_year_mismatch
            and (
                population.personal_id is null
                or not coalesce(
                    extract(year from record.date_of_birth) <> extract(year from population.date_of_birth)
                    or {{ discrepancy_sex_differs() }},
                    false
                )
            ))
    {%- else -%}
        {{ exceptions.raise_compiler_error("no discrepancy kind '" ~ kind ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- A year-only date of birth (date_of_birth_precision 'year', stored as YYYY-01-01) is
    compared on the year, a month-precision one ('00/05/1990', stored as the 1st) on the year
    and month. Read through to_jsonb(): not every staging model has the column. -#}
{% macro discrepancy_year_only() -%}
    to_jsonb(record) ->> 'date_of_birth_precision' = 'year'
{%- endmacro %}

{% macro discrepancy_month_only() -%}
    to_jsonb(record) ->> 'date_of_birth_precision' = 'month'
{%- endmacro %}

{% macro discrepancy_date_of_birth_differs() -%}
    case
        when {{ discrepancy_year_only() }}
            then extract(year from record.date_of_birth) <> extract(year from population.date_of_birth)
        when {{ discrepancy_month_only() }}
            then date_trunc('month', record.date_of_birth) <> date_trunc('month', population.date_of_birth)
        else record.date_of_birth <> population.date_of_birth
    end
{%- endmacro %}

{#- Sex '0' (unknown) on either side is no disagreement. -#}
{% macro discrepancy_sex_differs() -%}
    nullif(record.sex_code, '0') <> nullif(population.sex_code, '0')
{%- endmacro %}

{#- The person discrepancies of one staging model, in the columns of the discrepancy marts.
    `fields` maps each kind to check (date_of_birth, sex, full_name, pid_sex_year) to the
    source column the agency knows it by; `personal_id` and `full_name` name the model's
    columns for the person. -#}
{% macro person_discrepancies(relation, source, entity, fields, personal_id='personal_id', full_name='full_name') -%}
    {%- if 'pid_sex_year' in fields and 'date_of_birth' not in fields -%}
        {{ exceptions.raise_compiler_error("pid_sex_year needs the date_of_birth check (and the sex check where the source has a sex): it defers to them") }}
    {%- endif -%}
    select
        '{{ source }}'::text as source,
        '{{ entity }}'::text as entity,
        record.record_key,
        record._batch_id,
        record._source_row,
        record._loaded_at,
        record.{{ personal_id }} as personal_id,
        coalesce(population.full_name, record.{{ full_name }}) as full_name,
        found.discrepancy,
        found.field,
        found.source_value,
        found.reference_value,
        found.reference
    from ({{ conformed_latest(relation, only=touched_records(source, entity)) }}) as record
    left join {{ ref('stg_population__citizens') }} as population
        on population.personal_id = record.{{ personal_id }}
    cross join lateral (
        values
        {%- for kind, field in fields.items() %}
            {{ discrepancy_tuple(kind, field, full_name) }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as found (discrepancy, field, source_value, reference_value, reference, is_discrepant)
    where found.is_discrepant
{%- endmacro %}

{#- A per-agency discrepancy mart: that agency's rows of int_discrepancies_detected. -#}
{% macro discrepancy_mart(source) -%}
with

discrepancies as (
    select * from {{ ref('int_discrepancies_detected') }}
),

final as (
    select
        source,
        entity,
        record_key,
        _batch_id,
        _source_row,
        personal_id,
        discrepancy,
        field,
        source_value,
        reference_value,
        reference,
        full_name,
        _loaded_at as received_at
    from discrepancies
    where source = '{{ source }}'
)

select * from final
{%- endmacro %}

{#- The person a death record names: the population database's one citizen with the record's
    name key and date of birth (linked_personal_id), else its own personal ID when the row
    conforms or the population database holds that ID under the record's name. -#}
{% macro death_person_id(alias) -%}
    coalesce(
        {{ alias }}.linked_personal_id,
        case
            when {{ alias }}.quarantine_reason_code is null or {{ alias }}.personal_id_confirmed
                then {{ alias }}.personal_id
        end
    )
{%- endmacro %}

{#- The citizen a conformed death record counts for in int_citizens_unified: its link by name
    and date of birth, else its own personal ID unless that disagrees with the record's sex or
    birth year. -#}
{% macro unified_death_person_id(alias) -%}
    coalesce(
        {{ alias }}.linked_personal_id,
        case when not coalesce({{ alias }}.pid_sex_year_mismatch, false) then {{ alias }}.personal_id end
    )
{%- endmacro %}
