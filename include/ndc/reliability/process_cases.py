"""Process and service faults, struck through the real path (issue 13, item 2).

Every case arms one fault point of ndc's own code (:mod:`ndc.reliability.faults`), runs the
flow through the scheduler, and measures: the task the fault struck (from the fault's record:
the process's Airflow task), what its failed try showed (state and log message), whether
Airflow's retries brought the flow to the end by themselves (``retries`` and ``retry_delay`` of
``ndc.dag_defaults``) or an operator had to clear the failed task, the seconds from the fault
to the struck task's success, and the rows lost and duplicated against the clean reference
run (raw tables, ``marts.citizens``, the population database's citizens; the hashes of every
relation besides).

- ``kill_*``: the task process SIGKILLs itself at the point (a real SIGKILL, a known moment).
- ``warehouse_cut_load``, ``population_cut_sync``: while the task is inside the step, its
  database refuses connections and every session on it is ended, for ``OUTAGE_S`` seconds
  (``ndc.reliability.outage.cut_database``: ALLOW_CONNECTIONS false + pg_terminate_backend, the
  closest thing to the server going away that leaves the shared server up).
- ``s3_down_landing``: while a batch is being put, the landing zone's S3 endpoint is closed
  (connections refused, open ones dropped) for ``OUTAGE_S`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from ndc.reliability import faults
from ndc.reliability.cases import CaseContext, CaseResult, FaultCase

OUTAGE_S = 20.0  # shorter than the first retry's delay (30 s): a retry finds it back
HOLD_S = 4.0  # how long the struck task waits inside the step while the outage starts
FIRE_TIMEOUT_S = 900.0


def _database(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _cut(role: str) -> Callable:
    def outage(stack) -> str:
        from ndc.reliability.outage import cut_database

        url = stack.settings.database_url(role)
        ended = cut_database(stack.settings.server_url, _database(url), OUTAGE_S)
        return f"{role} database refused connections for {OUTAGE_S:.0f} s, {ended} session(s) ended"

    return outage


def _s3_down(stack) -> str:
    stack.gate.down()
    try:
        time.sleep(OUTAGE_S)
    finally:
        stack.gate.up()
    return f"S3 endpoint closed for {OUTAGE_S:.0f} s"


# name: (point, what, outage or None for a kill, bounded)
SPECS: dict[str, tuple[str, str, Callable | None, bool]] = {
    "kill_extract": ("extract.land", "task process SIGKILLed during the extract", None, False),
    "kill_load_copy": ("load.copy", "task process SIGKILLed in the load's COPY", None, True),
    "kill_transform_build": (
        "transform.build",
        "task process SIGKILLed in the middle of the dbt build",
        None,
        False,
    ),
    # One process case in CI (--bounded): each costs a full flow beside the reference run's.
    "kill_sync": ("sync.upsert", "task process SIGKILLed during the population sync", None, False),
    "warehouse_cut_load": (
        "load.copy",
        "warehouse connections cut during a load's COPY",
        _cut("warehouse"),
        False,
    ),
    "population_cut_sync": (
        "sync.upsert",
        "population database unreachable during the sync",
        _cut("population"),
        False,
    ),
    "s3_down_landing": (
        "extract.land",
        "landing zone's S3 server down while a batch is put",
        _s3_down,
        False,
    ),
}


def _start_outage(stack, point: str, outage: Callable | None, report: dict) -> threading.Thread:
    """Wait for the point to fire, then run the outage (in a thread: the flow goes on)."""

    def watch() -> None:
        if faults.wait_fired(stack.settings.home, point, FIRE_TIMEOUT_S) and outage is not None:
            report["outage"] = outage(stack)

    thread = threading.Thread(target=watch, name=f"outage-{point}", daemon=True)
    thread.start()
    return thread


def _epoch(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def _message(client, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    """The lines of a try's log an operator reads first: its errors, else its last line."""
    try:
        content = client.task_log(dag_id, run_id, task_id, try_number)
    except Exception as exc:  # a log that cannot be read is reported, not fatal
        return f"(log not readable: {exc})"
    return pick_message(content)


def pick_message(content: list) -> str:
    """From a try's log events: its last two errors, each with the exception it carries
    (structlog's dict traceback, under ``exception`` or ``error_detail``), else its last line."""
    events = [e for e in content if isinstance(e, dict)]
    errors = [e for e in events if str(e.get("level", "")).lower() in ("error", "critical")]
    return " | ".join(_line(e) for e in (errors or events)[-2:])


def _line(event: dict) -> str:
    text = str(event.get("event", ""))
    for key in ("exception", "error_detail"):
        chain = event.get(key)
        if isinstance(chain, list) and chain and isinstance(chain[-1], dict):
            text += f": {chain[-1].get('exc_type')}: {chain[-1].get('exc_value')}"
            break
    return text[:400]


