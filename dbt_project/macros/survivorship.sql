{#- Survivorship for one attribute over unified records: the first non-null value by
    `survivorship_rank` (which source is preferred), then the most recent record. -#}
{% macro survivor(column) -%}
    (array_agg({{ column }} order by survivorship_rank, recorded_at desc nulls last, _batch_id desc, _source_row desc)
        filter (where {{ column }} is not null))[1]
{%- endmacro %}
