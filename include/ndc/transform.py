"""The transform's steps outside dbt, shared by the transform DAG and local runs.

:func:`prepare` runs before dbt (raw tables exist, changed incremental models dropped, the
population snapshot refreshed); :func:`dbt_build` runs dbt in-process; :func:`finish` runs after
a successful build (fingerprints recorded, this run's batches reconciled), then the linkage
step (``ndc.linkage.flow``). :func:`run_locally` chains them without Airflow, for tests and the
benchmark's plain baseline.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path

from ndc.settings import DBT_PROJECT_DIR

log = logging.getLogger(__name__)

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


IN_FLIGHT = ("queued", "running")


def wait_for_runs_in_flight(
    ti, dag_ids: list[str], max_wait_s: float, log=log.info, poll_s: float = 2
) -> list[str]:
    """Wait while any of these DAGs has a run queued or running, at most ``max_wait_s``.

    The transform waits for the ingest runs of a wave (loads that start within minutes of each
    other are conformed by one run, not one run per source) and for a sync in flight (a
    settling run then sees the population changes it writes). ``ti`` is the running task
    instance (Airflow's task SDK counts DAG runs for it). Returns the DAGs still in flight
    when the wait ended: their batches or changes are left to the next run, which their own
    Asset events trigger."""
    import time

    deadline = time.monotonic() + max_wait_s
    waited = False
    while True:
        busy = [d for d in dag_ids if ti.get_dr_count(dag_id=d, states=list(IN_FLIGHT))]
        if not busy:
            if waited:
                log("the runs in flight have finished")
            return []
        if time.monotonic() >= deadline:
            log(
                f"still in flight after {max_wait_s:.0f} s: {', '.join(busy)}; transforming "
                "what has landed (the rest goes to the next run)"
            )
            return busy
        if not waited:
            log(f"waiting for the runs in flight: {', '.join(busy)}")
            waited = True
        time.sleep(poll_s)


def prepare(warehouse_url: str, population_url: str, registry, manifest: Path = MANIFEST) -> dict:
    """Before dbt: raw tables, changed models dropped, population snapshot refreshed.

    Returns what was dropped, the snapshot taken and ``work``: why dbt has something to do
    (:func:`ndc.transform_state.work_to_do`; empty when the warehouse holds everything)."""
    from ndc.population import snapshot_to_warehouse
    from ndc.transform_state import drop_changed_models, work_to_do
    from ndc.warehouse import bootstrap

    bootstrap(warehouse_url, registry)
    dropped = drop_changed_models(warehouse_url, manifest) if manifest.exists() else []
    snapshot = snapshot_to_warehouse(population_url, warehouse_url)
    work = work_to_do(warehouse_url, manifest, dropped) if manifest.exists() else ["no manifest"]
    return {"dropped": dropped, "snapshot": snapshot, "work": work}


def finish(
    warehouse_url: str, registry, snapshot_seq: int | None = None, manifest: Path = MANIFEST
) -> dict:
    """After a successful dbt build: reconcile, then record what the models were built with
    (and ``snapshot_seq``, the population snapshot the build conformed against)."""
    from ndc.reconcile import reconcile
    from ndc.transform_state import record_built, record_fingerprints

    if manifest.exists():
        record_fingerprints(warehouse_url, manifest)
    balances = reconcile(warehouse_url, registry)
    if manifest.exists() and snapshot_seq is not None:
        record_built(warehouse_url, manifest, snapshot_seq)
    return {"batches": len(balances), "rows": sum(b.loaded for b in balances)}


@contextmanager
def _environ(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dbt_build(warehouse_url: str, full_refresh: bool = False, threads: int | None = None) -> None:
    """`dbt build` of the project in-process (unit tests excluded); raise if anything failed."""
    from dbt.cli.main import dbtRunner

    from ndc.dbt_profile import PROFILES_YML, TARGET_NAME, env_for_url

    args = ["build", "--project-dir", str(DBT_PROJECT_DIR)]
    args += ["--profiles-dir", str(PROFILES_YML.parent), "--target", TARGET_NAME]
    args += ["--exclude", "test_type:unit"]
    if full_refresh:
        args.append("--full-refresh")
    if threads:
        args += ["--threads", str(threads)]
    with _environ(env_for_url(warehouse_url)):
        result = dbtRunner().invoke(args)
    if not result.success:
        failed = [
            f"{r.node.unique_id}: {r.message}"
            for r in (result.result or [])
            if getattr(r, "status", None) not in ("success", "pass", "skipped")
        ]
        raise RuntimeError(f"dbt build failed: {result.exception or ''} {failed[:10]}")


def run_locally(warehouse_url: str, population_url: str, registry, full_refresh: bool) -> dict:
    """prepare, dbt build, finish, link: one transform without Airflow, as the DAG runs it
    (the links found take effect in the next one)."""
    from ndc.linkage.flow import link_quarantined

    prepared = prepare(warehouse_url, population_url, registry)
    dbt_build(warehouse_url, full_refresh=full_refresh)
    finished = finish(warehouse_url, registry, prepared["snapshot"]["seq"])
    linked = link_quarantined(warehouse_url, log=log.info)
    return prepared | finished | {"linked": linked}
