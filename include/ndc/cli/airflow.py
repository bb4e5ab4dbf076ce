"""``ndc airflow``: Airflow on this machine."""

from __future__ import annotations

import os

import click

from ndc import settings as settings_mod
from ndc.cli.common import log, registry_sources
from ndc.cli.db import start_databases
from ndc.cli.sources import start_sources


@click.group()
def airflow() -> None:
    """Airflow on this machine (api-server, scheduler, dag-processor, triggerer; two Celery
    workers with NDC_EXECUTOR=celery)."""


@airflow.command("up")
def airflow_up_cmd() -> None:
    """Start Airflow on the ndc databases and print how to log in."""
    from ndc.stack import airflow_up

    s = settings_mod.load()
    start_databases(s)
    if (
        not os.environ.get("NDC_SOURCE_EDUCATION_URL")
        and (s.data_dir / "education" / "education.sqlite").exists()
    ):
        start_sources(s)  # the synthetic education API, so ingest_education can run
    airflow_up(s, registry_sources(), log=log)
    click.echo(
        "Every ndc DAG is listed in the UI; unpause one and press the trigger button to run it."
    )
    click.echo("Stop with `make down`.")


@airflow.command("down")
def airflow_down() -> None:
    """Stop the Airflow components and Celery workers."""
    from ndc.airflow_runtime import down

    down(settings_mod.load(), log=log)


@airflow.command("env")
def airflow_env_cmd() -> None:
    """Print the environment of ndc's Airflow, for the `airflow` CLI: eval $(ndc airflow env)."""
    import shlex

    from ndc.airflow_runtime import airflow_env

    env = airflow_env(settings_mod.load(), registry_sources())
    for key, value in sorted(env.items()):
        if key.startswith(("AIRFLOW", "NDC_")) or key == "PATH":
            click.echo(f"export {key}={shlex.quote(value)}")
