{#- Duplicates within a source entity. A staging model that can hold duplicates adds, after
    its `final` CTE, the CTEs that find them and four columns: duplicate_of_record_key,
    duplicate_rule ('exact' | 'near'), duplicate_of_batch_id and duplicate_of_source_row (the
    surviving row). A row is conformed when it is neither quarantined nor a duplicate. -#}

{#- True when a name as received carries Vietnamese marks (any non-ASCII character): the
    original of a record typed again without marks. False for an empty name. -#}
{% macro has_marks(column) -%}
    coalesce({{ column }} ~ '[^\x01-\x7f]', false)
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
    from {{ relation }}
    where duplicate_of_record_key is not null
{%- endmacro %}

{#- The CTEs that turn a model's matches into its four duplicate columns. The model defines
    `final` (its conformed rows), `exact_copies` (every row with its exact copy's survivor:
    surviving_batch_id, surviving_source_row) and `near_matches` (rows with surviving_record_key,
    surviving_batch_id, surviving_source_row); this adds `near_duplicates`, `duplicates` and
    `deduplicated` (final plus the four columns), for the model to select from. -#}
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
        final.*,
        duplicates.duplicate_of_record_key,
        duplicates.duplicate_rule,
        duplicates.surviving_batch_id as duplicate_of_batch_id,
        duplicates.surviving_source_row as duplicate_of_source_row
    from final
    left join duplicates
        on duplicates._batch_id = final._batch_id
        and duplicates._source_row = final._source_row
)
{%- endmacro %}
