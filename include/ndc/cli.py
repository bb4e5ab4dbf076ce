"""The ``ndc`` command: generate sources, run the embedded default, report, benchmark."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ndc import settings as settings_mod

_T0 = time.monotonic()


def log(message: str) -> None:
    """A progress line: elapsed time and message, flushed at once."""
    click.echo(f"[{time.monotonic() - _T0:6.1f}s] {message}")
    sys.stdout.flush()


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
    """Rows per source and entity at every stage, the reconciliation and the citizen count."""
    from ndc.report import build_report, format_report

    s = settings_mod.load()
    data = build_report(s.warehouse_url, s.population_url, _sources())
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else format_report(data))


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
    was_running = bool(running(s))
    _airflow_up(s)
    try:
        _run(s)
    finally:
        if not (keep_up or was_running):
            down(s, log=log)
    click.echo("")
    ctx.invoke(report, as_json=False)


# --- benchmarks ----------------------------------------------------------------------


@main.command()
@click.option("--rows", default=1_000_000, show_default=True)
def bench(rows: int) -> None:
    """Benchmarks: ndc's landing + load path against raw COPY and pandas to_sql."""
    from ndc.bench import run_load_benchmark

    s = settings_mod.load()
    _db_up(s)
    click.echo(run_load_benchmark(s, rows, log=log))


if __name__ == "__main__":
    main()
