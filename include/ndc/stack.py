"""Bring up ndc's stack: the embedded server (unless a real one is configured), the
warehouse, the population database and Airflow's metadata database; and the pieces of a run
in an environment of its own (``ndc evaluate``, the scale benchmark)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from ndc.population import ensure_population_db
from ndc.registry import Source
from ndc.settings import DBT_PROJECT_DIR, Settings
from ndc.warehouse import bootstrap, drop_database, ensure_database


def databases_up(
    settings: Settings, sources: dict[str, Source], log: Callable[[str], None] = print
) -> None:
    """Idempotent: start what is down, create what is missing, change nothing else."""
    if settings.embedded:
        from ndc import embedded

        log(f"postgres: embedded server on 127.0.0.1:{settings.pg_port} ({settings.pgdata})")
        embedded.start(settings.pgdata, settings.pg_port)
    else:
        log(f"postgres: using {settings.server_url}")
    for role in ("warehouse", "population", "airflow"):
        ensure_database(settings.database_url(role))
    bootstrap(settings.warehouse_url, sources)
    ensure_population_db(settings.population_url)
    log("postgres: databases ready (warehouse, population, airflow metadata)")


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Replace every NDC_/AIRFLOW variable of this process by ``values``, restore afterwards."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("NDC_", "AIRFLOW")):
            del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drop_databases(settings: Settings) -> None:
    for role in ("warehouse", "population", "airflow"):
        drop_database(settings.database_url(role))


def dbt_parse(log: Callable[[str], None]) -> None:
    """Write dbt's manifest, which Cosmos renders the transform DAG from, with the profile and
    connection fields the transform's build runs with (ndc.dbt_profile), so that build starts
    from this parse (dbt drops a partial parse made with another profile)."""
    from ndc.dbt_profile import PROFILE_NAME, TARGET_NAME, env_for_url
    from ndc.settings import load

    dbt = Path(sys.executable).parent / "dbt"
    log("dbt: parsing the project (the manifest the transform DAG is rendered from)")
    proc = subprocess.run(
        [str(dbt if dbt.exists() else "dbt"), "parse", "--profiles-dir", ".", "--quiet"]
        + ["--profile", PROFILE_NAME, "--target", TARGET_NAME],
        cwd=DBT_PROJECT_DIR,
        env=os.environ | env_for_url(load().warehouse_url),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
