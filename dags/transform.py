"""
### transform: conform raw data to the shared dictionary, quarantine, unify, build marts

Runs when any source's raw tables change (the `raw__<source>` Assets from `ingest_<source>`)
and when `sync_population` changed the population database (the `population__citizen` Asset:
the rows that look those citizens up are conformed again, and the warehouse settles on what the
sync wrote). **prepare_warehouse** first waits while `ingest_<source>` or `sync_population`
runs are queued or running (at most `NDC_TRANSFORM_WAVE_WAIT_S`, 600 s by default), so the
loads of one wave are conformed by one run and a settling run sees the sync's changes; a run
their Asset events queue meanwhile finds nothing left and is skipped. It then
creates missing raw tables, drops the incremental models whose code or
reference data changed (dbt then builds them in full: `dbt_project/README.md`) and copies the
population database's changed citizens into `raw.population__citizen` (CMND resolution, name
marks and the per-agency discrepancy marts read it), logging each change for the staging
models to re-conform the rows it touches.
Cosmos renders the dbt project (`dbt_project/`) from its prebuilt `manifest.json`: seeds from
the dictionary, incremental staging tables per source (each conforms only the batches it
does not hold yet; names repaired, dates to ISO, codes mapped), the
quarantine tables (every rejected row with a reason code; every duplicate merged into another
row), citizens unified on the personal ID number and the `marts.citizens` mart, each with its
dbt tests. It runs in Cosmos's watcher mode: **dbt.dbt_producer_watcher** runs one `dbt build`
of the whole project in-process (dbt unit tests excluded: `make test` runs them; each data
test right after its model, on the rows the run wrote), and every model has a watcher task
that turns green or red as dbt finishes it, with that node's dbt log; seeds show as
placeholders (the build reloads a seed only when its file changed); the full build log is the
producer's. A failed data test fails the producer (its log names the test and the failing rows'
count) and the watchers of every model built on the tested one. Trigger with
`{"full_refresh": true}` (`ndc transform --full-refresh`) to rebuild every incremental model
from scratch.

With nothing to do (every loaded batch conformed and balanced, no population change, no
change of the dbt project since the last transform) **prepare_warehouse** is skipped and so is
the rest of the run: a second run queued by a raw Asset whose batches the first run already
conformed costs seconds.

**reconcile** records the models' fingerprints and checks the batches of this run:
extracted = landed = loaded = conformed + quarantined + linked + merged, stores the outcome in
`ops.reconciliation` and fails naming each batch that does not balance. Only a balanced run
updates the `marts__citizens` Asset, which triggers `sync_population`, and the
`marts__shared_citizens` Asset, which triggers the `share_<product>` deliveries.

**link_records** then links the rows quarantined for a missing, malformed or unknown-province
personal ID to the population (Splink, `ndc.linkage.flow`): auto-links are written to
`ops.person_links` and update the `ops__person_links` Asset, so the next transform takes those
rows out of quarantine (`quarantine.linked_rows`); review-band links wait in `ops.link_review`
for `ndc review`. Skipped when it linked nothing new.

**Owner:** ndc data engineering. **When it fails:** the failed watcher names the model (its
log and the producer's hold dbt's error; a failed data test is in the producer's log); a
reconciliation failure names the batch. Nothing downstream runs until it is fixed; clear the
failed watcher to retry: it runs `dbt run` for that model alone (clearing the producer does not
re-run the build), or trigger the transform again: its build conforms what is still pending.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException
from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    ExecutionMode,
    InvocationMode,
    LoadMode,
    SeedRenderingBehavior,
    TestBehavior,
)

from ndc import settings
from ndc.assets import PERSON_LINKS, TRANSFORM_MARTS, transform_assets
from ndc.cosmos_watcher import rebuild_on_retry, trim_node_event_pushes
from ndc.dag_defaults import DEFAULT_ARGS, START_DATE, WATCHER_POOL
from ndc.dbt_profile import connection_env_template, profile_config
from ndc.registry import load_registry
from ndc.settings import DBT_PROJECT_DIR, POPULATION_CONN_ID, WAREHOUSE_CONN_ID

_SETTINGS = settings.load()
DBT_THREADS = _SETTINGS.dbt_threads
WAVE_WAIT_S = _SETTINGS.wave_wait_s
# The producer pushes a node's dbt event to its watcher once, when it ends (ndc.cosmos_watcher).
trim_node_event_pushes()
# A retry of the producer builds again (Cosmos skips it and leaves each watcher to run its own
# model, which cannot load the seeds: ndc.cosmos_watcher.rebuild_on_retry).
rebuild_on_retry()
# Watchers poke in a worker slot (a sensor in "poke" mode: one process per watcher, an XCom read
# every few seconds), not deferred to the triggerer. Deferred, each watcher cost two task
# processes (defer, then resume), and on Airflow 3.3 a trigger that fires at once races the
# scheduler's drain of the deferring process's exit: the resumed watcher is failed as "changed
# externally" and its retry re-runs the model outside the build (apache/airflow#72716, open).
# Measured on a 300-person country, full refresh, side by side: deferred with Cosmos's defaults
# 110-121 s; poking, with Cosmos's per-push Variable backup off (ndc.airflow_runtime), 78 s.
# The slots (AIRFLOW__CORE__PARALLELISM, ndc.airflow_runtime) are sized for this: the producer
# has Cosmos's top priority weight, so it always starts first. Each poke is a call to the
# api-server; every 5 s (not 2) a model's watcher notices its end a little later and the
# api-server serves the producer's XCom pushes with less competition.
WATCHER_POKE_INTERVAL_S = 5


@dag(
    schedule=transform_assets(load_registry()),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["transform", "dbt"],
    doc_md=__doc__,
    params={
        "full_refresh": Param(
            False,
            type="boolean",
            description="dbt build --full-refresh: rebuild every incremental model in full.",
        )
    },
)
def transform():
    @task
    def prepare_warehouse(params: dict | None = None) -> dict:
        """Wait for the ingest and sync runs still in flight (one transform for a wave of loads,
        or for the population changes of a sync), create
        the raw tables of every registry entity (so staging models always build), drop the
        incremental models whose code or reference data changed (so dbt builds them in full)
        and bring the population snapshot up to date (the changed citizens only). With nothing
        to do (every batch conformed, no population change, no code change), skip the rest of
        the run."""
        from ndc.connections import postgres_url
        from ndc.transform import prepare, wait_for_runs_in_flight

        wait_for_runs_in_flight(
            get_current_context()["ti"],
            [f"ingest_{name}" for name in load_registry()] + ["sync_population"],
            WAVE_WAIT_S,
            log=print,
        )
        prepared = prepare(
            postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)),
            postgres_url(BaseHook.get_connection(POPULATION_CONN_ID)),
            load_registry(),
        )
        print(f"rebuilt in full: {prepared['dropped'] or 'none'}; snapshot {prepared['snapshot']}")
        if not prepared["work"] and not (params or {}).get("full_refresh"):
            raise AirflowSkipException(
                "nothing to do: every loaded batch is conformed and balanced, the population "
                "database has not changed and neither has the dbt project since the last "
                "transform (trigger with full_refresh to rebuild anyway)"
            )
        print(f"to do: {'; '.join(prepared['work']) or 'full refresh'}")
        return prepared

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            DBT_PROJECT_DIR, manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json"
        ),
        profile_config=profile_config(),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # A watcher per model; the data tests run inside the producer's build (each right
            # after its model, a failure skipping what depends on it) without a watcher task
            # of their own, and seeds show as placeholders (the build loads a seed only when its
            # file changed). Every watcher is an Airflow task process that starts, parses this
            # DAG and polls the api-server: a test watcher per model and a seed watcher doubled
            # the processes (74 to 29 a run) that an increment's small build waited behind.
            test_behavior=TestBehavior.NONE,
            seed_rendering_behavior=SeedRenderingBehavior.RENDER_ONLY,
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
            # The producer's `dbt build`; a watcher's retry (`dbt run --select` its model) reuses
            # these flags without --exclude. With TestBehavior.NONE Cosmos restricts the build
            # to models, seeds and snapshots (--resource-type): the data tests are added back.
            setup_operator_args={
                "dbt_cmd_flags": [
                    "--threads",
                    str(DBT_THREADS),
                    "--exclude",
                    "test_type:unit",
                    "--resource-type",
                    "test",
                ]
            },
        ),
        operator_args={
            "install_deps": False,
            # The profile's connection, from the Airflow connection, when the task runs.
            "env": connection_env_template(WAREHOUSE_CONN_ID),
            "append_env": True,
            "full_refresh": "{{ params.full_refresh }}",
            "poke_interval": WATCHER_POKE_INTERVAL_S,
            "deferrable": False,
            "mode": "poke",
        },
    )

    # The watchers poke in their own pool (ndc.airflow_runtime.WATCHER_POOL), one slot fewer
    # than the DAG may run at once, so a slot is always left for the producer. Without it a
    # producer killed mid-build (its retry waiting for a slot) deadlocked: the model watchers
    # held every slot of the DAG, waiting for that retry's results (found by the reliability
    # suite's kill_transform_build case, ndc.reliability.process_cases).
    for node in dbt.children.values():
        if hasattr(node, "model_unique_id"):
            node.pool = WATCHER_POOL

    @task(outlets=list(TRANSFORM_MARTS.values()))
    def reconcile(prepared: dict) -> dict:
        """Per batch of this run: extracted = landed = loaded = conformed + quarantined +
        merged, or fail; record what the models were built with."""
        from ndc.connections import postgres_url
        from ndc.transform import finish

        result = finish(
            postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)),
            load_registry(),
            snapshot_seq=prepared["snapshot"]["seq"],
        )
        print(f"{result['batches']} batch(es) balanced")
        return result

    @task(outlets=[PERSON_LINKS])
    def link_records() -> dict:
        """Link the rows quarantined for their personal ID, not linked yet, to the population
        (ndc.linkage.flow); review-band links go to ops.link_review. New links take effect in
        the next transform, which the ops__person_links Asset triggers; skipped (no event)
        when nothing new was linked."""
        from ndc.connections import postgres_url
        from ndc.linkage.flow import link_quarantined

        result = link_quarantined(postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)))
        if not result["auto_link"]:
            raise AirflowSkipException("no new link: nothing for the next transform to apply")
        return result

    prepared = prepare_warehouse()
    prepared >> dbt >> reconcile(prepared) >> link_records()


transform()
