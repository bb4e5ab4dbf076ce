"""Run fault cases through the real path and measure what they did to the data.

One isolated stack (``ndc.stack.isolated``: databases ``<prefix>_rel_*``, NDC_HOME/reliability,
an Airflow of its own) on a small generated country, with the landing zone on an S3 server on
loopback (moto's server, behind a :class:`~ndc.reliability.outage.TcpGate` so a case can take
it down). A clean run goes first: its content hashes (``ndc.compare``) and row multisets are
the reference every case is compared with. Before each case the state is made clean again:
the warehouse and population databases dropped and created afresh (baseline loaded), the
landing zone emptied; Airflow stays up (starting one per case would cost a minute each and
change nothing the cases test).

The soak (:func:`run_soak`) runs N days of changes twice on the same stack, once clean and
once with faults struck on random days, and compares the two end states.
"""

from __future__ import annotations

import contextlib
import importlib
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from ndc.compare import PROCESSING_COLUMNS
from ndc.reliability.cases import CaseContext, CaseResult, FaultCase, row_multiset_diff
from ndc.settings import Settings, libpq_url

# Where the cases live: this helper's, and the source cases when that module exists.
CASE_MODULES = ("ndc.reliability.process_cases", "ndc.reliability.source_cases")
S3_KEY = "reliability"
# Compared row by row (rows lost, duplicated): where a lost or doubled row would show.
ROW_RELATIONS_EXTRA = ("marts.citizens",)
NOT_CONTENT = frozenset({"_batch_id"})  # which batch a row came in, not what it says
EXCLUDED = PROCESSING_COLUMNS | NOT_CONTENT


def all_cases() -> list[FaultCase]:
    """The cases of every case module present (``source_cases`` is optional)."""
    found: list[FaultCase] = []
    for name in CASE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        found += module.CASES
    return found


def select(cases: list[FaultCase], names: list[str] | None, bounded: bool) -> list[FaultCase]:
    """The cases named (all when none; ``none``: no case, for a soak alone), only the bounded
    ones with ``bounded``."""
    if names == ["none"]:
        return []
    if names:
        known = {c.name: c for c in cases}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"no case {', '.join(unknown)}; the cases are {', '.join(known)}")
        cases = [known[n] for n in names]
    return [c for c in cases if c.bounded] if bounded else cases


@dataclass
class State:
    """What a run left: content hashes per relation and row multisets of the compared ones."""

    hashes: dict
    rows: dict[str, Counter]

    def diff(self, clean: State) -> tuple[int, int, dict]:
        """(rows lost, rows duplicated, relations whose hashes differ) against ``clean``."""
        from ndc.compare import differences

        lost = duplicated = 0
        for name in sorted(set(clean.rows) | set(self.rows)):
            a, b = row_multiset_diff(
                clean.rows.get(name, Counter()).elements(),
                self.rows.get(name, Counter()).elements(),
            )
            lost, duplicated = lost + a, duplicated + b
        return lost, duplicated, differences(clean.hashes, self.hashes)


def _row_texts(url: str, relation: str) -> Counter:
    """Each row's text without processing columns and batch ids, counted."""
    from ndc.warehouse import connect

    schema, table = relation.split(".")
    with connect(url) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            ).fetchall()
            if r[0] not in EXCLUDED
        ]
        query = sql.SQL("select row({})::text from {}.{}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier(schema),
            sql.Identifier(table),
        )
        return Counter(r[0] for r in conn.execute(query))


def read_state(settings: Settings) -> State:
    """Hashes of every raw, dbt and population relation; rows of raw, marts.citizens and the
    population database's citizens."""
    from ndc.compare import DBT_SCHEMAS, relations, table_hashes

    warehouse, population = settings.warehouse_url, settings.population_url
    names = relations(warehouse, ("raw", *DBT_SCHEMAS))
    hashes = table_hashes(warehouse, names, EXCLUDED)
    hashes |= {
        f"population.{k}": v
        for k, v in table_hashes(population, ["public.citizen"], EXCLUDED).items()
    }
    rows = {n: _row_texts(warehouse, n) for n in names if n.startswith("raw.")}
    rows |= {n: _row_texts(warehouse, n) for n in ROW_RELATIONS_EXTRA if n in names}
    rows["population.public.citizen"] = _row_texts(population, "public.citizen")
    return State(hashes, rows)


