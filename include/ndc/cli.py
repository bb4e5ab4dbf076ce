"""The ``ndc`` command: generate sources, run the embedded default, report, benchmark."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from ndc import settings as settings_mod

_T0 = time.monotonic()


def log(message: str) -> None:
    """A progress line on stderr (stdout stays for results, e.g. --json): elapsed time and
    message, flushed at once."""
    click.echo(f"[{time.monotonic() - _T0:6.1f}s] {message}", err=True)
    sys.stderr.flush()


def _sources() -> dict:
    from ndc.registry import load_registry

    return load_registry()


@click.group()
def main() -> None:
    """ndc: consolidate sectoral and local data into the national data center."""


# --- data ----------------------------------------------------------------------------


@main.command()
@click.option("--persons", default=1000, show_default=True, help="Persons in the ground truth.")
@click.option("--seed", default=42, show_default=True)
@click.option("--days", default=3, show_default=True, help="Days of changes after the baseline.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: NDC_DATA_DIR or NDC_HOME/sources].",
)
@click.option(
    "--target",
    multiple=True,
    metavar="SOURCE=URL",
    help="Write a SQL source to this SQLAlchemy URL instead of SQLite.",
)
def generate(persons: int, seed: int, days: int, out: Path | None, target: tuple[str, ...]) -> None:
    """Generate the synthetic source systems (and their ground truth)."""
    from ndc.synthetic import generate as run

    out = out or settings_mod.load().data_dir
    targets = dict(t.split("=", 1) for t in target)
    log(f"generating {persons} persons (seed {seed}, {days} days) into {out}")
    summary = run(out, persons=persons, seed=seed, days=days, targets=targets or None)
    click.echo(summary.as_table())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def report(as_json: bool) -> None:
    """Rows per source and entity at every stage, the reconciliation, the citizen count and
    the discrepancies per source agency, by kind."""
    from ndc.report import build_report, format_report

    s = settings_mod.load()
    data = build_report(s.warehouse_url, s.population_url, _sources())
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else format_report(data))


@main.command("reconcile")
@click.option(
    "--all", "everything", is_flag=True, help="Check every batch ever loaded, not only new ones."
)
def reconcile_cmd(everything: bool) -> None:
    """Check per batch that extracted = landed = loaded = conformed + quarantined + merged and
    store it in ops.reconciliation: the batches not checked yet that the staging models hold,
    or with --all every batch. Fails naming each batch that does not balance."""
    from ndc.reconcile import ReconciliationError, reconcile

    try:
        balances = reconcile(settings_mod.load().warehouse_url, _sources(), everything)
    except ReconciliationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(balances)} batch(es) checked, all balanced")
    if balances.waiting:
        click.echo(
            f"{len(balances.waiting)} batch(es) not conformed yet (loaded after the staging "
            f"models ran): {', '.join(balances.waiting)}"
        )


@main.group()
def registry() -> None:
    """The source registry."""


@registry.command("check")
def registry_check() -> None:
    """Validate every registry file."""
    for name, source in _sources().items():
        click.echo(f"{name}: {source.kind.value}, {len(source.entities)} entities - ok")


@main.group()
def dictionary() -> None:
    """The shared data dictionary."""


@dictionary.command("seeds")
def dictionary_seeds() -> None:
    """Regenerate the dbt seeds from the dictionary."""
    from ndc.dictionary import write_seeds

    for path in write_seeds(settings_mod.DBT_PROJECT_DIR / "seeds"):
        click.echo(f"wrote {path}")


@dictionary.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def dictionary_export(out_dir: Path) -> None:
    """Write the dictionary for agencies: index.html (searchable), elements.csv, code lists."""
    from ndc.dictionary import export

    for path in export(out_dir):
        click.echo(f"wrote {path}")


@main.group()
def population() -> None:
    """The population database."""


def _baseline(s: settings_mod.Settings, path: Path | None = None) -> None:
    from ndc.population import citizen_count, load_baseline

    path = path or s.data_dir / "population_db" / "baseline.parquet"
    if not path.exists():
        log(f"population: no baseline snapshot at {path}; starting empty")
        return
    loaded = load_baseline(s.population_url, path)
    if loaded:
        log(f"population: loaded the baseline snapshot, {loaded} citizens ({path})")
    else:
        log(
            f"population: already holds {citizen_count(s.population_url)} citizens; "
            "baseline left alone"
        )


@population.command("baseline")
@click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="Parquet snapshot [default: the generated population_db/baseline.parquet].",
)
def population_baseline(path: Path | None) -> None:
    """Load what the population database held before ndc ran (once, into an empty table)."""
    s = settings_mod.load()
    _db_up(s)
    _baseline(s, path)


# --- synthetic source systems ------------------------------------------------------------


@main.group()
def sources() -> None:
    """The synthetic source systems that run as servers (the education REST API)."""


def _source_processes(s: settings_mod.Settings):
    from ndc.processes import Processes

    return Processes(s.home / "run", s.home / "logs")


def _sources_up(s: settings_mod.Settings) -> None:
    import requests

    url = f"http://127.0.0.1:{s.api_port}"
    argv = [
        sys.executable,
        "-m",
        "ndc.synthetic.education_api",
        "--data",
        str(s.data_dir),
        "--port",
        str(s.api_port),
    ]
    procs = _source_processes(s)
    pid = procs.start("education_api", argv, dict(os.environ), cwd=s.home)
    for _ in range(100):
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                log(f"sources: education API on {url} (pid {pid})")
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise click.ClickException(
        f"the education API did not start; see {procs.log_path('education_api')}"
    )


@sources.command("up")
def sources_up() -> None:
    """Serve the synthetic education API (REST, paginated) from the generated data."""
    _sources_up(settings_mod.load())


@sources.command("down")
def sources_down() -> None:
    """Stop the synthetic education API."""
    click.echo(
        "stopped"
        if _source_processes(settings_mod.load()).stop(["education_api"])
        else "not running"
    )


# --- databases -------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The PostgreSQL server (embedded by default) and ndc's databases."""


