"""Drive the whole flow through a running Airflow: ingest -> transform -> sync_population."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ndc.airflow_runtime import AirflowClient
from ndc.assets import RAW_URI_PREFIX

DOWNSTREAM = ("transform", "sync_population")


def ndc_dag_ids(sources: list[str]) -> list[str]:
    return [f"ingest_{s}" for s in sources] + list(DOWNSTREAM)


def _now() -> str:
    # The format Airflow's API uses for timestamps, so the two compare as strings.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_flow(client: AirflowClient, sources: list[str], log: Callable[[str], None] = print) -> dict:
    """Trigger every ingest DAG and wait for the Asset-triggered transform and sync runs
    (when an ingest loaded something). Returns the run ids, by DAG."""
    dag_ids = ndc_dag_ids(sources)
    log("waiting for the dag-processor to parse the DAGs")
    client.wait_for_dags(dag_ids)
    for dag_id in dag_ids:
        client.unpause(dag_id)
    started = _now()
    runs = {}
    for source in sources:
        dag_id = f"ingest_{source}"
        runs[dag_id] = client.trigger(dag_id)
        log(f"triggered {dag_id} ({runs[dag_id]})")
    for source in sources:
        dag_id = f"ingest_{source}"
        client.wait_run(dag_id, runs[dag_id], log=log)
    raw_events = [e for e in client.asset_events(started) if e["uri"].startswith(RAW_URI_PREFIX)]
    if not raw_events:
        # Every load was skipped: nothing new, so the Assets did not trigger anything.
        log("nothing new was loaded; transform and sync_population were not triggered")
    for dag_id in DOWNSTREAM if raw_events else ():
        log(f"waiting for the Asset-triggered {dag_id} run")
        runs[dag_id] = client.wait_triggered_run(dag_id, after=started, log=log)["dag_run_id"]
    # Several raw Asset updates may queue more than one transform: let them all finish.
    client.wait_idle(dag_ids)
    return runs
