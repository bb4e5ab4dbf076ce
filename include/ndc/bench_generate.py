"""Benchmark of the synthetic country generator: wall time and peak memory.

Generation runs in a child process so that its peak resident set size can be read exactly
(the rusage ``os.wait4`` returns for that child; numpy and Arrow memory included, which
tracemalloc would miss). Targets: 1,000,000 persons with all five sources in
under 3 minutes and under 2 GB peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TARGET_SECONDS = 180.0
TARGET_PEAK_BYTES = 2 * 1024**3
TARGET_PERSONS = 1_000_000

_CHILD = """
import json, sys, time
from pathlib import Path
from ndc.synthetic import generate
t = time.perf_counter()
s = generate(Path(sys.argv[1]), persons=int(sys.argv[2]), seed=int(sys.argv[3]),
             days=int(sys.argv[4]))
print(json.dumps({"seconds": time.perf_counter() - t, "rows": s.rows, "files": s.files,
                  "defects": s.defects}))
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    include = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (include, env.get("PYTHONPATH")) if p)
    return env


@dataclass(frozen=True)
class ChildGeneration:
    """One generation in a child process: wall time, rows written, the child's peak RSS."""

    wall_s: float
    generate_s: float
    rows: dict[str, dict[str, int]]
    files: dict[str, int]
    defects: int
    peak_rss_bytes: int

    @property
    def total_rows(self) -> int:
        return sum(n for entities in self.rows.values() for n in entities.values())


def generate_in_child(out: Path, persons: int, seed: int = 42, days: int = 3) -> ChildGeneration:
    """Run ``ndc.synthetic.generate`` in a child process and wait for it with ``wait4``, whose
    rusage is that child's own (its exact peak RSS, whatever else this process ran before)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(out), str(persons), str(seed), str(days)],
            env=_child_env(),
            stdout=stdout,
            stderr=stderr,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"generation failed:\n{stderr.read()[-4000:]}")
        info = json.loads(stdout.read().strip().splitlines()[-1])
    return ChildGeneration(
        wall_s=wall,
        generate_s=info["seconds"],
        rows=info["rows"],
        files=info["files"],
        defects=info["defects"],
        peak_rss_bytes=usage.ru_maxrss * 1024,  # kB on Linux
    )


def run_generate_benchmark(
    persons: int,
    out: Path,
    log: Callable[[str], None] = print,
    *,
    seed: int = 42,
    days: int = 3,
) -> str:
    """Generate `persons` into `out` in a child process; return a table of time and peak RSS."""
    out = Path(out)
    log(f"generating {persons:,} persons (seed {seed}, {days} days) into {out}")
    run = generate_in_child(out, persons, seed, days)
    wall = run.wall_s
    info = {"defects": run.defects, "seconds": run.generate_s}
    rows = run.total_rows
    peak = run.peak_rss_bytes
    lines = [
        f"{'metric':<28} {'value':>14} {'target (1M persons)':>22} {'status':>8}",
        f"{'-' * 28} {'-' * 14} {'-' * 22} {'-' * 8}",
        f"{'persons':<28} {persons:>14,} {TARGET_PERSONS:>22,} {'':>8}",
        f"{'rows written (all sources)':<28} {rows:>14,} {'':>22} {'':>8}",
        f"{'defects labelled':<28} {info['defects']:>14,} {'':>22} {'':>8}",
        f"{'wall time (s)':<28} {wall:>14.1f} {'< ' + str(int(TARGET_SECONDS)):>22} "
        f"{'ok' if wall < TARGET_SECONDS else 'SLOW':>8}",
        f"{'generate() time (s)':<28} {info['seconds']:>14.1f} {'':>22} {'':>8}",
        f"{'peak RSS (MB)':<28} {peak / 2**20:>14,.0f} {'< 2,048':>22} "
        f"{'ok' if peak < TARGET_PEAK_BYTES else 'HIGH':>8}",
        f"{'persons / s':<28} {persons / wall if wall else 0:>14,.0f} "
        f"{TARGET_PERSONS / TARGET_SECONDS:>22,.0f} {'':>8}",
    ]
    if persons != TARGET_PERSONS:
        lines.append(f"(targets are for {TARGET_PERSONS:,} persons; this run used {persons:,})")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m ndc.bench_generate [persons] [out]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else TARGET_PERSONS
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(".ndc") / "bench_generate"
    print(run_generate_benchmark(n, target))