def _db_up(s: settings_mod.Settings) -> None:
    from ndc.stack import databases_up

    databases_up(s, _sources(), log=log)


@db.command("up")
def db_up() -> None:
    """Start the embedded server (if used) and create the databases and schemas."""
    _db_up(settings_mod.load())


@db.command("down")
def db_down() -> None:
    """Stop the embedded server."""
    from ndc import embedded

    s = settings_mod.load()
    click.echo("stopped" if s.embedded and embedded.stop(s.pgdata) else "not running")


# --- airflow -------------------------------------------------------------------------


@main.group()
def airflow() -> None:
    """Airflow on this machine (api-server, scheduler, dag-processor, triggerer)."""


def _airflow_up(s: settings_mod.Settings) -> str:
    from ndc.airflow_runtime import ADMIN_USER, admin_password, airflow_env, up

    url = up(s, airflow_env(s, _sources()), log=log)
    log(f"airflow: UI on {url}  (user {ADMIN_USER}, password {admin_password(s)})")
    return url


@airflow.command("up")
def airflow_up() -> None:
    """Start Airflow on the ndc databases and print how to log in."""
    s = settings_mod.load()
    _db_up(s)
    if (
        not os.environ.get("NDC_SOURCE_EDUCATION_URL")
        and (s.data_dir / "education" / "education.sqlite").exists()
    ):
        _sources_up(s)  # the synthetic education API, so ingest_education can run
    _airflow_up(s)
    click.echo(
        "Every ndc DAG is listed in the UI; unpause one and press the trigger button to run it."
    )
    click.echo("Stop with `make down`.")


@airflow.command("down")
def airflow_down() -> None:
    """Stop the Airflow components."""
    from ndc.airflow_runtime import down

    down(settings_mod.load(), log=log)


@airflow.command("env")
def airflow_env_cmd() -> None:
    """Print the environment of ndc's Airflow, for the `airflow` CLI: eval $(ndc airflow env)."""
    import shlex

    from ndc.airflow_runtime import airflow_env

    env = airflow_env(settings_mod.load(), _sources())
    for key, value in sorted(env.items()):
        if key.startswith(("AIRFLOW", "NDC_")) or key == "PATH":
            click.echo(f"export {key}={shlex.quote(value)}")


@main.command()
def run() -> None:
    """Trigger every ingest DAG through Airflow's REST API and wait for transform and sync."""
    _run(settings_mod.load())


def _run(s: settings_mod.Settings) -> None:
    from ndc.airflow_runtime import ADMIN_USER, AirflowClient, admin_password
    from ndc.flow import run_flow

    client = AirflowClient(f"http://localhost:{s.airflow_port}", ADMIN_USER, admin_password(s))
    run_flow(client, list(_sources()), log=log)


@main.command()
@click.option(
    "--full-refresh",
    is_flag=True,
    help="dbt build --full-refresh: rebuild every incremental model from all raw rows.",
)
def transform(full_refresh: bool) -> None:
    """Run the transform DAG now (through the running Airflow) and wait for it to finish."""
    from ndc.airflow_runtime import ADMIN_USER, AirflowClient, AirflowError, admin_password

    s = settings_mod.load()
    client = AirflowClient(f"http://localhost:{s.airflow_port}", ADMIN_USER, admin_password(s))
    client.wait_for_dags(["transform"])
    client.unpause("transform")
    run_id = client.trigger("transform", conf={"full_refresh": full_refresh})
    log(f"triggered transform ({run_id}{', full refresh' if full_refresh else ''})")
    try:
        run = client.wait_run("transform", run_id, log=log)
    except AirflowError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"transform {run_id}: {run['state']}")


