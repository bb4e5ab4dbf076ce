"""A stack of its own (``ndc evaluate``, the scale benchmark) on the machine's server: the
user's environment is set aside and comes back, and what the run made is dropped."""

import os
import uuid

import pytest

from ndc.settings import load
from ndc.stack import isolated
from ndc.warehouse import drop_database, ensure_database
from tests.conftest import PG_URL, databases_like

pytestmark = pytest.mark.integration


def test_isolated_sets_the_user_aside_and_drops_what_it_made(tmp_path, monkeypatch):
    prefix = f"ndc_iso_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("NDC_HOME", str(tmp_path / "user"))
    monkeypatch.setenv("NDC_PG_URL", PG_URL)
    monkeypatch.setenv("NDC_DB_PREFIX", prefix)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "user_airflow"))
    home = tmp_path / "user" / "evaluate"
    (home / "left_by_an_interrupted_run").mkdir(parents=True)
    ensure_database(f"{PG_URL}/{prefix}_eval_warehouse")
    lines: list[str] = []

    try:
        with isolated(load(), home, f"{prefix}_eval", lines.append, keep=False) as settings:
            assert os.environ["NDC_HOME"] == str(home)
            assert "AIRFLOW_HOME" not in os.environ
            assert settings.airflow_home == home / "airflow"
            assert list(home.iterdir()) == []
            assert databases_like(f"{prefix}_eval") == []
            ensure_database(settings.population_url)
        left = databases_like(prefix)
    finally:
        for name in databases_like(prefix):
            drop_database(f"{PG_URL}/{name}")

    assert os.environ["NDC_HOME"] == str(tmp_path / "user")
    assert os.environ["AIRFLOW_HOME"] == str(tmp_path / "user_airflow")
    assert not home.exists()
    assert left == []
    assert f"dropping the databases {prefix}_eval_* and {home}" in lines
