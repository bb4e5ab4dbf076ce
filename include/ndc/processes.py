"""Long-running background processes of the embedded default (Airflow components, the
synthetic API server): started in their own session, tracked by pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


class Processes:
    """Processes named by pid files in ``run_dir``, logging to ``log_dir/<name>.log``."""

    def __init__(self, run_dir: Path, log_dir: Path):
        self.run_dir = run_dir
        self.log_dir = log_dir

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The live process of that name, if any (a stale pid file is removed)."""
        path = self._pidfile(name)
        if not path.exists():
            return None
        pid = int(path.read_text())
        if not _alive(pid):
            path.unlink(missing_ok=True)
            return None
        return pid

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> int:
        """Start unless running; returns the pid."""
        if (pid := self.pid(name)) is not None:
            return pid
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as out:
            proc = subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=cwd,
            )
        self._pidfile(name).write_text(str(proc.pid))
        return proc.pid

    def stop(self, names: list[str], timeout: float = 20) -> list[str]:
        """Stop process groups: SIGTERM to all at once, SIGKILL to what is left after
        ``timeout``. Returns the names that were running."""
        pids = {name: pid for name in names if (pid := self.pid(name)) is not None}
        for pid in pids.values():
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        alive = dict(pids)
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = {n: p for n, p in alive.items() if _alive(p)}
        for pid in alive.values():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name in pids:
            self._pidfile(name).unlink(missing_ok=True)
        return list(pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child we started and that exited is a zombie until reaped: not alive.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
