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


def test_serve_demo_shows_an_entitled_lookup_a_refused_one_and_their_log(ndc_env):
    """`ndc serve demo` (the end of `make demo`): over real HTTP, social insurance's lookup
    answers the citizen's facts, education's (no api product) is refused with 403, both are
    in ops.access_log, and the demo's keys no longer work."""
    runner = CliRunner()
    assert runner.invoke(main, ["db", "up"]).exit_code == 0
    with connect(f"{PG_URL}/{ndc_env}_population") as conn:
        conn.execute(
            "insert into citizen (personal_id, full_name, date_of_birth, sex_code) values "
            "('001090000001', 'Nguyễn Văn An', '1990-03-04', '1'), "
            "('001090000002', 'Trần Thị Bình', '1991-05-06', '2')"
        )
        conn.execute("update citizen set date_of_death = '2024-01-01' where personal_id = %s",
                     ("001090000001",))  # fmt: skip
    result = runner.invoke(main, ["serve", "demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    purpose = "citizen_verification_for_social_insurance"
    url = f"/v1/citizens/001090000002?fields=full_name,date_of_birth,is_deceased&purpose={purpose}"
    assert (
        f"  social_insurance: GET {url} -> 200 full_name=Trần Thị Bình, "
        "date_of_birth=1991-05-06, is_deceased=False"
    ) in lines
    refused = next(line for line in lines if line.startswith("  education: "))
    assert refused.startswith(f"  education: GET {url} -> 403 agency education has no legal basis")
    with connect(f"{PG_URL}/{ndc_env}_warehouse") as conn:
        logged = conn.execute(
            "select agency, personal_id, purpose, outcome, status from ops.access_log order by id"
        ).fetchall()
        active = conn.execute("select count(*) from ops.api_key where revoked_at is null")
        assert active.fetchone()[0] == 0
    assert logged == [
        ("social_insurance", "001090000002", purpose, "allowed", 200),
        ("education", "001090000002", purpose, "forbidden", 403),
    ]
    assert f"    education  001090000002  {purpose}  forbidden  403" in lines
