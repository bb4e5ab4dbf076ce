{#- Data tests check what each run writes (dbt_project/README.md, "Incremental staging", rule 7).

    dbt wraps the relation a generic test reads in get_where_subquery; this override adds, to
    the test's own `where` config:
      * for an incremental model: the rows its last build wrote (written_at_column equal to
        or after ops.model_state.built_at, which the model's post-hook records in the same
        transaction). A full build writes every row, so a full refresh tests the whole table;
      * for a raw source table: the rows of the batches not reconciled yet (the ledger's
        batches this run conforms), so a raw table's checks cost the new batches, not history.
    Tables rebuilt every run (seeds, the small marts) are tested whole. The conditions are SQL
    evaluated when the test runs, so the relation's identity is all that is rendered here. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append(where) -%}{%- endif -%}
    {%- set written = rows_of_this_run(relation) -%}
    {%- if written -%}{%- do conditions.append(written) -%}{%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ (conditions | join(' and ')) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The condition that a row of `relation` was written by this run (see above), or none. -#}
{% macro rows_of_this_run(relation) -%}
    {%- if not execute or relation is not mapping and relation.schema is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if relation.schema == 'raw' -%}
        {{ return("_batch_id in (" ~ unreconciled_batches() ~ ")") }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model'
        and node.config.materialized == 'incremental'
        and node.schema == relation.schema
        and (node.alias or node.name) == relation.identifier -%}
        {{ return(written_at_column(relation) ~ " >= (select built_at from ops.model_state where model = '" ~ relation.identifier ~ "')") }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- Ledger batches not reconciled at their loaded version: what this run conforms. -#}
{% macro unreconciled_batches() -%}
    select ledger.batch_id
    from ops.load_ledger as ledger
    left join ops.reconciliation as checked on checked.batch_id = ledger.batch_id
    where checked.batch_id is null
        or checked.loaded_at is distinct from ledger.loaded_at
        or not checked.balanced
{%- endmacro %}
