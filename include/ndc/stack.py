"""Bring up ndc's databases: the embedded server (unless a real one is configured), the
warehouse, the population database and Airflow's metadata database."""

from __future__ import annotations

from collections.abc import Callable

from ndc.population import ensure_population_db
from ndc.registry import Source
from ndc.settings import Settings
from ndc.warehouse import bootstrap, ensure_database


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
