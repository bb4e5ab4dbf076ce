"""Bring up ndc's stack: the embedded server (unless a real one is configured), the
warehouse, the population database and Airflow's metadata database, the population's
baseline, Airflow. :func:`stack_up` is the one start-up of ``ndc demo``, ``ndc evaluate`` and
the scale benchmark; :func:`isolated` and :func:`education_api` give the latter two a stack
of their own."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from ndc.population import ensure_population_db
from ndc.registry import Source
from ndc.settings import DBT_PROJECT_DIR, Settings, load
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


def load_baseline_snapshot(
    settings: Settings, log: Callable[[str], None] = print, path: Path | None = None
) -> None:
    """Load the population database's state before ndc ran, once (default: the generated
    ``population_db/baseline.parquet`` of the data folder); none is an empty start."""
    from ndc.population import citizen_count, load_baseline

    path = path or settings.data_dir / "population_db" / "baseline.parquet"
    if not path.exists():
        log(f"population: no baseline snapshot at {path}; starting empty")
        return
    loaded = load_baseline(settings.population_url, path)
    if loaded:
        log(f"population: loaded the baseline snapshot, {loaded} citizens ({path})")
    else:
        log(
            f"population: already holds {citizen_count(settings.population_url)} citizens; "
            "baseline left alone"
        )


def airflow_up(
    settings: Settings, sources: dict[str, Source], log: Callable[[str], None] = print
) -> str:
    """Start the Airflow components that are not running; returns the UI URL."""
    from ndc.airflow_runtime import ADMIN_USER, admin_password, airflow_env, up

    url = up(settings, airflow_env(settings, sources), log=log)
    log(f"airflow: UI on {url}  (user {ADMIN_USER}, password {admin_password(settings)})")
    return url


def stack_up(
    settings: Settings,
    sources: dict[str, Source],
    log: Callable[[str], None] = print,
    *,
    parse_dbt: bool = False,
):
    """What a flow runs on, in order: the databases, the population's baseline snapshot, dbt's
    manifest (``parse_dbt``: for settings other than the ones ``make install`` parsed with),
    Airflow. Returns a client of that Airflow."""
    from ndc.airflow_runtime import ADMIN_USER, AirflowClient, admin_password

    databases_up(settings, sources, log=log)
    load_baseline_snapshot(settings, log)
    if parse_dbt:
        dbt_parse(log)
    url = airflow_up(settings, sources, log=log)
    return AirflowClient(url, ADMIN_USER, admin_password(settings))


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
    from ndc import dbt_registry
    from ndc.dbt_profile import PROFILE_NAME, TARGET_NAME, env_for_url

    if dbt_registry.write():
        log(f"dbt: {dbt_registry.MACRO.name} written from the source registry")
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


@contextlib.contextmanager
def isolated(
    user: Settings, home: Path, prefix: str, log: Callable[[str], None], *, keep: bool
) -> Iterator[Settings]:
    """A stack of its own on the user's PostgreSQL server: NDC_HOME ``home``, databases
    ``<prefix>_*``, Airflow on a free port; the user's NDC_/AIRFLOW variables are set aside
    for the duration. What an earlier run there left behind (an interrupted one) goes first;
    afterwards its Airflow stops and, unless ``keep``, its databases and ``home`` are dropped.
    Yields its settings."""
    from ndc.airflow_runtime import down

    if user.embedded:
        from ndc import embedded

        log(f"postgres: embedded server on 127.0.0.1:{user.pg_port} ({user.pgdata})")
        embedded.start(user.pgdata, user.pg_port)
    env = {
        "NDC_HOME": str(home),
        "NDC_PG_URL": user.server_url,
        "NDC_DB_PREFIX": prefix,
        "NDC_AIRFLOW_PORT": str(free_port()),
    }
    with environment(env):
        settings = load()
        down(settings, log=log)
        drop_databases(settings)
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        try:
            yield settings
        finally:
            down(settings, log=log)
            if not keep:
                log(f"dropping the databases {prefix}_* and {home}")
                drop_databases(settings)
                shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def education_api(data_dir: Path, log: Callable[[str], None]) -> Iterator[Settings]:
    """The synthetic education API of ``data_dir`` served in this process for the duration;
    yields the settings with NDC_DATA_DIR and NDC_SOURCE_EDUCATION_URL pointing at them."""
    from ndc.synthetic.education_api import serve

    os.environ["NDC_DATA_DIR"] = str(data_dir)
    api, api_url = serve(data_dir / "education" / "education.sqlite", port=0)
    os.environ["NDC_SOURCE_EDUCATION_URL"] = api_url
    log(f"sources: education API on {api_url}")
    try:
        yield load()
    finally:
        api.shutdown()
