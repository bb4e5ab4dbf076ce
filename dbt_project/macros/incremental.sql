{#- Incremental staging (dbt_project/README.md, "Incremental staging").

    A staging model is an incremental table keyed by (_batch_id, _source_row). On an
    incremental run it conforms:
      * the raw rows of its *pending* batches: ledger batches (ops.load_ledger) of its source
        entity whose version the table does not hold, i.e. no staging row with that
        _batch_id and the ledger's loaded_at. Driven by the ledger, never by a time
        watermark: a load that commits late is pending until some run conforms it, and a
        batch loaded again (same id, new content, new loaded_at) is pending again;
      * the rows the population database's changes touch (models that read
        stg_population__citizens): rows whose personal ID, CMND or name key and date of birth
        match a citizen that changed since the model was last built
        (raw.population__citizen_change, written by ndc.population.snapshot_to_warehouse).
    The `ndc_replace` strategy deletes the stale version of every pending batch and the rows
    being rewritten, then inserts. A full build (first run, `--full-refresh`, or a changed
    model, macro or seed: ndc.transform_state drops the table) conforms every raw row. -#}

{#- The raw rows to conform: the model's `source` CTE body. `population_matches`: the model's
    lookups into the population (see population_touched_rows), for models that make any. -#}
{% macro pending_source(source_name, entity, population_matches=none) -%}
    {%- set raw = source('raw', source_name ~ '__' ~ entity) -%}
    {%- if ndc_incremental() %}
    select * from {{ raw }}
    where _batch_id in ({{ pending_batches(source_name, entity) }})
    {%- if population_matches %}
    union all
    select * from {{ raw }}
    where
        (_batch_id, _source_row) in ({{ population_touched_rows(population_matches) }})
        and _batch_id not in ({{ pending_batches(source_name, entity) }})
    {%- endif %}
    {%- else %}
    select * from {{ raw }}
    {%- endif %}
{%- endmacro %}

{#- is_incremental(), false in a dbt unit test (which has no relation `this`: the unit tests
    test the rules on their given rows, as a full build does). -#}
{% macro ndc_incremental() -%}
    {{ return(this is not none and is_incremental()) }}
{%- endmacro %}

{#- Ledger batches of a source entity whose loaded version this table does not hold. -#}
{% macro pending_batches(source_name, entity) -%}
    select ledger.batch_id
    from {{ source('ops', 'load_ledger') }} as ledger
    where
        ledger.source = '{{ source_name }}'
        and ledger.entity = '{{ entity }}'
        and not exists (
            select 1 from {{ this }} as conformed
            where conformed._batch_id = ledger.batch_id
            and conformed._loaded_at = ledger.loaded_at
        )
{%- endmacro %}

{#- The population snapshot's changes since this model was last built that staging can see:
    one row per old and per new version of every citizen whose personal ID, name, CMND or date
    of birth (what the staging models look up) changed or who is new. A change of other
    values (a death recorded, a filled ethnicity or address, updated_at) changes no staging
    row, so it touches none. -#}
{% macro population_changes() -%}
    {%- set changes = source('raw', 'population__citizen_change') -%}
    select
        change.personal_id,
        nullif(trim(change.cmnd), '') as cmnd,
        {{ name_match_key('change.full_name') }} as full_name_key,
        change.date_of_birth
    from {{ changes }} as change
    where (change.seq, change.personal_id) in (
        -- A citizen new or removed in a snapshot (one image), or whose looked-up values differ
        -- between its old and new image.
        select recent.seq, recent.personal_id
        from {{ changes }} as recent
        where recent.seq > coalesce(
            (select population_seq from ops.model_state where model = '{{ this.identifier }}'), 0
        )
        group by recent.seq, recent.personal_id
        having count(*) = 1
            or count(distinct (recent.full_name, recent.cmnd, recent.date_of_birth)) > 1
    )
{%- endmacro %}

{#- The rows of {{ this }} that changed citizens touch. `matches` lists, per lookup the model
    makes into the population, the model's columns and the change's: e.g.
    [('personal_id', 'personal_id'), ('mother_personal_id', 'personal_id'),
     ('full_name_key, date_of_birth', 'full_name_key, date_of_birth')].
    A third element, when given, is a condition on the row: the lookup can change only rows
    that meet it (name_lacks_marks: a lookup that only restores a name's marks).
    One semi-join per lookup (each can use an index), never an OR across them. -#}
{% macro population_touched_rows(matches) -%}
    {%- for match in matches %}
    select _batch_id, _source_row from {{ this }}
    where ({{ match[0] }}) in (select {{ match[1] }} from ({{ population_changes() }}) as change)
    {%- if match | length > 2 %}
        and {{ match[2] }}
    {%- endif %}
    {%- if not loop.last %}
    union{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- For population_matches: the rows a lookup can change only through a name's marks (a name
    that repairs to one with marks never takes the citizen's: restore_name_marks). A day's new
    citizens are mostly the births the sync just inserted, whose own rows then conform to the
    same result; this keeps them out of the re-conforming. -#}
{% macro name_lacks_marks(raw_name) -%}
    {{ repair_name(raw_name) }} !~ '[^\x01-\x7F]'
{%- endmacro %}

{#- The personal IDs of the population snapshot's change log since this model's last build. -#}
{% macro population_changed_ids() -%}
    select distinct personal_id from {{ source('raw', 'population__citizen_change') }}
    where seq > coalesce(
        (select population_seq from ops.model_state where model = '{{ this.identifier }}'), 0
    )
{%- endmacro %}

{#- Post-hook of every model: when it was built and the population snapshot it read. The
    transform runs one at a time (max_active_runs=1) and takes its snapshot before dbt starts,
    so the latest snapshot is the one the model read. -#}
{% macro record_model_state() -%}
    insert into ops.model_state (model, population_seq, built_at)
    values (
        '{{ this.identifier }}',
        (select coalesce(max(seq), 0) from ops.population_snapshot),
        now()
    )
    on conflict (model) do update set
        population_seq = excluded.population_seq, built_at = excluded.built_at
{%- endmacro %}

{#- on-run-start: the state tables the incremental models read. The population tables are
    the population snapshot DDL of include/ndc/warehouse.py, repeated here (same columns, so
    whichever runs first creates the same table) for a dbt build on a warehouse the Python
    side has not bootstrapped yet. -#}
{% macro create_incremental_state() -%}
    create schema if not exists ops;
    create schema if not exists raw;
    create table if not exists ops.model_state (
        model text primary key,
        population_seq bigint not null,
        built_at timestamptz not null
    );
    create table if not exists ops.population_snapshot (
        seq bigserial primary key,
        taken_at timestamptz not null default now(),
        watermark timestamptz,
        citizens_copied bigint,
        citizens_changed bigint
    );
    create table if not exists raw.population__citizen_change (
        seq bigint not null,
        personal_id text,
        full_name text,
        date_of_birth date,
        sex_code text,
        date_of_death date,
        cmnd text,
        ethnicity_code text,
        province_code text,
        commune_code text,
        household_id text,
        _image text not null check (_image in ('old', 'new'))
    );
    create index if not exists population__citizen_change__seq_person_idx
        on raw.population__citizen_change (seq, personal_id);
    drop index if exists raw.population__citizen_change__seq_idx;
    alter table raw.population__citizen_change drop column if exists updated_at;
    -- The rows incremental models removed or rewrote (macros ndc_replace, ndc_replace_keys),
    -- for the models downstream to find the keys those rows held (changed_keys).
    create table if not exists ops.retired_rows (
        model text not null,
        retired_at timestamptz not null default now(),
        row jsonb not null
    );
    create index if not exists retired_rows__model_idx on ops.retired_rows (model, retired_at)
{%- endmacro %}

{#- Indexes a staging table needs for incremental runs: its key (batch lookups, the
    strategy's deletes; `batch_rows` false for the population models, keyed by citizen), when
    its rows were written (changed_keys), its records' versions (`record_versions`, for the
    discrepancies) and the columns population changes and the discrepancies match on. -#}
{% macro staging_indexes(columns=[], batch_rows=true, record_versions=false) -%}
    {%- if batch_rows %}
    create index if not exists {{ this.identifier }}__batch on {{ this }} (_batch_id, _source_row);
    {%- endif %}
    {%- if record_versions %}
    {#- A record's versions, as int_discrepancies_detected looks up the records it recomputes. #}
    create index if not exists {{ this.identifier[:45] }}__version on {{ this }} (({{ version_key() }}));
    {%- endif %}
    create index if not exists {{ this.identifier }}__conformed_at on {{ this }} (_conformed_at);
    {%- for column in columns %}
    {#- Named by the columns (a hash), so a changed list never leaves an index of the same
        name on other columns in place. #}
    create index if not exists {{ this.identifier[:45] }}__{{ local_md5(column)[:10] }} on {{ this }} ({{ column }});
    {%- endfor %}
{%- endmacro %}

{#- Incremental strategy `ndc_replace`: remove every row of a stale batch version (the batch
    was loaded again: its rows carry another loaded_at than the ledger's) among the batches
    being conformed, remove the rows being rewritten, insert the new rows. -#}
{% macro get_incremental_ndc_replace_sql(arg_dict) -%}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set temp = arg_dict["temp_relation"] -%}
    {%- set columns = arg_dict["dest_columns"] | map(attribute="quoted") | join(", ") -%}
    with retired as (
        delete from {{ target }} as conformed
        using {{ source('ops', 'load_ledger') }} as ledger
        where
            conformed._batch_id in (select distinct _batch_id from {{ temp }})
            and ledger.batch_id = conformed._batch_id
            and conformed._loaded_at <> ledger.loaded_at
        returning conformed.*
    )
    {{ log_retired('retired') }};
    {#- A row conformed again with the same result stays as it is (with its _conformed_at):
        only what changed is written, and logged for the models downstream. #}
    with retired as (
        delete from {{ target }} as conformed
        using {{ temp }} as rewritten
        where
            conformed._batch_id = rewritten._batch_id
            and conformed._source_row = rewritten._source_row
            and {{ content_of('conformed', arg_dict["dest_columns"]) }}
                is distinct from {{ content_of('rewritten', arg_dict["dest_columns"]) }}
        returning conformed.*
    )
    {{ log_retired('retired') }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }} as rewritten
    where not exists (
        select 1 from {{ target }} as conformed
        where conformed._batch_id = rewritten._batch_id and conformed._source_row = rewritten._source_row
    )
{%- endmacro %}

{#- A row's content: every column but when it was written. -#}
{% macro content_of(alias, columns) -%}
    row(
        {%- for column in columns if column.name not in ('_conformed_at', '_built_at') -%}
        {{ alias }}.{{ column.quoted }}{% if not loop.last %}, {% endif %}
        {%- endfor -%}
    )
{%- endmacro %}

{#- Keeps the rows a strategy deleted (CTE `cte`) in ops.retired_rows: the models downstream
    find in them the keys those rows held (changed_keys). -#}
{% macro log_retired(cte) -%}
    insert into ops.retired_rows (model, row)
    select '{{ this.identifier }}', to_jsonb({{ cte }}) from {{ cte }}
{%- endmacro %}

{#- Incremental models downstream of staging (dbt_project/README.md, rule 5): each is keyed by
    what it aggregates or looks up (a personal ID, a record), and an incremental run rebuilds
    only the keys that the rows written or removed upstream since its own last build touch.

    A model declares its key (`touched_key`: SQL expressions over its own columns) and the
    query of the touched keys (built from changed_keys over the relations it reads) through
    touched_keys(); it selects only the rows of those keys. The `ndc_replace_keys` strategy
    deletes every row of a touched key (logging it to ops.retired_rows for the models further
    down) and inserts the rebuilt rows: a key whose rows all went away is deleted too. -#}

{#- When this model was last built (its transaction's start: the post-hook record_model_state
    runs in it), or null. -#}
{% macro last_built() -%}
    (select built_at from ops.model_state where model = '{{ this.identifier }}')
{%- endmacro %}

{#- The column of a model's rows that says when the row was written: staging rows carry
    _conformed_at, the models downstream _built_at. -#}
{% macro written_at_column(relation) -%}
    {{ return('_conformed_at' if relation.schema == 'staging' else '_built_at') }}
{%- endmacro %}

{#- The distinct values of `keys` (SQL expressions over the columns of `relation`, aliased
    `changed`) in the rows of `relation` written since this model was last built, and in the
    rows it removed or rewrote since then (their old values). -#}
{% macro changed_keys(relation, keys) -%}
    {%- set bare = relation.include(database=false) -%}
    select {{ keys | join(', ') }}
    from {{ relation }} as changed
    where changed.{{ written_at_column(relation) }} > {{ last_built() }}
    union
    select {{ keys | join(', ') }}
    from ops.retired_rows as retired
    cross join lateral jsonb_populate_record(null::{{ bare }}, retired.row) as changed
    where retired.model = '{{ relation.identifier }}' and retired.retired_at > {{ last_built() }}
{%- endmacro %}

{#- The touched keys of an incremental run, computed once into a temporary table that the
    model's query and the ndc_replace_keys strategy both read. A pre-hook (rendered when the
    model runs, in the model's session): `pre_hook="{{ touched_keys(<keys query>) }}"`, the
    query selecting the key columns in the order of the model's `touched_key` config. Nothing
    on a full build, which builds every key. -#}
{% macro touched_keys(keys_sql) -%}
    {%- if ndc_incremental() -%}
    drop table if exists {{ touched_table_name() }};
    create temporary table {{ touched_table_name() }} as {{ keys_sql }};
    analyze {{ touched_table_name() }}
    {%- endif -%}
{%- endmacro %}

{% macro touched_table_name() -%}
    {{ this.identifier }}__touched
{%- endmacro %}

{#- For the model's query: the touched keys' table on an incremental run, none on a full build. -#}
{% macro touched_table() -%}
    {{ return(touched_table_name() if ndc_incremental() else none) }}
{%- endmacro %}

{#- Incremental strategy `ndc_replace_keys`: delete (and log) every row of a touched key, then
    insert the rebuilt rows. -#}
{% macro get_incremental_ndc_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set temp = arg_dict["temp_relation"] -%}
    {%- set columns = arg_dict["dest_columns"] | map(attribute="quoted") | join(", ") -%}
    {%- set key = config.require('touched_key') -%}
    {#- Rows compared by a hash of their content (hashable, unlike a row comparison): a row
        rebuilt unchanged stays as it is, so only what changed is written and logged. A model
        never holds two rows of equal content (each is keyed). #}
    {%- set built_hash = "md5(" ~ content_of('built', arg_dict["dest_columns"]) ~ "::text)" -%}
    {%- set rebuilt_hash = "md5(" ~ content_of('rebuilt', arg_dict["dest_columns"]) ~ "::text)" -%}
    with retired as (
        delete from {{ target }} as built
        where ({{ key | join(', ') }}) in (
            select * from {{ touched_table_name() }}
        )
            and not exists (
                select 1 from {{ temp }} as rebuilt where {{ rebuilt_hash }} = {{ built_hash }}
            )
        returning built.*
    )
    {{ log_retired('retired') }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }} as rebuilt
    where not exists (
        select 1 from {{ target }} as built
        where ({{ key | join(', ') }}) in (select * from {{ touched_table_name() }})
            and {{ built_hash }} = {{ rebuilt_hash }}
    )
{%- endmacro %}


{#- The key of a record across its versions: the source's key column, or the batch row itself
    for a row without one (it cannot be matched to another version). -#}
{% macro version_key(alias=none, column='record_key') -%}
    {%- set p = alias ~ '.' if alias else '' -%}
    coalesce({{ p }}{{ column }}, {{ p }}_batch_id || '#' || {{ p }}_source_row::text)
{%- endmacro %}

{#- on-run-end: forget the retired rows every incremental model has read (each reads those
    retired after its own last build). -#}
{% macro prune_retired_rows() -%}
    {%- set models = [] -%}
    {%- for node in (graph.nodes.values() if execute else []) if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
        {%- do models.append(node.alias or node.name) -%}
    {%- endfor -%}
    {%- if models -%}
    delete from ops.retired_rows
    where retired_at < (
        select min(built_at) from ops.model_state
        where model in ('{{ models | join("', '") }}')
    )
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of every model: analyse the table when its planner statistics are missing or
    stale (never analysed, as after a full build, or more than a tenth of its rows written
    since the last analyse, this transaction's writes included). Without statistics the next
    model's joins are planned as if the table held one row; an incremental run's few new rows
    do not need a fresh sample of a table of millions (a whole-table analyse costs 0.2 to 0.6 s
    at 1,000,000 persons, for each of some thirty models). -#}
{% macro analyze_when_stale() -%}
    do $analyze$
    declare
        live float8;
        written float8;
        analysed boolean;
    begin
        select
            coalesce(stats.n_live_tup, 0),
            coalesce(stats.n_mod_since_analyze, 0)
                + coalesce(xact.n_tup_ins + xact.n_tup_upd + xact.n_tup_del, 0),
            coalesce(stats.last_analyze, stats.last_autoanalyze) is not null
        into live, written, analysed
        from (select '{{ this }}'::regclass as relid) as rel
        left join pg_stat_user_tables as stats using (relid)
        left join pg_stat_xact_user_tables as xact using (relid);
        if not coalesce(analysed, false) or written > 0.1 * greatest(live, 1) then
            analyze {{ this }};
        end if;
    end
    $analyze$
{%- endmacro %}
