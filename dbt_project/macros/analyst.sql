{#- An analyst mart: a mart with its personal data masked by the dictionary (seed
    data_element_masking, generated from each element's personal-data class by
    include/ndc/dictionary/masking.py). A column named as an element is kept, replaced by its
    keyed pseudonym (<column>_pseudonym, ops.pseudonym: HMAC-SHA256 with the warehouse's key,
    the same in every table), reduced to its year (<column>_year) or removed; a column that is
    no element is removed. A mart of versions (`attribute_column`, `value_column`: one row per
    attribute) masks each row's value by its attribute's element and keeps only the rows of
    attributes an analyst may see. `extra`: derived columns the model adds on purpose (no
    personal value). README.md, "Protection". -#}
{% macro analyst_mart(mart, attribute_column=none, value_column=none, extra=[]) -%}
{%- set relation = ref(mart) %}
{%- set masking_seed = ref('data_element_masking') %}
{%- if not execute %}
select 1 as parsed
{%- else %}
{%- set masking = {} %}
{%- for row in run_query('select element, masking from ' ~ masking_seed) %}
{%- do masking.update({row[0]: row[1]}) %}
{%- endfor %}
{%- set selected = [] %}
{%- for column in adapter.get_columns_in_relation(relation) %}
{%- set name = column.name %}
{%- set rule = masking.get(name, 'drop') %}
{%- if name == attribute_column %}
{%- do selected.append(name) %}
{%- elif name == value_column %}
{%- set cases = [] %}
{%- for element, element_rule in masking.items() if element_rule != 'drop' %}
{%- do cases.append("when '" ~ element ~ "' then " ~ masked_text(name, element_rule)) %}
{%- endfor %}
{%- do selected.append('case ' ~ attribute_column ~ ' ' ~ cases | join(' ') ~ ' end as ' ~ name) %}
{%- elif rule == 'keep' %}
{%- do selected.append(name) %}
{%- elif rule == 'pseudonym' %}
{%- do selected.append('ops.pseudonym(' ~ name ~ '::text) as ' ~ name ~ '_pseudonym') %}
{%- elif rule == 'year' %}
{%- do selected.append('extract(year from ' ~ name ~ ')::integer as ' ~ name ~ '_year') %}
{%- endif %}
{%- endfor %}
select
    {{ (selected + extra) | join(',\n    ') }}
from {{ relation }}
{%- if attribute_column %}
where {{ attribute_column }} in (
    {%- for element, element_rule in masking.items() if element_rule != 'drop' %}'{{ element }}'{{ ', ' if not loop.last }}{% endfor -%}
)
{%- endif %}
{%- endif %}
{%- endmacro %}

{#- A value held as text (ISO dates), masked by its element's rule. -#}
{% macro masked_text(column, rule) -%}
{%- if rule == 'pseudonym' -%} ops.pseudonym({{ column }})
{%- elif rule == 'year' -%} left({{ column }}, 4)
{%- else -%} {{ column }}
{%- endif -%}
{%- endmacro %}
