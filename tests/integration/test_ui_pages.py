"""The ndc pages (ndc.ui.app) over a small hand-made warehouse, without Airflow: the figures
shown are the tables', the quarantine browser pages by keyset, the CSV is the mart, and each
view of person rows is written to ops.ui_access_log. Airflow's login in front of them is
tests/dags/test_plugins.py's and, in a real browser, tests/e2e/test_pipeline.py's."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid

import pytest
from fastapi.testclient import TestClient

from ndc.settings import REPO_ROOT
from ndc.ui import queries
from ndc.ui.app import create_app
from ndc.warehouse import OPS_DDL, connect

pytestmark = pytest.mark.integration

ROWS = 120  # quarantined rows: three pages of 50


@pytest.fixture
def warehouse(pg_database):
    with connect(pg_database, autocommit=True) as conn:
        conn.execute("create schema ops; create schema raw")
        conn.execute(OPS_DDL)
        conn.execute(
            """
            insert into ops.load_ledger (batch_id, source, entity, landing_key, sha256,
                rows_at_source, rows_extracted, rows_landed, rows_loaded)
            values ('b1', 'residence', 'resident', 'residence/resident/2025-01-01/b1.parquet',
                    'abc123', 200, 200, 200, 200);
            insert into ops.reconciliation (batch_id, source, entity, rows_extracted,
                rows_landed, rows_loaded, rows_conformed, rows_quarantined, rows_merged, balanced)
            values ('b1', 'residence', 'resident', 200, 200, 200, 78, 120, 2, true);
            create schema quarantine; create schema dictionary; create schema marts;
            create table dictionary.reason_codes (code text, field_kind text, description text);
            insert into dictionary.reason_codes values
                ('PID_MALFORMED', 'personal_id', 'The personal ID number is not 12 digits.');
            create table quarantine.quarantined_rows as
            select 'residence' as source, 'resident' as entity, 'b1' as _batch_id,
                   n::bigint as _source_row, 'R' || n as record_key,
                   'PID_MALFORMED' as reason_code, 'personal_id' as field, '12' || n as value
            from generate_series(1, %s) n;
            create table raw.residence__resident as
            select n::text as so_dinh_danh, 'b1' as _batch_id, n::bigint as _source_row
            from generate_series(1, 200) n;
            create table marts.discrepancies_residence as
            select 'residence' as source, 'resident' as entity, 'R' || n as record_key,
                   'sex' as discrepancy, 'Nam' as source_value
            from generate_series(1, 3) n;
            """.replace("%s", str(ROWS))
        )
    return pg_database


@pytest.fixture
def client(warehouse):
    app = create_app(lambda: warehouse, lambda: ["residence", "civil_registration"], lambda: "ana")
    return TestClient(app)


def test_reconciliation_shows_the_ledger_and_a_batch_its_file(client):
    page = client.get("/reconciliation").text
    assert 'data-batch="b1"' in page and '<td class="n" data-field="rows_quarantined">120' in page
    assert '<td class="n" data-field="rows_at_source">200' in page  # the source's own count
    batch = client.get("/reconciliation/b1").text
    assert '<td data-field="rows_at_source">200' in batch
    assert "residence/resident/2025-01-01/b1.parquet" in batch and "abc123" in batch
    assert client.get("/reconciliation/nope").status_code == 404


def test_quarantine_pages_by_keyset_and_logs_each_view(client, warehouse):
    seen, after = [], ""
    for _ in range(4):
        page = client.get("/quarantine", params={"source": "residence", "after": after})
        assert page.status_code == 200
        keys = [k for k in page.text.split('data-key="')[1:]]
        seen += [k.split('"')[0] for k in keys]
        if 'id="next"' not in page.text:
            break
        after = seen[-1]
    assert seen == [f"b1:{n}" for n in range(1, ROWS + 1)]
    row = client.get(
        "/quarantine/row",
        params={"source": "residence", "entity": "resident", "batch": "b1", "row": 7},
    ).text
    assert '<td data-field="so_dinh_danh">7</td>' in row
    assert "The personal ID number is not 12 digits." in row
    with connect(warehouse) as conn:
        logged = conn.execute(
            "select airflow_user, page, filters, rows_shown from ops.ui_access_log order by id"
        ).fetchall()
    assert [(u, p, n) for u, p, _, n in logged] == [("ana", "quarantine", 50)] * 2 + [
        ("ana", "quarantine", 20),
        ("ana", "quarantine/row", 1),
    ]
    assert logged[0][2] == {"source": "residence", "after": ""}


def test_discrepancy_csv_is_the_mart_and_missing_pages_say_so(client, warehouse):
    assert 'data-source="residence"' in client.get("/discrepancies").text
    got = list(csv.DictReader(io.StringIO(client.get("/discrepancies/residence.csv").text)))
    with connect(warehouse) as conn:
        mart = queries.discrepancies(conn, "residence")
    assert got == [{k: str(v) for k, v in r.items()} for r in mart] and len(got) == 3
    assert client.get("/discrepancies/nowhere").status_code == 404
    assert "No scorecard yet" in client.get("/scorecard").text
    logs = client.get("/logs").text
    assert "ops.sharing_log does not exist yet" in logs


def test_logs_when_their_tables_exist(client, warehouse):
    with connect(warehouse, autocommit=True) as conn:
        conn.execute(
            """
            create table ops.access_log (id bigserial, logged_at timestamptz default now(),
                agency text, personal_id text);
            insert into ops.access_log (agency, personal_id) values ('moh', '001090012345');
            """
        )
    logs = client.get("/logs").text
    assert "001090012345" in logs and "ops.sharing_log does not exist yet" in logs
    with connect(warehouse) as conn:
        assert conn.execute("select page, rows_shown from ops.ui_access_log").fetchall() == [
            ("logs", 1)
        ]


@pytest.fixture
def two_day_warehouse(built_warehouse, tmp_path):
    """The session's built warehouse copied, then a second day extracted, loaded and built
    by the real path (dbt's incremental models included): a scorecard with two days of
    history, as a second daily run leaves it."""
    import shutil

    from ndc.extract import extract_source
    from ndc.landing import LocalLandingZone
    from ndc.load import load_source
    from ndc.registry import load_registry
    from ndc.warehouse import drop_database
    from tests.conftest import PG_URL
    from tests.integration.conftest import run_dbt

    data = built_warehouse.data
    name = f"ndc_test_ui_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}/{name}"
    with connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        source_db = built_warehouse.url.rsplit("/", 1)[1]
        conn.execute(f'create database "{name}" template "{source_db}"')
    landing_root = tmp_path / "landing"
    shutil.copytree(data.parent / "landing", landing_root)
    landing = LocalLandingZone(landing_root)
    # The next day, residence's database changed a few rows (their updated_at moves on).
    database = tmp_path / "residence.sqlite"
    shutil.copy(data / "residence" / "residence.sqlite", database)
    with sqlite3.connect(database) as db:
        for table in ("cu_tru_bien_dong", "thanh_vien_ho"):
            db.execute(
                f"update {table} set updated_at = datetime((select max(updated_at) from {table}), "
                "'+1 day') "
                f"where rowid in (select rowid from {table} limit 3)"
            )
    source = load_registry()["residence"]
    extracted = extract_source(source, f"sqlite:///{database}", landing, "2025-07-02")
    assert len(extracted.landed) == 2, extracted
    load_source(url, landing, source)
    try:
        run_dbt(url, tmp_path, "run")
        yield url
    finally:
        drop_database(url)


def _cells(page: str, table: str) -> list[dict[str, str]]:
    """The rows of a page's table as ``{data-field: text}`` plus the row's data attributes."""
    from html.parser import HTMLParser

    rows: list[dict[str, str]] = []

    class Parser(HTMLParser):
        inside, field = False, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "table":
                self.inside = a.get("id") == table
            elif self.inside and tag == "tr" and len(a) > (1 if "class" in a else 0):
                rows.append({k[5:]: v for k, v in a.items() if k.startswith("data-")})
            elif self.inside and tag == "td" and rows:
                self.field = a.get("data-field")
                if self.field:
                    rows[-1][self.field] = ""

        def handle_endtag(self, tag):
            if tag == "table":
                self.inside = False
            self.field = None if tag == "td" else self.field

        def handle_data(self, text):
            if self.field:
                rows[-1][self.field] = rows[-1].get(self.field, "") + text.strip()

    Parser().feed(page)
    return rows


def test_scorecard_shows_the_dbt_built_mart_and_a_point_per_day(two_day_warehouse):
    """The page over marts.quality_scorecard as dbt builds it: every figure of the latest
    day equals the mart's, the trend's shares are the mart's sums, and each property's line
    has one point per day of the history."""
    url = two_day_warehouse
    app = create_app(lambda: url, lambda: [], lambda: "ana")
    page = TestClient(app).get("/scorecard").text
    with connect(url) as conn:
        days = [r[0] for r in conn.execute("select distinct day from marts.quality_scorecard")]
        latest = {
            f"{r[0]}.{r[1]}.{r[2]}": r[3:]
            for r in conn.execute(
                """
                select source, entity, measure, day::text, value, numerator, denominator, status
                from marts.quality_scorecard s
                where day = (select max(day) from marts.quality_scorecard m
                             where m.source = s.source and m.entity = s.entity)
                """
            )
        }
        trend = {
            (r[0], str(r[1])): round(float(r[2]), 4)
            for r in conn.execute(
                """
                select property, day, sum(numerator)::numeric / sum(denominator)
                from marts.quality_scorecard
                where status = 'measured' and measure in (
                    'population_agreement', 'required_completeness', 'conformed_share',
                    'codes_mapped', 'personal_id_in_population')
                group by 1, 2 having sum(denominator) > 0
                """
            )
        }
    assert len(days) == 2, f"the fixture should leave two days of history, not {days}"
    shown = {r["key"]: r for r in _cells(page, "scorecard")}
    assert set(shown) == set(latest) and len(shown) > 10
    for key, (day, value, numerator, denominator, status) in latest.items():
        row = shown[key]
        assert (row["day"], row["value"], row["status"]) == (
            day,
            "" if value is None else str(value),
            status,
        ), key
        assert row["numerator"] == ("" if numerator is None else str(numerator)), key
        assert row["denominator"] == ("" if denominator is None else str(denominator)), key
    trend_rows = {(r["property"], r["day"]): float(r["share"]) for r in _cells(page, "trend")}
    assert trend_rows == trend
    # The chart: one point (circle) per property and day, each titled with the mart's share.
    for (prop, day), share in trend.items():
        assert f"<title>{prop} {day}: {share:g}</title>" in page
    assert page.count("<circle") == len(trend)
    # Every day of the history is on the chart; the properties measured on every entity
    # (conformance, completeness) have a point each day, the others where they were measured.
    assert {day for _, day in trend} == {str(d) for d in days}
    for prop in ("clean", "sufficient"):
        assert sorted(d for p, d in trend if p == prop) == sorted(str(d) for d in days), prop
    # A source's own page: only its rows.
    one = next(iter(latest)).split(".")[0]
    only = _cells(TestClient(app).get("/scorecard", params={"source": one}).text, "scorecard")
    assert only and all(r["key"].startswith(f"{one}.") for r in only)


# Airflow's own api-server app (with the plugins folder), signed in through POST /auth/token
# as each user of the simple auth manager, then the ndc pages requested with the session's
# token in the UI's `_token` cookie, as the browser does.
AS_USERS = textwrap.dedent(
    """
    import json, sys
    from airflow.settings import engine
    from airflow.models.revoked_token import RevokedToken
    RevokedToken.__table__.create(engine, checkfirst=True)  # what get_user checks a token in
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient
    client = TestClient(create_app())
    paths = json.loads(sys.argv[1])
    out = {}
    for user, password in (("olga", "pw-olga"), ("vic", "pw-vic"), ("vic", "wrong"), (None, None)):
        cookies = {}
        if user:
            r = client.post("/auth/token", json={"username": user, "password": password})
            if r.status_code != 201:
                out[f"{user}:{password}"] = r.status_code
                continue
            cookies = {"_token": r.json()["access_token"]}
        out[user or "nobody"] = {
            p: [r.status_code, r.text] for p in paths for r in [client.get(p, cookies=cookies)]
        }
    print("RESULT" + json.dumps(out))
    """
)


def test_a_viewer_sees_the_aggregates_and_is_refused_person_rows(warehouse, tmp_path):
    """Signed in to Airflow: an Op sees every page; a Viewer sees the reconciliation, the
    discrepancy counts and the scorecard, and is refused (403, saying why) the pages that
    show person rows, and no view of person rows is logged for them; without a session every
    page is refused (401)."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"olga": "pw-olga", "vic": "pw-vic"}))
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "olga:op,vic:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
            "AIRFLOW_CONN_NDC_WAREHOUSE": warehouse,
        }
    )
    aggregates = ["/ndc/reconciliation", "/ndc/reconciliation/b1", "/ndc/discrepancies"]
    aggregates.append("/ndc/scorecard")
    personal = [
        "/ndc/quarantine",
        "/ndc/quarantine/row?source=residence&entity=resident&batch=b1&row=7",
        "/ndc/discrepancies/residence",
        "/ndc/discrepancies/residence.csv",
        "/ndc/logs",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", AS_USERS, json.dumps(aggregates + personal)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["vic:wrong"] == 401
    olga, vic, nobody = out["olga"], out["vic"], out["nobody"]
    assert {p: s for p, (s, _) in olga.items()} == {p: 200 for p in aggregates + personal}
    assert 'data-key="b1:1"' in olga["/ndc/quarantine"][1]
    assert {p: s for p, (s, _) in vic.items()} == {p: 200 for p in aggregates} | {
        p: 403 for p in personal
    }
    assert '<td class="n" data-field="rows_quarantined">120' in vic["/ndc/reconciliation"][1]
    refused = vic["/ndc/quarantine"][1]
    assert "vic: this page shows personal data" in refused and "b1:1" not in refused
    assert "so_dinh_danh" not in vic[personal[1]][1] and "Nam" not in vic[personal[3]][1]
    assert {s for s, _ in nobody.values()} == {401}
    with connect(warehouse) as conn:
        viewers = {r[0] for r in conn.execute("select airflow_user from ops.ui_access_log")}
    assert viewers == {"olga"}


def test_the_ui_bench_fills_tables_the_pages_read(pg_database):
    """`ndc bench --only ui` on a small warehouse: every page it times answers with the rows
    it filled (a full quarantine page, a scorecard), and the reconciliation pages its 150
    batches 100 at a time, its totals those of every batch."""
    from ndc.bench_ui import fill, time_pages

    counts = fill(pg_database, 30_000, log=lambda _: None)
    assert counts["quarantine.quarantined_rows"] == 30_000 and counts["ops.load_ledger"] == 150
    pages = {p["page"]: p for p in time_pages(pg_database, log=lambda _: None, repeat=1)}
    assert len(pages) == 17 and all(p["seconds"] > 0 for p in pages.values())
    client = TestClient(create_app(lambda: pg_database, lambda: ["residence"], lambda: "b"))
    assert client.get("/quarantine").text.count('data-key="') == queries.PAGE_SIZE
    assert 'data-field="status">measured' in client.get("/scorecard").text
    shown = []
    for number in (1, 2):
        page = client.get("/reconciliation", params={"page": number}).text
        shown += [k.split('"')[0] for k in page.split('data-batch="')[1:]]
    with connect(pg_database) as conn:
        ledger = conn.execute(
            "select batch_id from ops.load_ledger order by source, entity, loaded_at, batch_id"
        ).fetchall()
        loaded = conn.execute(
            "select source, sum(rows_loaded) from ops.load_ledger group by 1 order by 1"
        ).fetchall()
    assert shown == [b for (b,) in ledger] and 'id="next"' not in page
    totals = _cells(page, "totals")
    assert [(t["source"], int(t["loaded"])) for t in totals] == loaded
