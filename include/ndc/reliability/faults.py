"""Named fault points: where ndc's own code lets a reliability case strike, at a known moment.

A case *arms* a point by writing ``NDC_HOME/faults/<point>.json``; the task process that next
reaches ``point("<point>")`` takes the arm (an atomic rename, so exactly one process fires it),
records when it fired in ``NDC_HOME/faults/<point>.fired.json`` and then:

- ``kill``: SIGKILLs its own process, a real SIGKILL at a deterministic moment (an external
  ``kill`` aimed at a task found in ``ps`` would land anywhere in the task, or miss it);
- ``hold``: sleeps ``hold_s`` seconds and carries on, so the case, which watches for the fired
  file, can cut a connection or take a server down while the task is inside that step.

With nothing armed a point is one ``stat`` of a file that does not exist.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

POINTS = (
    "extract.land",  # a batch file written locally, before it is put in the landing zone
    "load.copy",  # inside the COPY of a batch into its raw table, after the first block
    "transform.build",  # in the dbt build, when its first model has finished
    "sync.upsert",  # in the population sync, the changed citizens streamed, before the upsert
)


def fault_dir(home: Path | None = None) -> Path:
    """Where arms and fired records live: NDC_HOME/faults (the task processes' NDC_HOME)."""
    if home is None:
        from ndc.settings import load

        home = load().home
    return home / "faults"


def _home() -> Path:
    # Read from the environment, not ndc.settings: a point must cost nothing when unarmed.
    from ndc.settings import REPO_ROOT

    return Path(os.environ.get("NDC_HOME") or REPO_ROOT / ".ndc")


def point(name: str) -> None:
    """A named fault point; does nothing unless a case armed it (see the module's docstring)."""
    armed = _home() / "faults" / f"{name}.json"
    if armed.exists():
        _fire(name, armed)


def _fire(name: str, armed: Path) -> None:
    taken = armed.with_suffix(".taken")
    try:
        armed.rename(taken)  # only one process gets it
    except FileNotFoundError:
        return
    arm = json.loads(taken.read_text() or "{}")
    # The task it struck: Airflow's task runner puts its context in the environment.
    task = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW_CTX_")}
    fired = {"point": name, "pid": os.getpid(), "at": time.time(), **arm, **task}
    tmp = armed.with_name(f"{name}.fired.tmp")
    tmp.write_text(json.dumps(fired))
    tmp.rename(armed.with_name(f"{name}.fired.json"))
    taken.unlink()
    if arm.get("action", "kill") == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(float(arm.get("hold_s", 3)))


def arm(home: Path, name: str, action: str = "kill", **options) -> None:
    """Arm ``name`` for the next process that reaches it (``action`` kill or hold)."""
    if name not in POINTS:
        raise ValueError(f"no fault point {name!r}; the points are {', '.join(POINTS)}")
    folder = fault_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{name}.*"):
        stale.unlink()
    tmp = folder / f"{name}.arm.tmp"
    tmp.write_text(json.dumps({"action": action, **options}))
    tmp.rename(folder / f"{name}.json")


def fired(home: Path, name: str) -> dict | None:
    """The record of ``name`` having fired (pid, time), or None."""
    path = fault_dir(home) / f"{name}.fired.json"
    return json.loads(path.read_text()) if path.exists() else None


def disarm(home: Path, name: str) -> bool:
    """Remove an arm nobody took; returns whether one was left (the point was never reached)."""
    path = fault_dir(home) / f"{name}.json"
    if path.exists():
        path.unlink()
        return True
    return False


def wait_fired(home: Path, name: str, timeout: float, poll: float = 0.2) -> dict | None:
    """Wait until ``name`` fires; None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = fired(home, name)
        if record:
            return record
        time.sleep(poll)
    return None
