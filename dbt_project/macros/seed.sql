{#- Seeds, loaded only when they changed. dbt's own seed materialization truncates and
    inserts every seed on every build (20 s a run for the administrative-unit tables, whatever
    the day brought); this one is dbt's, but skips a seed whose table already holds the file
    with the same checksum (kept as the table's comment). `--full-refresh` reloads every seed.
    A changed seed is reloaded, and ndc.transform_state rebuilds the incremental models that
    read it in full. -#}
{% materialization seed, default %}

  {%- set identifier = model['alias'] -%}
  {%- set full_refresh_mode = (should_full_refresh()) -%}

  {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=identifier) -%}

  {%- set exists_as_table = (old_relation is not none and old_relation.is_table) -%}
  {%- set exists_as_view = (old_relation is not none and old_relation.is_view) -%}

  {%- set grant_config = config.get('grants') -%}
  {%- set checksum = 'ndc seed ' ~ model['checksum']['name'] ~ ' ' ~ model['checksum']['checksum'] -%}
  {%- if exists_as_table and not full_refresh_mode -%}
    {%- set stored = run_query("select obj_description(" ~ dbt.string_literal(old_relation.render()) ~ "::regclass, 'pg_class')").columns[0].values()[0] -%}
    {%- if stored == checksum -%}
      {%- do store_result('agate_table', response='OK', agate_table=run_query('select 1 as unchanged where false')) -%}
      {% call noop_statement('main', 'UNCHANGED 0', 'UNCHANGED', 0) %}
        select 1
      {% endcall %}
      {{ return({'relations': [old_relation]}) }}
    {%- endif -%}
  {%- endif -%}

  {%- set agate_table = load_agate_table() -%}
  -- grab current tables grants config for comparison later on

  {%- do store_result('agate_table', response='OK', agate_table=agate_table) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  -- build model
  {% set create_table_sql = "" %}
  {% if exists_as_view %}
    {{ exceptions.raise_compiler_error("Cannot seed to '{}', it is a view".format(old_relation.render())) }}
  {% elif exists_as_table %}
    {% set create_table_sql = reset_csv_table(model, full_refresh_mode, old_relation, agate_table) %}
  {% else %}
    {% set create_table_sql = create_csv_table(model, agate_table) %}
  {% endif %}

  {% set code = 'CREATE' if full_refresh_mode else 'INSERT' %}
  {% set rows_affected = (agate_table.rows | length) %}
  {% set sql = "" %}
  {% if rows_affected > 0 %}
    {% set sql = load_csv_rows(model, agate_table) %}
  {% endif %}

  {% call noop_statement('main', code ~ ' ' ~ rows_affected, code, rows_affected) %}
    {{ get_csv_sql(create_table_sql, sql) }};
  {% endcall %}

  {% set target_relation = this.incorporate(type='table') %}

  {% set should_revoke = should_revoke(old_relation, full_refresh_mode) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}

  {% do persist_docs(target_relation, model) %}

  {% if full_refresh_mode or not exists_as_table %}
    {% do create_indexes(target_relation) %}
  {% endif %}

  {% call statement('ndc_seed_checksum') %}
    comment on table {{ target_relation }} is {{ dbt.string_literal(checksum) }}
  {% endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}

  -- `COMMIT` happens here
  {{ adapter.commit() }}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}
