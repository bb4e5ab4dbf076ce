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
