"""The embedded default's PostgreSQL, and the CLI a user and the Makefile call."""

import json
import uuid

import pytest
from click.testing import CliRunner

from ndc import embedded
from ndc.cli import main
from ndc.registry import load_registry
from ndc.report import DISCREPANCY_KINDS
from ndc.warehouse import connect, drop_database
from tests.conftest import PG_URL, free_port

pytestmark = pytest.mark.integration


def test_embedded_postgres_starts_serves_and_stops(tmp_path):
    pgdata, port = tmp_path / "pgdata", free_port()
    url = embedded.start(pgdata, port)
    try:
        assert embedded.start(pgdata, port) == url  # idempotent
        with connect(f"{url}/postgres") as conn:
            assert conn.execute("show server_version").fetchone()[0].startswith("18")
    finally:
        assert embedded.stop(pgdata)
    assert not embedded.is_ready(port)


@pytest.fixture
def ndc_env(monkeypatch, tmp_path):
    prefix = f"ndc_cli_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("NDC_HOME", str(tmp_path))
    monkeypatch.setenv("NDC_PG_URL", PG_URL)
    monkeypatch.setenv("NDC_DB_PREFIX", prefix)
    yield prefix
    for role in ("warehouse", "population", "airflow"):
        drop_database(f"{PG_URL}/{prefix}_{role}")


def test_db_up_then_report_json_has_the_documented_shape(ndc_env):
    runner = CliRunner()
    up = runner.invoke(main, ["db", "up"])
    assert up.exit_code == 0, up.output
    result = runner.invoke(main, ["report", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["population"] == {"citizens": 0}
    assert report["set_aside"] == []  # no file set aside (ops.file_quarantine)
    entry = report["sources"]["civil_registration"]["birth"]
    stages = ("extracted", "landed", "loaded", "conformed", "quarantined", "merged")
    assert {k: entry[k] for k in stages} == dict.fromkeys(stages, 0)
    assert set(report["sources"]) == set(load_registry())
    # No discrepancy mart built yet: every agency is listed with zeros.
    assert set(report["discrepancies"]) == set(load_registry())
    assert report["discrepancies"]["residence"] == {
        "total": 0,
        "by_kind": dict.fromkeys(DISCREPANCY_KINDS, 0),
    }


def test_registry_check_lists_every_source():
    result = CliRunner().invoke(main, ["registry", "check"])
    assert result.exit_code == 0
    assert "civil_registration: files, 3 entities - ok" in result.output


def test_dictionary_export_writes_the_page_and_csvs(tmp_path):
    result = CliRunner().invoke(main, ["dictionary", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'type="search"' in page and "personal_id" in page
    assert (tmp_path / "out" / "elements.csv").read_text(encoding="utf-8").startswith("group,")