@dataclass
class Stack:
    """The running stack the cases share, and what a case does with it."""

    settings: Settings
    sources: dict
    client: object  # ndc.airflow_runtime.AirflowClient
    gate: object  # ndc.reliability.outage.TcpGate
    log: Callable[[str], None]
    reference: State | None = None
    extra: dict = field(default_factory=dict)

    def reset(self) -> None:
        """A clean state: fresh warehouse and population databases, an empty landing zone, no
        fault armed."""
        import shutil

        from ndc.landing import landing_from_settings
        from ndc.stack import databases_up, load_baseline_snapshot
        from ndc.warehouse import drop_database

        self._stop_stalled()
        for role in ("warehouse", "population"):
            drop_database(self.settings.database_url(role))
        landing = landing_from_settings(self.settings)
        for key in landing.list(""):
            landing.delete(key)
        shutil.rmtree(self.settings.home / "faults", ignore_errors=True)
        databases_up(self.settings, self.sources, log=lambda _: None)
        load_baseline_snapshot(self.settings, log=lambda _: None)
        self.log("clean state: fresh warehouse and population databases, empty landing zone")

    def _stop_stalled(self) -> None:
        """Wait for the runs in flight; a run a case left stalled is marked failed, so the next
        case starts with nothing running."""
        from ndc.airflow_runtime import TERMINAL_STATES, AirflowError

        try:
            self.client.wait_idle(self._dag_ids(), timeout=120)
        except AirflowError:
            for dag_id in self._dag_ids():
                for r in self.client.runs(dag_id):
                    if r["state"] not in TERMINAL_STATES:
                        self.log(f"{dag_id} {r['dag_run_id']} still {r['state']}: marked failed")
                        self.client.fail_run(dag_id, r["dag_run_id"])
            time.sleep(10)

    def _dag_ids(self) -> list[str]:
        from ndc.flow import ndc_dag_ids

        return ndc_dag_ids(list(self.sources))

    def run_flow(self, settle: bool = True) -> None:
        """One day through the scheduler: every ingest, the Asset-triggered transform and sync;
        with ``settle``, transform and sync again until the population stops changing."""
        from ndc.evaluate.pipeline import settle as settle_population
        from ndc.flow import run_flow

        run_flow(self.client, list(self.sources), log=self.log)
        if settle:
            settle_population(self.client, self.settings, log=self.log)

    def operator_clears(self, since: str) -> list[str]:
        """What an operator does with a failed run: clear its failed tasks (Airflow runs them
        again), for every run since ``since``; then wait and settle. Returns what was cleared."""
        from ndc.evaluate.pipeline import settle as settle_population
        from ndc.flow import failed_runs, runs_since

        cleared = []
        for dag_id, run_id, _ in failed_runs(runs_since(self.client, self._dag_ids(), since)):
            tasks = self.client.failed_tasks(dag_id, run_id)
            self.client.clear_failed(dag_id, run_id)
            cleared.append(f"{dag_id} {run_id}: {', '.join(tasks)}")
            self.log(f"operator: cleared {dag_id} {run_id} ({', '.join(tasks)})")
        time.sleep(5)
        self.client.wait_idle(self._dag_ids())
        settle_population(self.client, self.settings, log=self.log)
        return cleared


