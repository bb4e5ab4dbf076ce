"""Peak resident memory of Airflow task processes, read from /proc while they run.

Airflow 3's LocalExecutor runs each task instance in a child of a worker process (the
supervisor) whose title is ``airflow worker -- <task instance id>``; whatever the task starts
(dbt, a COPY client) runs below it. A sampler thread walks the scheduler's descendants every
``interval`` seconds and keeps, per task instance id:

- ``hwm``: the largest ``VmHWM`` (the kernel's own high-water mark of one process's resident
  set, exact however short the peak) of any process of the task, as last read while it lived;
- ``tree``: the largest sum of ``VmRSS`` over the task's processes in one sample.

A task's peak is the larger of the two. It is a lower bound: a process that starts and exits
between two samples is not seen, and the memory a process touches after its last sample is
missed (``interval`` bounds both).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import psutil

_TITLE = re.compile(r"^airflow worker -- ([0-9a-f-]{36})")


@dataclass
class TaskMemory:
    hwm_bytes: int = 0
    tree_bytes: int = 0

    @property
    def peak_bytes(self) -> int:
        return max(self.hwm_bytes, self.tree_bytes)


def _status_kb(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) of a process in kB; (0, 0) when it is gone or a kernel thread."""
    hwm = rss = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return hwm, rss


def _task_id_of(proc: psutil.Process) -> str | None:
    try:
        cmdline = proc.cmdline()
    except (psutil.Error, OSError):
        return None
    match = _TITLE.match(" ".join(cmdline))
    return match.group(1) if match else None


class TaskMemorySampler:
    """Samples the task processes under ``root_pid`` (the scheduler) in a daemon thread."""

    def __init__(self, root_pid: int, interval: float = 0.5):
        self.root_pid = root_pid
        self.interval = interval
        self.tasks: dict[str, TaskMemory] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="task-rss", daemon=True)

    def __enter__(self) -> TaskMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def sample(self) -> None:
        """One pass over the scheduler's descendants."""
        try:
            procs = psutil.Process(self.root_pid).children(recursive=True)
        except psutil.Error:
            return
        by_pid = {p.pid: p for p in procs}
        owner: dict[int, str | None] = {}

        def task_of(proc: psutil.Process) -> str | None:
            if proc.pid in owner:
                return owner[proc.pid]
            found = _task_id_of(proc)
            if found is None:
                try:
                    parent = by_pid.get(proc.ppid())
                except psutil.Error:
                    parent = None
                found = task_of(parent) if parent is not None else None
            owner[proc.pid] = found
            return found

        trees: dict[str, int] = {}
        for proc in procs:
            task = task_of(proc)
            if task is None:
                continue
            hwm, rss = _status_kb(proc.pid)
            memory = self.tasks.setdefault(task, TaskMemory())
            memory.hwm_bytes = max(memory.hwm_bytes, hwm * 1024)
            trees[task] = trees.get(task, 0) + rss * 1024
        for task, total in trees.items():
            memory = self.tasks[task]
            memory.tree_bytes = max(memory.tree_bytes, total)
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()