@main.command()
@click.option("--persons", default=1000, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--days", default=3, show_default=True)
@click.option("--keep-up", is_flag=True, help="Leave Airflow running afterwards.")
@click.pass_context
def demo(ctx: click.Context, persons: int, seed: int, days: int, keep_up: bool) -> None:
    """The whole flow on the embedded default, end to end through Airflow, then the report."""
    from ndc.airflow_runtime import down, running

    s = settings_mod.load()
    _db_up(s)
    ctx.invoke(generate, persons=persons, seed=seed, days=days, out=None, target=())
    _baseline(s)
    _sources_up(s)
    was_running = bool(running(s))
    _airflow_up(s)
    try:
        _run(s)
    finally:
        if not (keep_up or was_running):
            down(s, log=log)
            _source_processes(s).stop(["education_api"])
    click.echo("")
    ctx.invoke(report, as_json=False)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr for the duration (this process and its children)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@main.command()
@click.option("--persons", default=2000, show_default=True, help="Persons in the fresh country.")
@click.option("--seed", default=42, show_default=True)
@click.option("--days", default=3, show_default=True, help="Days of changes after the baseline.")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="A country written by `ndc generate` (with its truth/) instead of a fresh one.",
)
@click.option(
    "--daily/--at-once",
    default=True,
    show_default=True,
    help="Days arrive one at a time (each through the whole flow), or all at once.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--cleanup", is_flag=True, help="Drop the evaluation's databases and files afterwards."
)
def evaluate(
    persons: int,
    seed: int,
    days: int,
    data_dir: Path | None,
    daily: bool,
    as_json: bool,
    cleanup: bool,
) -> None:
    """Run the whole pipeline on a synthetic country in databases and an Airflow of its own
    (NDC_HOME/evaluate, databases <NDC_DB_PREFIX>_eval_*) and score it against the ground
    truth: per defect class the share handled as expected, and the share of clean records
    wrongly quarantined, merged, reported or altered."""
    from ndc.evaluate import format_table, read_truth, run_pipeline, score

    started = time.monotonic()
    # Whatever the pipeline's libraries print (log handlers bound to stdout, subprocesses)
    # goes to stderr: stdout is for the result alone.
    with _stdout_to_stderr():
        try:
            data_dir, outputs, error = run_pipeline(
                settings_mod.load(),
                persons=persons,
                seed=seed,
                days=days,
                data_dir=data_dir,
                log=log,
                cleanup=cleanup,
                daily=daily,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    log("scoring against the ground truth")
    result = score(read_truth(data_dir), outputs)
    result["data"] = str(data_dir)
    result["seconds"] = round(time.monotonic() - started, 1)
    if error:
        result["pipeline_error"] = error
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(format_table(result))
        click.echo(f"data: {data_dir}; {result['seconds']} s")
    if error:
        raise click.ClickException(f"the pipeline failed: {error}")


# --- benchmarks ----------------------------------------------------------------------


@main.command()
@click.option("--rows", default=1_000_000, show_default=True, help="Rows for the load benchmark.")
@click.option(
    "--persons",
    default=1_000_000,
    show_default=True,
    help="Persons for the generation and scale benchmarks.",
)
@click.option("--days", default=3, show_default=True, help="Scale: days of the full run.")
@click.option("--seed", default=42, show_default=True, help="Scale: the country's seed.")
@click.option("--only", type=click.Choice(["load", "generate", "scale"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Scale: machine-readable output.")
@click.option("--keep", is_flag=True, help="Scale: keep its databases and files afterwards.")
def bench(
    rows: int, persons: int, days: int, seed: int, only: str | None, as_json: bool, keep: bool
) -> None:
    """Benchmarks: load (ndc vs raw COPY vs pandas to_sql), synthetic generation, and scale
    (the whole flow through Airflow on a generated country, full then one more day, beside
    a plain dbt build; in an Airflow and databases of its own, <NDC_DB_PREFIX>_scale_*)."""
    import tempfile

    if as_json and only != "scale":
        raise click.UsageError("--json goes with --only scale")
    s = settings_mod.load()
    if only in (None, "load"):
        from ndc.bench import run_load_benchmark

        _db_up(s)
        click.echo(run_load_benchmark(s, rows, log=log))
        click.echo("")
    if only in (None, "generate"):
        from ndc.bench_generate import run_generate_benchmark

        with tempfile.TemporaryDirectory(prefix="ndc-bench-generate-") as tmp:
            click.echo(run_generate_benchmark(persons, Path(tmp), log=log))
        click.echo("")
    if only in (None, "scale"):
        from ndc.bench_scale import format_summary, run_scale_benchmark

        # Whatever the pipeline's libraries print goes to stderr: stdout is for the result.
        with _stdout_to_stderr():
            result = run_scale_benchmark(
                s, persons=persons, days=days, seed=seed, log=log, keep=keep
            )
        if as_json:
            click.echo(json.dumps(result, indent=2))
        else:
            click.echo(format_summary(result))


if __name__ == "__main__":
    main()
