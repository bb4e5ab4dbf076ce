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


def start_ingests(
    client: AirflowClient, ingest_ids: list[str], log: Callable[[str], None] = print
) -> str:
    """Start one run of every ingest DAG; returns the time (ISO) before the first trigger or
    unpause. Unpausing a DAG whose next scheduled run is due makes the scheduler start that run
    (it loads what has landed): it is counted, not triggered again, so a manual run does not
    find the data already loaded and skip. The others are triggered."""
    started = _now()
    due = []
    for dag_id in ingest_ids:
        dag = client.dag(dag_id)
        if dag["is_paused"]:
            client.unpause(dag_id)
        next_run = dag.get("next_dagrun_run_after")
        if next_run is not None and _iso(next_run) <= started:
            due.append(dag_id)
        else:
            log(f"triggered {dag_id} ({client.trigger(dag_id)})")
    deadline = time.monotonic() + 60
    while due and time.monotonic() < deadline:
        for dag_id, dag_runs in runs_since(client, due, started).items():
            if dag_runs:
                log(f"{dag_id}: the scheduler started its due run ({dag_runs[0]['dag_run_id']})")
                due.remove(dag_id)
        time.sleep(1)
    for dag_id in due:  # the scheduler did not start it after all
        log(f"triggered {dag_id} ({client.trigger(dag_id)}); no scheduled run appeared")
    return started


def _iso(value: str) -> str:
    """An API timestamp (``...+00:00`` or ``...Z``) in ``_now``'s format, to compare as text."""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def loaded_sources(client: AirflowClient, runs: dict[str, list[dict]]) -> list[str]:
    """The ingest DAGs (of ``runs``, by DAG) with a run whose load succeeded: it loaded
    something and updated its raw Asset (a load that found nothing new is skipped)."""
    return [
        dag_id
        for dag_id, dag_runs in runs.items()
        if any(client.task_state(dag_id, r["dag_run_id"], "load") == "success" for r in dag_runs)
    ]


def run_flow(
    client: AirflowClient,
    sources: list[str],
    log: Callable[[str], None] = print,
    settle: bool = True,
) -> dict:
    """Run every ingest DAG once (``start_ingests``) and wait for the Asset-triggered transform
    and sync runs (when an ingest loaded something). Returns the run ids, by DAG: each ingest's
    run, and the last transform and sync_population run waited for.

    ``settle`` (the default): a raw Asset update that arrives during a transform queues
    another, a sync that changed the population database a settling transform, and each
    transform its sync; wait until none is queued or running and fail,
    naming the DAG run, unless every one of them succeeded. Without it, return once the
    first transform and sync runs succeeded (follow-up runs may still be queued)."""
    dag_ids = ndc_dag_ids(sources)
    ingest_ids = [f"ingest_{s}" for s in sources]
    log("waiting for the dag-processor to parse the DAGs")
    client.wait_for_dags(dag_ids)
    for dag_id in DOWNSTREAM:  # Asset-scheduled: unpausing them starts nothing by itself
        client.unpause(dag_id)
    started = start_ingests(client, ingest_ids, log)
    ingests = runs_since(client, ingest_ids, started)
    for dag_id, dag_runs in ingests.items():
        for r in dag_runs:
            client.wait_run(dag_id, r["dag_run_id"], log=log)
    runs = {dag_id: dag_runs[-1]["dag_run_id"] for dag_id, dag_runs in ingests.items()}
    loaded = loaded_sources(client, ingests)
    if not loaded:
        # Every load was skipped: nothing new, so the Assets did not trigger anything.
        log("nothing new was loaded; transform and sync_population were not triggered")
    else:
        log(f"loaded: {', '.join(loaded)}")
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