def _start_s3(log: Callable[[str], None]) -> tuple[subprocess.Popen, int]:
    """moto's S3 server on a free loopback port (the tests' S3, as tests/conftest.py starts it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            log(f"landing zone: S3 server (moto) on 127.0.0.1:{port}, pid {proc.pid}")
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the S3 server (python -m moto.server) did not start within 15 s")


@contextlib.contextmanager
def reliability_stack(
    user: Settings, persons: int, seed: int, log: Callable[[str], None], keep: bool = False
) -> Iterator[Stack]:
    """The shared stack: isolated databases and NDC_HOME, a country of ``persons`` (one day),
    the landing zone on S3 behind a gate, Airflow up."""
    import os

    from ndc.registry import load_registry
    from ndc.reliability.outage import TcpGate
    from ndc.stack import education_api, isolated, stack_up
    from ndc.synthetic import generate

    home, prefix = user.home / "reliability", f"{user.db_prefix}_rel"
    sources = load_registry()
    with isolated(user, home, prefix, log, keep=keep):
        data_dir = home / "sources"
        log(f"generating {persons} persons (seed {seed}, 1 day) into {data_dir}")
        generate(data_dir, persons=persons, seed=seed, days=1)
        s3, s3_port = _start_s3(log)
        gate = TcpGate(("127.0.0.1", s3_port))
        os.environ |= {
            "NDC_LANDING_URL": "s3://ndc-reliability/landing",
            "NDC_S3_ENDPOINT": gate.url,
            "NDC_S3_ACCESS_KEY": S3_KEY,
            "NDC_S3_SECRET_KEY": S3_KEY,
        }
        log(f"landing zone: s3://ndc-reliability/landing through {gate.url}")
        try:
            with education_api(data_dir, log) as settings:
                client = stack_up(settings, sources, log, parse_dbt=True)
                yield Stack(settings, sources, client, gate, log, extra={"data_dir": data_dir})
        finally:
            gate.down()
            s3.terminate()
            s3.wait(10)


def reference_run(stack: Stack) -> State:
    """The run without a fault that every case is compared with."""
    stack.log("reference: the flow without a fault")
    started = time.monotonic()
    stack.run_flow()
    state = read_state(stack.settings)
    stack.extra["reference_s"] = round(time.monotonic() - started, 1)
    stack.log(
        f"reference: {stack.extra['reference_s']} s, {len(state.hashes)} relations, "
        f"{sum(sum(c.values()) for c in state.rows.values())} rows compared row by row"
    )
    return state


def run_cases(stack: Stack, cases: list[FaultCase]) -> list[CaseResult]:
    """Each case from a clean state, compared with the reference."""
    results = []
    for n, case in enumerate(cases, 1):
        stack.log(f"case {n}/{len(cases)} {case.name}: {case.what}")
        stack.reset()
        ctx = CaseContext(
            stack.settings, stack.settings.home / "cases" / case.name, stack.log, {"stack": stack}
        )
        ctx.work.mkdir(parents=True, exist_ok=True)
        result = case.run(ctx)
        stack.log(
            f"case {case.name}: {result.rows_lost} lost, {result.rows_duplicated} duplicated, "
            f"{'recovered by itself' if result.recovered else 'needed an operator'}"
            f"{f' in {result.recover_s} s' if result.recover_s is not None else ''}"
        )
        results.append(result)
    return results


# The faults the soak strikes with, at random days and stages: (point, case name) from
# process_cases; every one of them a process kill or an outage the flow recovers from.
SOAK_FAULTS = (
    "kill_extract",
    "kill_load_copy",
    "kill_transform_build",
    "kill_sync",
    "warehouse_cut_load",
    "population_cut_sync",
    "s3_down_landing",
)


def soak_plan(days: int, seed: int, faults: int | None = None) -> dict[int, str]:
    """Which fault strikes on which day (fixed by ``seed``): about one day in two."""
    rng = random.Random(seed)
    count = faults if faults is not None else (days + 1) // 2
    chosen = sorted(rng.sample(range(1, days + 1), min(count, days)))
    # Different faults first: a short soak still strikes different stages.
    kinds = rng.sample(SOAK_FAULTS, len(SOAK_FAULTS))
    return {day: kinds[n % len(kinds)] for n, day in enumerate(chosen)}


def run_soak(stack: Stack, days: int, persons: int, seed: int) -> dict:
    """``days`` days of changes through the scheduler, clean and then with faults struck on
    the days of :func:`soak_plan`; the two end states must be equal (hashes and rows), and the
    peak task memory must not grow day by day."""
    from ndc.airflow_runtime import running
    from ndc.bench_rss import TaskMemorySampler
    from ndc.reliability.process_cases import strike_for_soak
    from ndc.synthetic import generate

    data_dir = stack.extra["data_dir"]
    plan = soak_plan(days, seed)
    stack.log(f"soak: {days} days on {persons} persons; faults {plan}")
    ends, peaks, struck = {}, {}, []
    for mode in ("clean", "faults"):
        # Day 1 first: the clean state loads the population baseline of this country.
        generate(data_dir, persons=persons, seed=seed, days=1)
        stack.reset()
        with TaskMemorySampler(running(stack.settings)["scheduler"]) as sampler:
            for day in range(1, days + 1):
                if day > 1:
                    generate(data_dir, persons=persons, seed=seed, days=day)
                before = set(sampler.tasks)
                fault = plan.get(day) if mode == "faults" else None
                stack.log(f"soak {mode}: day {day}{f', fault {fault}' if fault else ''}")
                if fault:
                    struck.append(strike_for_soak(stack, fault, day))
                else:
                    stack.run_flow(settle=False)
                new = [m.peak_bytes for t, m in sampler.tasks.items() if t not in before]
                peaks.setdefault(mode, []).append(round(max(new, default=0) / 2**20, 1))
        from ndc.evaluate.pipeline import settle

        settle(stack.client, stack.settings, log=stack.log)
        ends[mode] = read_state(stack.settings)
    lost, duplicated, differ = ends["faults"].diff(ends["clean"])
    faulty = peaks["faults"]
    return {
        "days": days,
        "persons": persons,
        "seed": seed,
        "faults": [f"day {d}: {name}" for d, name in plan.items()],
        "struck": struck,
        "equal_to_clean": not differ and not lost and not duplicated,
        "rows_lost": lost,
        "rows_duplicated": duplicated,
        "relations_differing": sorted(differ),
        "task_peak_mib_by_day": peaks,
        # Growth: the last day's peak against the first's (a leak grows it day after day).
        "memory_growing": bool(faulty and faulty[-1] > 1.25 * max(faulty[0], 1)),
    }


def database_name(url: str) -> str:
    return Path(libpq_url(url)).name
