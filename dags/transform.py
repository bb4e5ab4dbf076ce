"""
### transform: conform raw data to the shared dictionary, quarantine, unify, build marts

Runs when any source's raw tables change (the `raw__<source>` Assets from `ingest_<source>`).
**prepare_warehouse** creates missing raw tables and copies the population database's citizens
into `raw.population__citizen` (CMND resolution and the per-agency discrepancy marts read it).
Cosmos renders the dbt project (`dbt_project/`) from its prebuilt `manifest.json`: seeds from
the dictionary, staging views per source (names to NFC, dates to ISO, codes mapped), the
quarantine tables (every rejected row with a reason code; every duplicate merged into another
row), citizens unified on the personal ID number and the `marts.citizens` mart; then the dbt
tests.

**reconcile** checks every batch: extracted = landed = loaded = conformed + quarantined +
merged, stores the outcome in `ops.reconciliation` and fails naming each batch that does not
balance. Only a balanced run updates the `marts__citizens` Asset, which triggers `sync_population`.

**Owner:** ndc data engineering. **When it fails:** a dbt task's log names the model or test;
a reconciliation failure names the batch. Nothing downstream runs until it is fixed; clear
the failed task to retry (every model is rebuilt in full, idempotent).
"""

from __future__ import annotations

import sys
from pathlib import Path

from airflow.sdk import BaseHook, dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from ndc.assets import MART_CITIZENS, raw_assets
from ndc.dag_defaults import DEFAULT_ARGS, START_DATE
from ndc.registry import load_registry
from ndc.settings import DBT_PROJECT_DIR, POPULATION_CONN_ID, WAREHOUSE_CONN_ID

PROFILE = ProfileConfig(
    profile_name="ndc",
    target_name="airflow",
    profile_mapping=PostgresUserPasswordProfileMapping(
        conn_id=WAREHOUSE_CONN_ID,
        profile_args={"schema": "public"},
        disable_event_tracking=True,
    ),
)


@dag(
    schedule=raw_assets(load_registry()),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["transform", "dbt"],
    doc_md=__doc__,
)
def transform():
    @task
    def prepare_warehouse() -> int:
        """Create the raw tables of every registry entity (so staging views always resolve) and
        refresh the population database snapshot the staging and discrepancy models read."""
        from ndc.connections import postgres_url
        from ndc.population import snapshot_to_warehouse
        from ndc.warehouse import bootstrap

        warehouse_url = postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID))
        bootstrap(warehouse_url, load_registry())
        return snapshot_to_warehouse(
            postgres_url(BaseHook.get_connection(POPULATION_CONN_ID)), warehouse_url
        )

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            DBT_PROJECT_DIR, manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json"
        ),
        profile_config=PROFILE,
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL
        ),
        execution_config=ExecutionConfig(dbt_executable_path=Path(sys.executable).parent / "dbt"),
        operator_args={"install_deps": False},
    )

    @task(outlets=[MART_CITIZENS])
    def reconcile() -> dict:
        """Per batch: extracted = landed = loaded = conformed + quarantined + merged, or fail."""
        from ndc.connections import postgres_url
        from ndc.reconcile import reconcile as check

        balances = check(postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)), load_registry())
        print(f"{len(balances)} batch(es) balanced")
        return {"batches": len(balances), "rows": sum(b.loaded for b in balances)}

    prepare_warehouse() >> dbt >> reconcile()


transform()
