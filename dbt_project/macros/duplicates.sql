{#- Duplicates within a source entity. A staging model that can hold duplicates adds, after
    its `final` CTE, the CTEs that find them and four columns: duplicate_of_record_key,
    duplicate_rule ('exact' | 'near'), duplicate_of_batch_id and duplicate_of_source_row (the
    surviving row). A row is conformed when it is neither quarantined nor a duplicate. -#}

{#- True when a name as received carries Vietnamese marks (any non-ASCII character): the
    original of a record typed again without marks. False for an empty name. -#}
{% macro has_marks(column) -%}
    coalesce({{ column }} ~ '[^\x01-\x7f]', false)
{%- endmacro %}

{#- The staging models that collapse duplicates: (model, source, entity) of the registry
    entities with `duplicates: true` (macros/registry.sql). -#}
{% macro duplicate_entities() -%}
    {%- set entities = [] -%}
    {%- for e in registry_entities() if e.duplicates -%}
        {%- do entities.append((e.model, e.source, e.entity)) -%}
    {%- endfor -%}
    {{ return(entities) }}
{%- endmacro %}

{#- The merged rows of one staging model, for quarantine.merged_duplicates: like
    rejected_rows, with the surviving record. -#}
{% macro merged_rows(relation, source_name, entity) -%}
    select
        '{{ source_name }}'::text as source,
        '{{ entity }}'::text as entity,
        _batch_id,
        _source_row,
        record_key,
        duplicate_of_record_key as surviving_record_key,
        duplicate_of_batch_id as surviving_batch_id,
        duplicate_of_source_row as surviving_source_row,
        duplicate_rule as match_rule
    from ({{ rows_to_derive(relation, source_name, entity, 'staged') }}) as staged
    where duplicate_of_record_key is not null
{%- endmacro %}

{#- Every duplicate rule of a staging model, as CTEs after its `final` CTE: the pool of rows
    (duplicate_pool), `exact_copies` (equal source hashes: the first copy by batch and row
    survives), `near_matches` (equal `_near_key`, among the exact survivors: the first by
    `survivor_order`, a list of SQL sort terms, then batch, row and record key survives) and
    collapse_duplicates' CTEs; the model selects from `deduplicated`. -#}
{% macro deduplicate(source_name, entity, survivor_order) -%}
{{ duplicate_pool(source_name, entity) }}

exact_copies as (
    select
        pool.*,
        first_value(_batch_id) over copies as surviving_batch_id,
        first_value(_source_row) over copies as surviving_source_row
    from pool
    where quarantine_reason_code is null
    window copies as (
        partition by _source_hash
        order by _batch_id, _source_row
    )
),

near_matches as (
    select
        _batch_id,
        _source_row,
        record_key,
        first_value(record_key) over same_record as surviving_record_key,
        first_value(_batch_id) over same_record as surviving_batch_id,
        first_value(_source_row) over same_record as surviving_source_row
    from exact_copies
    where
        _batch_id = surviving_batch_id
        and _source_row = surviving_source_row
        and _near_key is not null
    window same_record as (
        partition by _near_key
        order by
            {{ (survivor_order + ['_batch_id', '_source_row', 'record_key']) | join(', ') }}
    )
),

{{ collapse_duplicates() }}
{%- endmacro %}

{#- The CTEs that turn a model's matches into its four duplicate columns (deduplicate's last
    step). The caller defines
    `pool` (its conformed rows, see duplicate_pool), `exact_copies` (every row with its exact copy's survivor:
    surviving_batch_id, surviving_source_row) and `near_matches` (rows with surviving_record_key,
    surviving_batch_id, surviving_source_row); this adds `near_duplicates`, `duplicates` and
    `deduplicated` (pool plus the four columns), for the model to select from. -#}
{% macro collapse_duplicates() -%}
near_duplicates as (
    select * from near_matches
    where record_key <> surviving_record_key
),

-- A second copy of a near duplicate goes to the near duplicate's survivor too.
duplicates as (
    select
        exact_copies._batch_id,
        exact_copies._source_row,
        coalesce(near_duplicates.surviving_record_key, exact_copies.record_key)
            as duplicate_of_record_key,
        'exact' as duplicate_rule,
        coalesce(near_duplicates.surviving_batch_id, exact_copies.surviving_batch_id)
            as surviving_batch_id,
        coalesce(near_duplicates.surviving_source_row, exact_copies.surviving_source_row)
            as surviving_source_row
    from exact_copies
    left join near_duplicates
        on near_duplicates._batch_id = exact_copies.surviving_batch_id
        and near_duplicates._source_row = exact_copies.surviving_source_row
    where
        (exact_copies._batch_id, exact_copies._source_row)
        <> (exact_copies.surviving_batch_id, exact_copies.surviving_source_row)
    union all
    select
        _batch_id,
        _source_row,
        surviving_record_key as duplicate_of_record_key,
        'near' as duplicate_rule,
        surviving_batch_id,
        surviving_source_row
    from near_duplicates
),

deduplicated as (
    select
        pool.*,
        duplicates.duplicate_of_record_key,
        duplicates.duplicate_rule,
        duplicates.surviving_batch_id as duplicate_of_batch_id,
        duplicates.surviving_source_row as duplicate_of_source_row
    from pool
    left join duplicates
        on duplicates._batch_id = pool._batch_id
        and duplicates._source_row = pool._source_row
)
{%- endmacro %}

{#- Every source column of a raw row as one hash: rows received identically hash equal (the
    exact-duplicate key, kept on the staging row so later batches can be compared with it).
    The load's columns are left out, and so is _extra (the values of columns the registry does
    not declare): a source starting to send a new column does not make its rows new. -#}
{% macro source_row_hash(alias='source') -%}
    md5((to_jsonb({{ alias }}) - array['_batch_id', '_source_row', '_loaded_at', '_extra'])::text)
{%- endmacro %}

{#- The near-duplicate key of a row: one hash of the columns a model's near rule partitions
    on (nulls compare equal, as in a window partition); null for a row that cannot be
    matched (no personal ID or no record key). -#}
{% macro near_key(columns) -%}
    case
        when personal_id is not null and record_key is not null
            then md5(row({{ columns | join(', ') }})::text)
    end
{%- endmacro %}

{#- The CTE `pool`: the rows whose duplicate columns this build computes. A full build: every
    conformed row (`final`). An incremental run: the newly conformed rows plus the rows already
    in the table that share an exact or near key with them or with the earlier version of a
    row being replaced (their survivor may change), so the rules see every row of every group
    the new batches touch. -#}
{% macro duplicate_pool(source_name, entity) -%}
{%- if ndc_incremental() %}
{%- set duplicate_columns = ['duplicate_of_record_key', 'duplicate_rule', 'duplicate_of_batch_id', 'duplicate_of_source_row'] %}
{%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | reject('in', duplicate_columns) | list %}
replaced as (
    select _source_hash, _near_key from {{ this }}
    where _batch_id in ({{ pending_batches(source_name, entity) }})
    union all
    select conformed._source_hash, conformed._near_key
    from {{ this }} as conformed
    inner join final
        on final._batch_id = conformed._batch_id
        and final._source_row = conformed._source_row
),

affected_hashes as (
    select _source_hash from final
    union
    select _source_hash from replaced
),

affected_near_keys as (
    select _near_key from final where _near_key is not null
    union
    select _near_key from replaced where _near_key is not null
),

mates as (
    select {{ columns | join(', ') }}
    from {{ this }}
    where _source_hash in (select _source_hash from affected_hashes)
    union
    select {{ columns | join(', ') }}
    from {{ this }}
    where _near_key in (select _near_key from affected_near_keys)
),

pool as (
    select * from final
    union all
    select * from mates
    where
        _batch_id not in ({{ pending_batches(source_name, entity) }})
        and not exists (
            select 1 from final
            where final._batch_id = mates._batch_id and final._source_row = mates._source_row
        )
),
{%- else %}
pool as (
    select * from final
),
{%- endif %}
{%- endmacro %}
