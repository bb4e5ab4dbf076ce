"""Deliveries of the sharing registry's files products (ndc.sharing.delivery) on real
PostgreSQL: each test gets a copy of the session's built warehouse (a tiny country through
the whole dbt project), so it may change the marts and deliver again."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from psycopg import sql

from ndc.landing import LandingZone, LocalLandingZone
from ndc.settings import SHARING_DIR
from ndc.sharing.delivery import CHANGE_COLUMN, deliver, delivery_target
from ndc.sharing.registry import load_product
from ndc.warehouse import connect, drop_database
from tests.conftest import PG_URL

pytestmark = pytest.mark.integration

DAY1 = datetime(2026, 12, 1, 6, tzinfo=UTC)
DAY2 = datetime(2026, 12, 2, 6, tzinfo=UTC)
DAY3 = datetime(2026, 12, 3, 6, tzinfo=UTC)


def product(name: str):
    return load_product(SHARING_DIR / f"{name}.yaml")


@pytest.fixture
def warehouse(built_warehouse):
    """A copy of the built warehouse (CREATE DATABASE ... TEMPLATE: a second or so)."""
    import psycopg

    name = f"ndc_test_share_{uuid.uuid4().hex[:8]}"
    template = built_warehouse.url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    url = f"{PG_URL}/{name}"
    yield url
    drop_database(url)


def log_rows(url: str, name: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(
            "select delivery_id, kind, rows, files from ops.sharing_log where product = %s "
            "order by as_of",
            (name,),
        ).fetchall()


def read_file(target: LandingZone, key: str) -> list[dict]:
    if key.endswith(".parquet"):
        with target.local_path(key) as path:
            return pq.read_table(path).to_pylist()
    return list(csv.DictReader(io.StringIO(target.get_bytes(key).decode("utf-8"))))


def columns_of(target: LandingZone, key: str) -> list[str]:
    if key.endswith(".parquet"):
        with target.local_path(key) as path:
            return pq.read_schema(path).names
    return target.get_bytes(key).decode("utf-8").splitlines()[0].split(",")


def test_first_delivery_is_a_full_snapshot_of_exactly_the_allowed_columns(warehouse, tmp_path):
    deaths = product("deaths_to_social_insurance")
    target = LocalLandingZone(tmp_path)
    result = deliver(warehouse, deaths, target, DAY1)
    assert result.kind == "full" and not result.already
    data_key, manifest_key = (f["key"] for f in result.files)
    assert data_key == "deaths_to_social_insurance__2026-12-01.parquet"
    # Exactly the registry's elements, nothing the legal basis does not cover.
    assert columns_of(target, data_key) == list(deaths.elements)
    rows = read_file(target, data_key)
    with connect(warehouse) as conn:
        deceased = conn.execute(
            "select count(*) from marts.citizens where date_of_death is not null"
        ).fetchone()[0]
    assert deceased > 0 and len(rows) == deceased == result.rows
    assert all(r["date_of_death"] is not None for r in rows)
    manifest = json.loads(target.get_bytes(manifest_key))
    assert (
        manifest["product"] == deaths.name and manifest["consumer"]["agency"] == "social_insurance"
    )
    assert manifest["legal_basis"]["instrument"].startswith("Law on Social Insurance")
    assert [c["name"] for c in manifest["columns"]] == list(deaths.elements)
    assert manifest["rows"] == deceased and manifest["kind"] == "full"
    assert manifest["window"] == {"from": None, "to": DAY1.isoformat()}
    assert manifest["sha256"] == hashlib.sha256(target.get_bytes(data_key)).hexdigest()
    # The log holds the delivery once, with the sha256 of each file.
    [(did, kind, n, files)] = log_rows(warehouse, deaths.name)
    assert (did, kind, n) == ("2026-12-01", "full", deceased)
    assert [f["sha256"] for f in files] == [
        hashlib.sha256(target.get_bytes(k)).hexdigest() for k in (data_key, manifest_key)
    ]


def test_a_delivery_carries_only_what_changed_since_the_last(warehouse, tmp_path):
    deaths = product("deaths_to_social_insurance")
    target = LocalLandingZone(tmp_path)
    deliver(warehouse, deaths, target, DAY1)
    # Nothing changed: an empty changes file (the consumer sees that nothing changed).
    quiet = deliver(warehouse, deaths, target, DAY2)
    assert (quiet.kind, quiet.rows) == ("changes", 0)
    assert read_file(target, quiet.files[0]["key"]) == []
    assert json.loads(target.get_bytes(quiet.files[1]["key"]))["window"] == {
        "from": DAY1.isoformat(),
        "to": DAY2.isoformat(),
    }
    with connect(warehouse) as conn:
        dead = conn.execute(
            "select personal_id from marts.citizens where date_of_death is not null "
            "order by personal_id limit 2"
        ).fetchall()
        alive = conn.execute(
            "select personal_id from marts.citizens where date_of_death is null "
            "order by personal_id limit 1"
        ).fetchone()[0]
        conn.execute(
            "update marts.citizens set date_of_death = date '2026-12-02' where personal_id = %s",
            (alive,),
        )
        conn.execute(
            "update marts.citizens set date_of_death = date_of_death - 1 where personal_id = %s",
            (dead[0][0],),
        )
        conn.execute(
            "update marts.citizens set date_of_death = null where personal_id = %s", (dead[1][0],)
        )
    changed = deliver(warehouse, deaths, target, DAY3)
    rows = read_file(target, changed.files[0]["key"])
    assert columns_of(target, changed.files[0]["key"]) == [*deaths.elements, CHANGE_COLUMN]
    assert {(r["personal_id"], r[CHANGE_COLUMN]) for r in rows} == {
        (alive, "added"),
        (dead[0][0], "changed"),
        (dead[1][0], "removed"),
    }
    removed = next(r for r in rows if r[CHANGE_COLUMN] == "removed")
    assert removed["full_name"] is None  # a removal carries its key only
    assert [r[1] for r in log_rows(warehouse, deaths.name)] == ["full", "changes", "changes"]


def test_a_retry_of_the_same_delivery_writes_the_same_files_and_logs_once(warehouse, tmp_path):
    births = product("births_by_commune_to_education")
    target = LocalLandingZone(tmp_path)

    class FailsOnManifest(LocalLandingZone):
        def put_bytes(self, key, data):
            raise OSError("the consumer's share went away")

    with pytest.raises(OSError):
        deliver(warehouse, births, FailsOnManifest(tmp_path), DAY1)
    first = target.get_bytes("births_by_commune_to_education__2026-12.csv")
    assert log_rows(warehouse, births.name) == []  # not delivered: nothing logged
    done = deliver(warehouse, births, target, DAY1)
    assert target.get_bytes(done.files[0]["key"]) == first
    again = deliver(warehouse, births, target, DAY2)  # same month: the same delivery
    assert again.already and again.delivery_id == done.delivery_id == "2026-12"
    assert len(log_rows(warehouse, births.name)) == 1
    assert columns_of(target, done.files[0]["key"]) == ["commune_code", "birth_month", "count"]


def test_open_data_never_publishes_a_count_under_5(warehouse, tmp_path):
    population = product("population_by_commune_open_data")
    target = LocalLandingZone(tmp_path)
    result = deliver(warehouse, population, target, DAY1)
    rows = read_file(target, result.files[0]["key"])
    assert rows and columns_of(target, result.files[0]["key"]) == [
        "commune_code",
        "sex_code",
        "age_group",
        "count",
    ]
    counts = [r["count"] for r in rows]
    # A tiny country has small cells: they are published suppressed (empty), never as values.
    assert "" in counts
    assert all(int(c) >= 5 for c in counts if c != "")
    with connect(warehouse) as conn:
        with_commune = conn.execute(
            "select count(*) from marts.shared_citizens where commune_code is not null"
        ).fetchone()[0]
    assert with_commune > 0


def test_a_delivery_to_an_s3_bucket(warehouse, s3_server, monkeypatch):
    endpoint, access, secret = s3_server
    deaths = product("deaths_to_social_insurance")
    prefix = "NDC_SHARING_DEATHS_TO_SOCIAL_INSURANCE_"
    monkeypatch.setenv(prefix + "S3_ENDPOINT", endpoint)
    monkeypatch.setenv(prefix + "S3_ACCESS_KEY", access)
    monkeypatch.setenv(prefix + "S3_SECRET_KEY", secret)
    target = delivery_target(deaths)
    result = deliver(warehouse, deaths, target, DAY1)
    assert result.files[0]["uri"] == "s3://bhxh-landing/ndc/deaths/" + result.files[0]["key"]
    assert target.list("") == sorted(f["key"] for f in result.files)
    assert len(read_file(target, result.files[0]["key"])) == result.rows > 0


def test_ndc_share_run_by_hand(warehouse, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ndc.cli import main

    monkeypatch.setenv("NDC_WAREHOUSE_URL", warehouse)
    monkeypatch.setenv("NDC_HOME", str(tmp_path))
    args = ["share", "run", "births_by_commune_to_education", "--as-of", "2026-12-01"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "2026-12: delivered, full" in out.output
    assert (tmp_path / "sharing/education/births_by_commune").is_dir()
    out = CliRunner().invoke(main, [*args, "--full"])
    assert "2026-12-full: delivered, full" in out.output
    out = CliRunner().invoke(main, ["share", "log"])
    assert "births_by_commune_to_education: 2026-12-full (full" in out.output


def shared_rows(url: str, name: str) -> dict[tuple[str, str], tuple]:
    with connect(url) as conn:
        return {
            (r[0].isoformat(), r[1]): r[2:]
            for r in conn.execute(
                "select day, measure, numerator, denominator, status, met "
                "from marts.quality_scorecard where source = 'sharing' and entity = %s",
                (name,),
            )
        }


def test_the_scorecard_holds_the_deliveries_to_their_schedule(warehouse, tmp_path):
    """The shared property, read live from the sharing log: one row per delivery period of a
    product from its first delivery on; a period delivered after it ended is late, one that
    ended without a delivery is missed with no element delivered, the open period counts once
    delivered; the DAG's check names the product and its consumer while the latest period
    misses."""
    from ndc.scorecard import ScorecardError, check_sharing

    deaths = product("deaths_to_social_insurance")
    consumers = {deaths.name: deaths.consumer.name}
    target = LocalLandingZone(tmp_path)
    assert shared_rows(warehouse, deaths.name) == {}  # nothing delivered: nothing due yet
    assert check_sharing(warehouse, consumers) == []
    deliver(warehouse, deaths, target, DAY1)
    deliver(warehouse, deaths, target, DAY3)
    with connect(warehouse) as conn:
        [elements] = conn.execute(
            "select distinct elements from ops.sharing_log where product = %s", (deaths.name,)
        ).fetchone()
        today = conn.execute("select (now() at time zone 'UTC')::date").fetchone()[0]
    assert elements == deaths.columns
    rows = shared_rows(warehouse, deaths.name)
    n = len(deaths.columns)
    # Made today, for periods that ended days ago: late, with every element.
    for day in ("2026-12-01", "2026-12-03"):
        assert rows[(day, "deliveries_on_time")] == (0, 1, "measured", False)
        assert rows[(day, "elements_delivered")] == (n, n, "measured", True)
    # The days between, and up to yesterday, ended without one: missed.
    missed_days = [
        d for d, m in rows if m == "deliveries_on_time" and d not in ("2026-12-01", "2026-12-03")
    ]
    assert missed_days and max(missed_days) < today.isoformat()
    for day in missed_days:
        assert rows[(day, "deliveries_on_time")] == (0, 1, "measured", False)
        assert rows[(day, "elements_delivered")] == (0, n, "measured", False)
    assert today.isoformat() not in {d for d, _ in rows}  # open, not delivered: not due yet
    with pytest.raises(ScorecardError) as failed:
        check_sharing(warehouse, consumers)
    assert deaths.name in str(failed.value) and deaths.consumer.name in str(failed.value)
    # Today's delivery, made today: on time, and the latest period meets its targets.
    deliver(warehouse, deaths, target, datetime.now(UTC))
    rows = shared_rows(warehouse, deaths.name)
    assert rows[(today.isoformat(), "deliveries_on_time")] == (1, 1, "measured", True)
    assert rows[(today.isoformat(), "elements_delivered")] == (n, n, "measured", True)
    figures = check_sharing(warehouse, consumers)
    assert {(f.measure, f.met) for f in figures} == {
        ("deliveries_on_time", True),
        ("elements_delivered", True),
    }
    # The scorecard page shows the product's latest period as the mart holds it.
    from fastapi.testclient import TestClient

    from ndc.ui.app import create_app
    from tests.integration.test_ui_pages import _cells

    app = create_app(lambda: warehouse, lambda: [], lambda: "ana")
    page = TestClient(app).get("/scorecard", params={"source": "sharing"}).text
    shown = {r["key"]: r for r in _cells(page, "scorecard")}
    for measure in ("deliveries_on_time", "elements_delivered"):
        row = shown[f"sharing.{deaths.name}.{measure}"]
        assert (row["day"], row["value"], row["status"]) == (today.isoformat(), "1", "measured")
