"""A warehouse built once per session by the real path: a tiny synthetic country extracted,
landed and loaded by ndc's own code, then `dbt build` of the whole project in-process (unit
tests, models, seeds and data tests), then the reconciliation, as the transform DAG does."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import PG_URL

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
PERSONS, SEED, DAYS = 150, 5, 1


def dbt_env(database_url: str) -> dict[str, str]:
    """The environment dbt_project/profiles.yml reads the warehouse from."""
    url = urlsplit(database_url)
    return {
        "NDC_WAREHOUSE_HOST": url.hostname or "127.0.0.1",
        "NDC_WAREHOUSE_PORT": str(url.port or 5432),
        "NDC_WAREHOUSE_USER": url.username or "postgres",
        "NDC_WAREHOUSE_PASSWORD": url.password or "",
        "NDC_WAREHOUSE_DB": url.path.lstrip("/"),
    }


def run_dbt(database_url: str, work: Path, *args: str):
    """`dbt <args>` in-process (dbtRunner) against ``database_url``; target and logs under
    ``work`` so the project's own manifest (which Cosmos renders) is left alone. Returns
    dbt's result; raises naming the failures unless it succeeded."""
    from dbt.cli.main import dbtRunner

    saved = {k: os.environ.get(k) for k in dbt_env(database_url)}
    os.environ.update(dbt_env(database_url))
    try:
        res = dbtRunner().invoke(
            [
                *args,
                "--profiles-dir",
                str(DBT_PROJECT),
                "--project-dir",
                str(DBT_PROJECT),
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
                "--quiet",
            ]  # fmt: skip
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if not res.success:
        failed = [
            f"{r.node.unique_id}: {r.status} {r.message}"
            for r in (res.result or [])
            if str(r.status) not in ("success", "pass", "skipped")
        ]
        raise AssertionError(f"dbt {' '.join(args)} failed: {res.exception or failed}")
    return res


@dataclass
class BuiltWarehouse:
    url: str
    population_url: str
    data: Path
    results: list  # dbt's RunResult of every node of the build
    balances: list  # ndc.reconcile balances, one per batch
    # What the generator wrote per source and entity (GenerationSummary.rows): the truth the
    # sources' own counts are checked against.
    generated: dict | None = None


def load_country(data: Path, warehouse_url: str, population_url: str, landing_root: Path) -> None:
    """Extract every source of a generated country, land and load it, as the ingest DAGs do,
    and snapshot the population database into the warehouse, as the transform does."""
    from ndc.extract import extract_source
    from ndc.landing import LocalLandingZone
    from ndc.load import load_source
    from ndc.population import ensure_population_db, load_baseline, snapshot_to_warehouse
    from ndc.registry import load_registry
    from ndc.synthetic.education_api import serve
    from ndc.warehouse import bootstrap

    sources = load_registry()
    ensure_population_db(population_url)
    load_baseline(population_url, data / "population_db" / "baseline.parquet")
    bootstrap(warehouse_url, sources)
    landing = LocalLandingZone(landing_root)
    api, api_url = serve(data / "education" / "education.sqlite")
    try:
        for source in sources.values():
            location = {
                "files": str(data / source.name / "inbox"),
                "sql": f"sqlite:///{data / source.name / (source.name + '.sqlite')}",
                "api": api_url,
            }[source.kind.value]
            extracted = extract_source(source, location, landing, "2025-07-01")
            assert not extracted.errors, extracted.errors
            load_source(warehouse_url, landing, source)
    finally:
        api.shutdown()
    snapshot_to_warehouse(population_url, warehouse_url)


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    """The whole dbt project built once on a tiny country (read-only for the tests)."""
    from ndc.reconcile import reconcile
    from ndc.registry import load_registry
    from ndc.synthetic import generate
    from ndc.warehouse import drop_database

    work = tmp_path_factory.mktemp("built_warehouse")
    name = f"ndc_test_built_{uuid.uuid4().hex[:8]}"
    url, population_url = f"{PG_URL}/{name}", f"{PG_URL}/{name}_pop"
    generated = generate(work / "country", persons=PERSONS, seed=SEED, days=DAYS).rows
    try:
        load_country(work / "country", url, population_url, work / "landing")
        res = run_dbt(url, work, "build")
        yield BuiltWarehouse(
            url,
            population_url,
            work / "country",
            list(res.result),
            reconcile(url, load_registry()),
            generated,
        )
    finally:
        drop_database(url)
        drop_database(population_url)
