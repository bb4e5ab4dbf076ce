"""Drive the whole flow through a running Airflow: ingest -> transform -> sync_population."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from ndc.airflow_runtime import TERMINAL_STATES, AirflowClient, AirflowError

DOWNSTREAM = ("transform", "sync_population")


def ndc_dag_ids(sources: list[str]) -> list[str]:
    return [f"ingest_{s}" for s in sources] + list(DOWNSTREAM)


def _now() -> str:
    # The format Airflow's API uses for timestamps, so the two compare as strings.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def runs_since(client: AirflowClient, dag_ids: Iterable[str], since: str) -> dict[str, list[dict]]:
    """Every run of these DAGs queued at or after ``since`` (ISO time), oldest first."""
    return {
        dag_id: sorted(
            (r for r in client.runs(dag_id) if (r.get("queued_at") or "") >= since),
            key=lambda r: r["queued_at"],
        )
        for dag_id in dag_ids
    }


def unsettled(runs: dict[str, list[dict]], queued: dict[str, list[dict]]) -> list[str]:
    """Why the downstream DAGs are not settled yet: a run still queued or running, or Asset
    events queued for a DAG (``queued``, by DAG, as Airflow's API lists them) whose run the
    scheduler has not created yet."""
    waiting = [
        f"{dag_id} {r['dag_run_id']} {r['state']}"
        for dag_id, dag_runs in runs.items()
        for r in dag_runs
        if r["state"] not in TERMINAL_STATES
    ]
    for dag_id, events in queued.items():
        if events:
            waiting.append(f"{dag_id}: the run for {len(events)} queued Asset event(s)")
    return waiting


def queued_events(client: AirflowClient, dag_ids: Iterable[str]) -> dict[str, list[dict]]:
    """The queued Asset events of the Asset-scheduled DAGs among these."""
    return {d: client.queued_asset_events(d) for d in dag_ids if d in DOWNSTREAM}


def failed_runs(runs: dict[str, list[dict]]) -> list[tuple[str, str, str]]:
    """(dag_id, run_id, state) of every finished run that did not succeed."""
    return [
        (dag_id, r["dag_run_id"], r["state"])
        for dag_id, dag_runs in runs.items()
        for r in dag_runs
        if r["state"] in TERMINAL_STATES and r["state"] != "success"
    ]


def settle_downstream(
    client: AirflowClient,
    since: str,
    dag_ids: Iterable[str] = DOWNSTREAM,
    timeout: float = 900,
    poll: float = 3,
    log: Callable[[str], None] = print,
) -> dict[str, list[dict]]:
    """Wait until no run of these DAGs queued since ``since`` is queued or running and every
    Asset event since then has its run, then check that every one of them succeeded: raise
    naming each DAG run that did not. Returns the runs, by DAG, oldest first."""
    dag_ids = list(dag_ids)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        runs = runs_since(client, dag_ids, since)
        waiting = unsettled(runs, queued_events(client, dag_ids))
        if not waiting:
            break
        if waiting != last:
            log(f"waiting for {'; '.join(waiting)}")
            last = waiting
        if time.monotonic() > deadline:
            raise AirflowError(f"not settled after {timeout} s: {'; '.join(waiting)}")
        time.sleep(poll)
    failed = failed_runs(runs)
    if failed:
        raise AirflowError(
            "; ".join(
                f"{dag_id} run {run_id} {state}; failed tasks: "
                f"{client.failed_tasks(dag_id, run_id)}"
                for dag_id, run_id, state in failed
            )
            + " (see the task logs in the UI)"
        )
    return runs


def run_flow(
    client: AirflowClient,
    sources: list[str],
    log: Callable[[str], None] = print,
    settle: bool = True,
) -> dict:
    """Trigger every ingest DAG and wait for the Asset-triggered transform and sync runs
    (when an ingest loaded something). Returns the run ids, by DAG: each ingest's run, and
    the last transform and sync_population run waited for.

    ``settle`` (the default): a raw Asset update that arrives during a transform queues
    another, a sync that changed the population database a settling transform, and each
    transform its sync; wait until none is queued or running and fail,
    naming the DAG run, unless every one of them succeeded. Without it, return once the
    first transform and sync runs succeeded (follow-up runs may still be queued)."""
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
    # A load that loaded something succeeded (and updated its raw Asset); one that found
    # nothing new was skipped.
    loaded = [
        s
        for s in sources
        if client.task_state(f"ingest_{s}", runs[f"ingest_{s}"], "load") == "success"
    ]
    if not loaded:
        # Every load was skipped: nothing new, so the Assets did not trigger anything.
        log("nothing new was loaded; transform and sync_population were not triggered")
    for dag_id in DOWNSTREAM if loaded else ():
        log(f"waiting for the Asset-triggered {dag_id} run")
        runs[dag_id] = client.wait_triggered_run(dag_id, after=started, log=log)["dag_run_id"]
    if settle:
        settled = settle_downstream(client, started, DOWNSTREAM, log=log)
        for dag_id, dag_runs in settled.items():
            if dag_runs:
                runs[dag_id] = dag_runs[-1]["dag_run_id"]
                if len(dag_runs) > 1:
                    log(f"{dag_id}: {len(dag_runs)} runs, all succeeded")
    return runs
