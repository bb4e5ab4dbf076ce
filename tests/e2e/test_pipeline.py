"""The whole flow through a real Airflow: scheduler, dag-processor, triggerer and api-server
started as `make up` starts them, ingest DAGs triggered through the REST API, transform and
sync_population triggered by Assets. Checked against the synthetic country's ground truth."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from ndc import settings as settings_mod
from ndc.airflow_runtime import ADMIN_USER, AirflowClient, admin_password, airflow_env, down, up
from ndc.flow import run_flow
from ndc.registry import load_registry
from ndc.report import build_report
from ndc.stack import databases_up
from ndc.synthetic import generate
from ndc.warehouse import connect, drop_database

from tests.conftest import MYSQL_URL, PG_URL, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Airflow + databases for this test module only; torn down afterwards."""
    home = tmp_path_factory.mktemp("ndc_home")
    prefix = f"ndc_e2e_{uuid.uuid4().hex[:6]}"
    mysql_source = f"{MYSQL_URL}/{prefix}_si?charset=utf8mb4"
    env = {
        "NDC_HOME": str(home),
        "NDC_PG_URL": PG_URL,
        "NDC_DB_PREFIX": prefix,
        "NDC_AIRFLOW_PORT": str(free_port()),
        # The social insurance source runs on the machine's MariaDB here.
        "NDC_SOURCE_SOCIAL_INSURANCE_URL": mysql_source,
    }
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    settings = settings_mod.load()
    sources = load_registry()
    databases_up(settings, sources)
    generate(
        settings.data_dir, persons=600, seed=7, days=2, targets={"social_insurance": mysql_source}
    )
    try:
        url = up(settings, airflow_env(settings, sources))
        client = AirflowClient(url, ADMIN_USER, admin_password(settings))
        yield settings, client, sources
    finally:
        down(settings)
        for role in ("warehouse", "population", "airflow"):
            drop_database(settings.database_url(role))
        engine = sa.create_engine(MYSQL_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f"drop database if exists {prefix}_si"))
        engine.dispose()
        mp.undo()


def _population(settings) -> pd.DataFrame:
    with connect(settings.population_url) as conn:
        rows = conn.execute(
            "select personal_id, full_name, date_of_birth, sex_code, date_of_death, updated_at "
            "from citizen order by personal_id"
        ).fetchall()
    return pd.DataFrame(
        rows,
        columns=[
            "personal_id",
            "full_name",
            "date_of_birth",
            "sex_code",
            "date_of_death",
            "updated_at",
        ],
    )


def _quarantine(settings) -> set[tuple]:
    with connect(settings.warehouse_url) as conn:
        return set(
            conn.execute(
                "select source, entity, record_key, reason_code from quarantine.quarantined_rows"
            ).fetchall()
        )


def test_pipeline_end_to_end_then_idempotent(stack):
    settings, client, sources = stack
    truth = pd.read_parquet(settings.data_dir / "truth" / "persons.parquet")
    defects = pd.read_csv(settings.data_dir / "truth" / "defects.csv", dtype=str)

    runs = run_flow(client, list(sources))
    assert set(runs) == {
        "ingest_civil_registration",
        "ingest_social_insurance",
        "transform",
        "sync_population",
    }

    report = build_report(settings.warehouse_url, settings.population_url, sources)
    for source, entities in report["sources"].items():
        for entity, counts in entities.items():
            assert counts["loaded"] > 0, (source, entity)
            assert counts["balanced"], (source, entity, counts)
            assert counts["extracted"] == counts["landed"] == counts["loaded"]
            assert counts["loaded"] == counts["conformed"] + counts["quarantined"]

    # Every row the generator made unconformable is quarantined with the expected reason code.
    expected = {
        (d.source, d.entity, d.record_key, d.reason_code)
        for d in defects.itertuples()
        if d.expected_handling == "quarantine"
    }
    assert expected and _quarantine(settings) == expected

    citizens = _population(settings)
    assert len(citizens) == report["population"]["citizens"] > 0
    assert citizens.personal_id.is_unique
    # Every insured person without a quarantine defect reached the population DB with the
    # ground truth's date of birth and sex.
    quarantined_bhxh = {
        d.record_key
        for d in defects.itertuples()
        if d.source == "social_insurance" and d.expected_handling == "quarantine"
    }
    insured = truth[truth.in_social_insurance & ~truth.ma_so_bhxh.isin(quarantined_bhxh)]
    merged = insured.merge(citizens, on="personal_id", how="left", suffixes=("_truth", ""))
    assert merged.full_name.notna().all(), "insured persons missing from the population DB"
    assert (merged.date_of_birth == merged.date_of_birth_truth).all()
    assert (merged.sex_code == merged.sex.map({"male": "1", "female": "2"})).all()
    # Registered deaths set the date of death, and only true deaths do.
    dead = citizens[citizens.date_of_death.notna()].merge(
        truth, on="personal_id", suffixes=("", "_truth")
    )
    assert len(dead) > 0 and (dead.date_of_death == dead.date_of_death_truth).all()

    # Trigger everything again: nothing new lands, no count changes, no citizen is rewritten.
    run_flow(client, list(sources))
    assert build_report(settings.warehouse_url, settings.population_url, sources) == report
    assert _population(settings).equals(citizens)
