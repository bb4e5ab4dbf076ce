"""Benchmark of the synthetic country generator: wall time and peak memory.

Generation runs in a child process so that its peak resident set size can be read exactly
(`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` after the child exits; numpy and Arrow memory
included, which tracemalloc would miss). Targets: 1,000,000 persons with all five sources in
under 3 minutes and under 2 GB peak.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
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


def run_generate_benchmark(
    persons: int,
    out: Path,
    log: Callable[[str], None] = print,
    *,
    seed: int = 42,
    days: int = 3,
) -> str:
    """Generate `persons` into `out` in a child process; return a table of time and peak RSS.

    The child is the only child this function waits for, so RUSAGE_CHILDREN's maximum is its
    peak unless an earlier child of this process peaked higher (then the figure is an upper
    bound; run the benchmark from a fresh process, as `ndc bench` does, for an exact value).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log(f"generating {persons:,} persons (seed {seed}, {days} days) into {out}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), str(persons), str(seed), str(days)],
        env=_child_env(),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"generation failed:\n{result.stderr[-4000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kb < before:  # pragma: no cover - ru_maxrss is a maximum, never decreases
        peak_kb = before
    info = json.loads(result.stdout.strip().splitlines()[-1])
    peak = peak_kb * 1024
    rows = sum(n for entities in info["rows"].values() for n in entities.values())
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