def _struck_task(client, record: dict) -> dict:
    """The task the fault struck, its tries, and what its first failed try showed."""
    dag_id, run_id = record.get("AIRFLOW_CTX_DAG_ID"), record.get("AIRFLOW_CTX_DAG_RUN_ID")
    task_id = record.get("AIRFLOW_CTX_TASK_ID")
    if not (dag_id and run_id and task_id):
        return {"task": None}
    tries = client.task_tries(dag_id, run_id, task_id)
    failed = next((t for t in tries if t["state"] != "success"), None)
    final = client.task_instance(dag_id, run_id, task_id)
    run = client.run(dag_id, run_id)
    saw = ""
    if failed is not None:
        message = _message(client, dag_id, run_id, task_id, failed["try_number"])
        saw = f"{dag_id}.{task_id} try {failed['try_number']}: {failed['state']}; {message}"
    return {
        "task": f"{dag_id}.{task_id}",
        "run": run_id,
        "tries": [(t["try_number"], t["state"]) for t in tries],
        "final_state": final["state"],
        "final_try": final.get("try_number"),
        "run_state": run["state"],
        # Recovered when the run the fault struck has finished (a killed Cosmos producer's
        # retry skips: its watchers then run their models, so the run's end is the measure).
        "ended_at": _epoch(run.get("end_date")),
        "operator_saw": saw,
    }


def strike(ctx: CaseContext, name: str) -> CaseResult:
    """Run the flow with case ``name``'s fault and measure it against the reference."""
    from ndc.airflow_runtime import AirflowError
    from ndc.flow import _now
    from ndc.reliability.runner import read_state

    stack = ctx.extra["stack"]
    point, what, outage, _ = SPECS[name]
    home = stack.settings.home
    faults.arm(home, point, "hold" if outage else "kill", hold_s=HOLD_S, case=name)
    report: dict = {}
    watcher = _start_outage(stack, point, outage, report)
    since, started = _now(), time.time()
    operator_action = None
    try:
        stack.run_flow()
    except AirflowError as exc:
        ctx.log(f"{name}: the flow failed or stalled after Airflow's retries: {exc}")
        report["flow_error"] = str(exc)[:1000]
        try:
            cleared = stack.operator_clears(since)
            operator_action = "cleared the failed task(s): " + "; ".join(cleared)
        except AirflowError as again:
            # Still not finished: the case reports it (and the rows as they are), the run goes on.
            operator_action = f"clearing the failed tasks did not finish the flow: {again}"[:1000]
            ctx.log(f"{name}: {operator_action}")
    flow_done = time.time()
    record = faults.fired(home, point)
    if record is None:
        faults.disarm(home, point)
    watcher.join(OUTAGE_S + 30)
    struck = _struck_task(stack.client, record) if record else {"task": None}
    lost, duplicated, differ = read_state(stack.settings).diff(stack.reference)
    fired_at = record["at"] if record else None
    ended = struck.get("ended_at")
    recover_s = round(ended - fired_at, 1) if fired_at and ended else None
    return CaseResult(
        case=name,
        rows_lost=lost,
        rows_duplicated=duplicated,
        recovered=record is not None
        and operator_action is None
        and struck.get("run_state") == "success"
        and not differ,
        recover_s=recover_s,
        operator_saw=struck.get("operator_saw")
        or ("the fault point was never reached" if record is None else ""),
        operator_action=operator_action,
        detail={
            "what": what,
            "point": point,
            "struck": struck.get("task"),
            "tries": struck.get("tries"),
            "final_state": struck.get("final_state"),
            "run_state": struck.get("run_state"),
            "outage": report.get("outage"),
            "flow_error": report.get("flow_error"),
            "flow_s": round(flow_done - started, 1),
            "fault_after_s": round(fired_at - started, 1) if fired_at else None,
            "relations_differing": sorted(differ),
        },
    )


def strike_for_soak(stack, name: str, day: int) -> dict:
    """One soak day with case ``name``'s fault: the day's flow (not settled) and what struck."""
    ctx = CaseContext(stack.settings, stack.settings.home, stack.log, {"stack": stack})
    point, _, outage, _ = SPECS[name]
    faults.arm(stack.settings.home, point, "hold" if outage else "kill", hold_s=HOLD_S, case=name)
    report: dict = {}
    watcher = _start_outage(stack, point, outage, report)
    from ndc.airflow_runtime import AirflowError
    from ndc.flow import _now

    since = _now()
    operator = None
    try:
        stack.run_flow(settle=False)
    except AirflowError as exc:
        ctx.log(f"soak day {day} {name}: failed after the retries ({exc}); clearing")
        operator = stack.operator_clears(since)
    record = faults.fired(stack.settings.home, point)
    if record is None:
        faults.disarm(stack.settings.home, point)
    watcher.join(OUTAGE_S + 30)
    return {
        "day": day,
        "case": name,
        "fired": record is not None,
        "task": f"{record.get('AIRFLOW_CTX_DAG_ID')}.{record.get('AIRFLOW_CTX_TASK_ID')}"
        if record
        else None,
        "operator": operator,
        "outage": report.get("outage"),
    }


def _case(name: str) -> FaultCase:
    point, what, _, bounded = SPECS[name]
    return FaultCase(name, what, lambda ctx: strike(ctx, name), bounded=bounded)


CASES: list[FaultCase] = [_case(name) for name in SPECS]
