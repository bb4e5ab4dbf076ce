"""``ndc bench --only scale``: the whole flow through Airflow on a generated country, full and
then one more day, with a plain ``dbt build`` of the same project beside it.

1. **generate** ``--days D`` (a child process: wall time, rows written, its exact peak RSS).
2. **full round**: an Airflow, databases and landing zone of the benchmark's own (the
   isolation of ``ndc evaluate``: NDC_HOME/bench_scale, databases ``<prefix>_scale_*``); every
   ``ingest_<source>`` DAG runs once, then the Asset-triggered ``transform`` and
   ``sync_population`` runs, until nothing is queued or running and no Asset event waits for
   a run. Unpausing a scheduled DAG makes the scheduler start its latest run by itself: that
   run is counted as the source's ingest, never triggered a second time.
3. **plain dbt build**: ``dbt build --full-refresh`` of the same project on the same warehouse,
   with the venv's dbt CLI (parsed first, untimed, into a target folder of its own, so that it
   runs with partial parsing as a developer's second build would).
4. **generate** ``--days D+1`` into the same folder (the generator extends day D by one day),
   then the **increment round**, driven and measured like the full one.

Per stage, from Airflow's REST API (runs and task instances) and the databases:
``extract_load.<source>`` (its ingest runs; rows = rows loaded into raw in the round, from
``ops.load_ledger``), ``transform`` (first start to last end of its runs; rows = the rows loaded
in the round, which it conforms), ``sync`` (rows = population citizens inserted or updated in
the round). A round's wall time runs from the first ingest run's queueing to the end of the
last run. Task memory: :mod:`ndc.bench_rss`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ndc.settings import DBT_PROJECT_DIR, Settings

TARGET_PERSONS = 1_000_000
TARGET_FULL_S = 15 * 60
TARGET_INCREMENT_RATIO = 0.10
TARGET_COSMOS_RATIO = 1.3
TARGET_RSS_MB = 2048
MB = 2**20

Log = Callable[[str], None]


class BenchError(RuntimeError):
    """A benchmark round did not complete (a run failed, or it did not settle in time)."""


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> datetime:
    return datetime.now(UTC)


# --- Airflow's REST API beyond AirflowClient -------------------------------------------------


def _get(client, path: str, **params) -> dict:
    from ndc.airflow_runtime import AirflowError

    r = client.session.get(f"{client.url}/api/v2{path}", params=params, timeout=30)
    if not r.ok:
        raise AirflowError(f"GET {path}: {r.status_code} {r.text[:500]}")
    return r.json()


def task_instances(client, dag_id: str, run_id: str) -> list[dict]:
    """Every task instance of a run (the API pages at 100)."""
    out: list[dict] = []
    while True:
        page = _get(
            client,
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
            limit=100,
            offset=len(out),
        )
        out += page["task_instances"]
        if not page["task_instances"] or len(out) >= page["total_entries"]:
            return out


def runs_since(client, dag_id: str, since: datetime) -> list[dict]:
    """Runs of a DAG queued at or after ``since``, oldest first."""
    runs = [r for r in client.runs(dag_id) if (_ts(r.get("queued_at")) or since) >= since]
    return sorted(runs, key=lambda r: r["queued_at"])


def settle(
    client, dag_ids: list[str], since: datetime, log: Log, timeout: float, poll: float = 3
) -> dict[str, list[dict]]:
    """Wait until no run of these DAGs is queued or running and no Asset event waits for its
    run (``ndc.flow.unsettled``: a late raw Asset, a sync's population changes); returns the
    round's runs by DAG."""
    from ndc.flow import failed_runs, queued_events, unsettled

    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        runs = {d: runs_since(client, d, since) for d in dag_ids}
        for dag_id, rs in runs.items():
            for r in rs:
                key = f"{dag_id} {r['dag_run_id']}"
                if states.get(key) != r["state"]:
                    states[key] = r["state"]
                    log(f"  {key}: {r['state']}")
        if not unsettled(runs, queued_events(client, dag_ids)):
            failed = failed_runs(runs)
            if failed:
                raise BenchError(
                    "runs did not succeed: "
                    + ", ".join(f"{d} {run_id}" for d, run_id, _ in failed)
                    + " (see the task logs)"
                )
            return runs
        time.sleep(poll)
    raise BenchError(f"the round did not settle within {timeout:.0f} s")


# --- measuring a round ----------------------------------------------------------------------


@dataclass
class Stage:
    wall_s: float
    rows: int
    peak_rss_bytes: int | None = None
    task_s: float | None = None  # sum of the task instances' durations
    runs: int | None = None

    def as_dict(self) -> dict:
        out: dict = {
            "wall_s": round(self.wall_s, 3),
            "rows": self.rows,
            "rows_per_s": round(self.rows / self.wall_s, 1) if self.wall_s > 0 else None,
            "peak_rss_mb": round(self.peak_rss_bytes / MB, 1) if self.peak_rss_bytes else None,
        }
        if self.task_s is not None:
            out["task_s"] = round(self.task_s, 3)
        if self.runs is not None:
            out["runs"] = self.runs
        return out


@dataclass
class Round:
    wall_s: float
    rows: int
    stages: dict[str, Stage]
    task_instances: dict[str, list[dict]] = field(default_factory=dict)  # by "<dag_id> <run_id>"

    def as_dict(self) -> dict:
        return {
            "wall_s": round(self.wall_s, 3),
            "rows": self.rows,
            "stages": {name: s.as_dict() for name, s in self.stages.items()},
        }


def _span(items: list[dict]) -> float:
    starts = [_ts(i.get("start_date")) for i in items if i.get("start_date")]
    ends = [_ts(i.get("end_date")) for i in items if i.get("end_date")]
    return (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0


def _db_now(url: str) -> datetime:
    from ndc.warehouse import connect

    with connect(url, autocommit=True) as conn:
        return conn.execute("select now()").fetchone()[0]


def _loaded_rows(warehouse_url: str, since: datetime) -> dict[str, int]:
    from ndc.warehouse import connect

    with connect(warehouse_url) as conn:
        rows = conn.execute(
            "select source, sum(rows_loaded) from ops.load_ledger where loaded_at >= %s "
            "group by source",
            (since,),
        ).fetchall()
    return {source: int(n) for source, n in rows}


def _synced_rows(population_url: str, since: datetime) -> int:
    from ndc.warehouse import connect

    with connect(population_url) as conn:
        return conn.execute(
            "select count(*) from citizen where updated_at >= %s", (since,)
        ).fetchone()[0]


def run_round(
    client,
    sampler,
    settings: Settings,
    sources: list[str],
    label: str,
    log: Log,
    timeout: float,
) -> Round:
    """Run every ingest DAG and what its Assets trigger; measure every stage."""
    from ndc.flow import DOWNSTREAM, ndc_dag_ids, start_ingests

    ingest_ids = [f"ingest_{s}" for s in sources]
    dag_ids = ndc_dag_ids(sources)
    for dag_id in DOWNSTREAM:  # Asset-scheduled: unpausing them starts nothing by itself
        client.unpause(dag_id)
    db_since = _db_now(settings.warehouse_url)
    log(f"{label}: starting every ingest DAG")
    since = _ts(start_ingests(client, ingest_ids, log))
    runs = settle(client, dag_ids, since, log, timeout)
    loaded = _loaded_rows(settings.warehouse_url, db_since)
    rows = sum(loaded.values())
    tis = {
        f"{d} {r['dag_run_id']}": task_instances(client, d, r["dag_run_id"])
        for d, rs in runs.items()
        for r in rs
    }

    def stage(dag_id: str, rows: int) -> Stage:
        """The stage's runs, each's wall time summed: a transform run and a sync run alternate
        (max one active run each), so a span over both would count the other's time."""
        rs = runs.get(dag_id, [])
        ti = [t for r in rs for t in tis[f"{dag_id} {r['dag_run_id']}"]]
        peaks = [m.peak_bytes for t in ti if (m := sampler.tasks.get(t["id"]))]
        wall = sum(_span([r]) for r in rs)
        return Stage(
            wall_s=wall,
            rows=rows,
            peak_rss_bytes=max(peaks, default=None),
            task_s=sum(t.get("duration") or 0.0 for t in ti),
            runs=len(rs),
        )

    stages = {f"extract_load.{s}": stage(f"ingest_{s}", loaded.get(s, 0)) for s in sources}
    stages["transform"] = stage("transform", rows)
    stages["sync"] = stage("sync_population", _synced_rows(settings.population_url, db_since))
    all_runs = [r for rs in runs.values() for r in rs]
    first = min(_ts(r["queued_at"]) for d in ingest_ids for r in runs.get(d, []))
    last = max(_ts(r["end_date"]) for r in all_runs)
    result = Round(
        wall_s=(last - first).total_seconds(),
        rows=rows,
        stages=stages,
        task_instances=tis,
    )
    for name, s in stages.items():
        log(f"{label}: {name}: {s.wall_s:.1f} s, {s.rows:,} rows ({s.runs} run(s))")
    log(f"{label}: {result.wall_s:.1f} s from the first ingest run to the end of the last run")
    return result


def cosmos_seconds(round_: Round) -> list[float]:
    """Wall time of the transform's dbt task group (first start to last end of the tasks whose
    id starts with ``dbt.``) of each of the round's transform runs, in the order they ran."""
    spans = []
    for run, tis in round_.task_instances.items():
        if not run.startswith("transform "):
            continue
        dbt = [t for t in tis if t["task_id"].startswith("dbt.")]
        if dbt:
            start = min(_ts(t["start_date"]) for t in dbt if t.get("start_date"))
            spans.append((start, _span(dbt)))
    return [span for _, span in sorted(spans)]


# --- the plain dbt build --------------------------------------------------------------------


def _dbt_env(warehouse_url: str) -> dict[str, str]:
    """The environment the project's own profile (profiles.yml, target dev) reads."""
    from sqlalchemy.engine import make_url

    u = make_url(warehouse_url)
    env = dict(os.environ)
    env.update(
        {
            "NDC_WAREHOUSE_HOST": u.host or "127.0.0.1",
            "NDC_WAREHOUSE_PORT": str(u.port or 5432),
            "NDC_WAREHOUSE_USER": u.username or "postgres",
            "NDC_WAREHOUSE_PASSWORD": u.password or "",
            "NDC_WAREHOUSE_DB": u.database or "",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def plain_dbt_build(warehouse_url: str, log: Log) -> dict:
    """``dbt build --full-refresh`` with the venv's dbt CLI; returns parse and build seconds."""
    dbt = Path(sys.executable).parent / "dbt"
    exe = str(dbt if dbt.exists() else "dbt")
    env = _dbt_env(warehouse_url)
    with tempfile.TemporaryDirectory(prefix="ndc-bench-dbt-") as tmp:
        # Its own target and log folders: the project's target/ holds the manifest the
        # transform DAG renders from, which this build must not replace.
        common = ["--profiles-dir", ".", "--target-path", tmp, "--log-path", tmp]
        result = {}
        for step, argv in (
            ("parse_s", ["parse", *common, "--quiet"]),
            ("build_s", ["build", *common, "--full-refresh", "--quiet"]),
        ):
            log(f"dbt: {' '.join(['dbt', argv[0], *argv[len(common) + 1 :]])}")
            start = time.perf_counter()
            proc = subprocess.run(
                [exe, *argv], cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True
            )
            result[step] = time.perf_counter() - start
            if proc.returncode != 0:
                raise BenchError(
                    f"dbt {argv[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                )
    log(f"dbt: plain build {result['build_s']:.1f} s (parse {result['parse_s']:.1f} s)")
    return result


# --- the whole benchmark --------------------------------------------------------------------


def scale_settings(user: Settings) -> tuple[Path, str]:
    """Where the benchmark runs: NDC_HOME/bench_scale and the database prefix <prefix>_scale."""
    return user.home / "bench_scale", f"{user.db_prefix}_scale"


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM (``timeout``, a CI runner) into an exception for the duration, so that the
    ``finally`` that stops the benchmark's Airflow runs (by default Python dies at once and
    leaves the components, started in sessions of their own, running)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _generate(out: Path, persons: int, seed: int, days: int, log: Log) -> Stage:
    from ndc.bench_generate import generate_in_child

    log(f"generate: {persons:,} persons (seed {seed}, {days} days) into {out}")
    run = generate_in_child(out, persons, seed, days)
    log(f"generate: {run.wall_s:.1f} s, {run.total_rows:,} rows")
    return Stage(wall_s=run.wall_s, rows=run.total_rows, peak_rss_bytes=run.peak_rss_bytes)


def run_scale_benchmark(
    user: Settings,
    *,
    persons: int,
    days: int = 3,
    seed: int = 42,
    log: Log = print,
    keep: bool = False,
    timeout: float = 4 * 3600,
) -> dict:
    """Run the benchmark on an Airflow and databases of its own; returns the ``--json`` shape."""
    from ndc.airflow_runtime import running
    from ndc.bench_rss import TaskMemorySampler
    from ndc.flow import ndc_dag_ids
    from ndc.registry import load_registry
    from ndc.stack import education_api, isolated, stack_up

    home, prefix = scale_settings(user)
    sources = load_registry()
    with _sigterm_unwinds(), isolated(user, home, prefix, log, keep=keep):
        data_dir = home / "sources"
        generate_full = _generate(data_dir, persons, seed, days, log)
        with education_api(data_dir, log) as settings:
            client = stack_up(settings, sources, log, parse_dbt=True)
            client.wait_for_dags(ndc_dag_ids(list(sources)))
            with TaskMemorySampler(running(settings)["scheduler"]) as sampler:
                full = run_round(client, sampler, settings, list(sources), "full", log, timeout)
                plain = plain_dbt_build(settings.warehouse_url, log)
                generate_more = _generate(data_dir, persons, seed, days + 1, log)
                increment = run_round(
                    client, sampler, settings, list(sources), "increment", log, timeout
                )
            log(f"task memory: {len(sampler.tasks)} task processes, {sampler.samples} samples")
    full.stages = {"generate": generate_full, **full.stages}
    increment.stages = {"generate": generate_more, **increment.stages}
    return result_dict(persons, days, seed, full, increment, plain, sampler)


def result_dict(persons, days, seed, full: Round, increment: Round, plain: dict, sampler) -> dict:
    """The ``--json`` shape; every ratio is the quotient of the rounded values it shows."""
    # The round's first transform run conforms every batch the round loaded: the work of the
    # plain full-refresh build beside it. The runs after it settle on the population the sync
    # changed (work the plain build, on the settled warehouse, does not have): counted apart.
    spans = cosmos_seconds(full)
    cosmos_s = round(spans[0], 3) if spans else 0.0
    plain_s = round(plain["build_s"], 3)
    out_full, out_inc = full.as_dict(), increment.as_dict()
    peak_id, peak = max(
        ((tid, m.peak_bytes) for tid, m in sampler.tasks.items()),
        key=lambda x: x[1],
        default=("", 0),
    )
    names = {
        t["id"]: f"{t['dag_id']}.{t['task_id']}"
        for r in (full, increment)
        for tis in r.task_instances.values()
        for t in tis
    }
    peak_mb = round(peak / MB, 1)
    result = {
        "persons": persons,
        "days": days,
        "seed": seed,
        "full": out_full,
        "increment": out_inc,
        "increment_ratio": out_inc["wall_s"] / out_full["wall_s"] if out_full["wall_s"] else None,
        "dbt": {
            "cosmos_s": cosmos_s,
            "plain_s": plain_s,
            "ratio": cosmos_s / plain_s if plain_s else None,
            "transform_runs": len(spans),
            "cosmos_round_s": round(sum(spans), 3),
            "round_ratio": round(sum(spans), 3) / plain_s if plain_s else None,
            "plain_parse_s": round(plain["parse_s"], 3),
        },
        "peak_rss_mb": peak_mb,
        "peak_rss_task": names.get(peak_id, peak_id),
        "task_processes": len(sampler.tasks),
    }
    result["targets"] = targets(result)
    return result


def targets(result: dict) -> dict:
    """Each of the issue's targets with this run's value and verdict (None: does not apply)."""
    at_scale = result["persons"] >= TARGET_PERSONS
    values = {
        "full_wall_s": (result["full"]["wall_s"], TARGET_FULL_S, at_scale),
        "increment_ratio": (result["increment_ratio"], TARGET_INCREMENT_RATIO, True),
        "cosmos_ratio": (result["dbt"]["ratio"], TARGET_COSMOS_RATIO, True),
        "peak_rss_mb": (result["peak_rss_mb"], TARGET_RSS_MB, True),
    }
    return {
        name: {
            "value": value,
            "max": limit,
            "ok": (value is not None and value <= limit) if applies else None,
        }
        for name, (value, limit, applies) in values.items()
    }


def format_summary(result: dict) -> str:
    """The readable tables: stages full and increment, dbt, then each target's verdict."""
    full, inc = result["full"], result["increment"]
    lines = [
        f"scale benchmark: {result['persons']:,} persons, {result['days']} days then one more "
        f"(seed {result['seed']})",
        "",
        f"{'stage':<32}{'full s':>9}{'rows':>11}{'rows/s':>10}{'MB':>7}"
        f"{'incr s':>9}{'rows':>9}{'rows/s':>9}{'MB':>7}",
    ]

    def cells(s: dict | None, w: tuple[int, int, int, int]) -> str:
        if s is None:
            return "".join(f"{'-':>{n}}" for n in w)
        mb = f"{s['peak_rss_mb']:.0f}" if s.get("peak_rss_mb") else "-"
        rate = f"{s['rows_per_s']:,.0f}" if s.get("rows_per_s") is not None else "-"
        return f"{s['wall_s']:>{w[0]}.1f}{s['rows']:>{w[1]},}{rate:>{w[2]}}{mb:>{w[3]}}"

    for name in full["stages"]:
        label = name.replace("extract_load.", "extract+load ")
        runs = full["stages"][name].get("runs")
        if name == "transform" and runs and runs > 1:
            label += f" ({runs} runs)"
        lines.append(
            f"{label:<32}{cells(full['stages'][name], (9, 11, 10, 7))}"
            f"{cells(inc['stages'].get(name), (9, 9, 9, 7))}"
        )
    lines.append(
        f"{'first ingest -> end of sync':<32}{full['wall_s']:>9.1f}{full['rows']:>11,}{'':>17}"
        f"{inc['wall_s']:>9.1f}{inc['rows']:>9,}"
    )
    dbt = result["dbt"]
    lines += [
        "",
        f"dbt: the Cosmos task group took {dbt['cosmos_s']:.1f} s in the transform run that "
        f"conformed every batch",
        f"     ({dbt['cosmos_round_s']:.1f} s over the round's {dbt['transform_runs']} transform "
        f"runs, settling included: {dbt['round_ratio']:.2f}x plain);",
        f"     a plain `dbt build --full-refresh` {dbt['plain_s']:.1f} s "
        f"(after an untimed parse of {dbt['plain_parse_s']:.1f} s)",
        f"peak task RSS: {result['peak_rss_mb']:.0f} MB ({result['peak_rss_task']}; "
        f"{result['task_processes']} task processes sampled; MB columns: the stage's peak)",
        "",
        f"{'target':<32}{'value':>12}{'target':>14}  verdict",
    ]
    shown = {
        "full_wall_s": ("full run at 1,000,000 persons", "{:.1f} s", "<= {:.0f} s"),
        "increment_ratio": ("increment / full wall time", "{:.3f}", "<= {:.2f}"),
        "cosmos_ratio": ("Cosmos / plain dbt build", "{:.2f}x", "<= {:.1f}x"),
        "peak_rss_mb": ("peak RSS of any task", "{:.0f} MB", "<= {:,.0f} MB"),
    }
    for name, t in result["targets"].items():
        label, value_fmt, limit_fmt = shown[name]
        value = value_fmt.format(t["value"]) if t["value"] is not None else "-"
        if t["ok"] is None:
            verdict = f"n/a ({result['persons']:,} persons)"
        else:
            verdict = "PASS" if t["ok"] else "FAIL"
        lines.append(f"{label:<32}{value:>12}{limit_fmt.format(t['max']):>14}  {verdict}")
    if result["persons"] < TARGET_PERSONS:
        lines.append(
            f"(the targets are for {TARGET_PERSONS:,} persons; on a small country the fixed "
            "costs,\n Airflow scheduling and dbt start-up, dominate every ratio)"
        )
    return "\n".join(lines)
