"""An evaluation's run: the whole flow through Airflow on a country, into databases, a landing
zone and an Airflow of its own (never the user's), then its outputs read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ndc.evaluate.outputs import Outputs, read_outputs, read_truth
from ndc.settings import Settings


def evaluation_settings(user: Settings) -> tuple[Path, str]:
    """Where an evaluation runs: NDC_HOME/evaluate and the database prefix <prefix>_eval."""
    return user.home / "evaluate", f"{user.db_prefix}_eval"


def settle(client, settings: Settings, log: Callable[[str], None], rounds: int = 4) -> int:
    """Transform and sync again until the population database stops changing.

    A sync changes the population database (new citizens, filled values, deaths), which the
    next transform conforms against (names take the population's marks, CMNDs resolve): the
    warehouse and the population database agree once a transform and its sync change nothing.
    Live, the next day's runs do this; an evaluation, which must compare a finished state,
    does it here. Returns the rounds run."""
    from ndc.airflow_runtime import AirflowError
    from ndc.compare import table_hashes
    from ndc.flow import _now

    def population() -> dict:
        return table_hashes(settings.population_url, ["public.citizen"])

    before = population()
    for n in range(1, rounds + 1):
        started = _now()
        run_id = client.trigger("transform")
        log(f"settling: transform run {run_id} (round {n})")
        client.wait_run("transform", run_id, log=log)
        if client.task_state("transform", run_id, "prepare_warehouse") == "skipped":
            # Nothing new since the last transform: its sync already ran on this warehouse.
            log(f"settled after {n} round(s): the transform had nothing to do")
            return n
        sync = client.wait_triggered_run("sync_population", after=started, log=log)
        client.wait_run("sync_population", sync["dag_run_id"], log=log)
        after = population()
        if after == before:
            log(f"settled after {n} round(s): the population database no longer changes")
            return n
        before = after
    raise AirflowError(f"the population database still changed after {rounds} settling rounds")


def run_pipeline(
    user: Settings,
    *,
    persons: int,
    seed: int,
    days: int,
    data_dir: Path | None,
    log: Callable[[str], None],
    cleanup: bool = False,
    daily: bool = True,
) -> tuple[Path, pd.DataFrame, Outputs, str | None]:
    """Generate a country (unless ``data_dir``), run every DAG on it through an Airflow of its
    own, and read the outputs. Returns the data folder, its ground truth (read before
    ``cleanup`` drops the folder), the outputs and the pipeline's error (None when every run
    succeeded; the outputs are read either way).

    ``daily`` (a generated country only): the days arrive one at a time, as they would live:
    day 1 is generated and run through the flow, then the country is extended by one day and
    the flow runs again, up to ``days``. Otherwise every day is generated and run at once. Either
    way the pipeline then settles (:func:`settle`)."""
    from ndc.airflow_runtime import AirflowError
    from ndc.flow import run_flow
    from ndc.registry import load_registry
    from ndc.stack import education_api, isolated, stack_up
    from ndc.synthetic import generate

    home, prefix = evaluation_settings(user)
    if data_dir is not None and data_dir.resolve().is_relative_to(home.resolve()):
        raise ValueError(f"{data_dir} is inside {home}, which every evaluation starts afresh")
    sources = load_registry()
    with isolated(user, home, prefix, log, keep=not cleanup):
        daily = daily and data_dir is None and days > 1
        if data_dir is None:
            data_dir = home / "sources"
            first = 1 if daily else days
            log(f"generating {persons} persons (seed {seed}, {first} day(s)) into {data_dir}")
            generate(data_dir, persons=persons, seed=seed, days=first)
        data_dir = data_dir.resolve()
        read_truth(data_dir)  # fail early on a folder without ground truth
        with education_api(data_dir, log) as settings:
            client = stack_up(settings, sources, log, parse_dbt=True)
            error = None
            try:
                run_flow(client, list(sources), log=log)
                for day in range(2, days + 1) if daily else ():
                    log(f"day {day}: extending the country by one day")
                    generate(data_dir, persons=persons, seed=seed, days=day)
                    run_flow(client, list(sources), log=log)
                settle(client, settings, log=log)
            except AirflowError as exc:
                error = str(exc)
                log(f"pipeline failed: {error}; scoring what it produced")
            log("reading the outputs from the warehouse")
            entities = [(s.name, e.name) for s in sources.values() for e in s.entities]
            outputs = read_outputs(settings.warehouse_url, entities)
        truth = read_truth(data_dir)  # the last day's: each day's generation extends it
    if not cleanup:
        log(f"outputs kept in {settings.warehouse_url} (dropped by the next evaluation)")
    return data_dir, truth, outputs, error
