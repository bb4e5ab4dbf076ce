"""The ndc pages (ndc.ui.app) over a small hand-made warehouse, without Airflow: the figures
shown are the tables', the quarantine browser pages by keyset, the CSV is the mart, and each
view of person rows is written to ops.ui_access_log. Airflow's login in front of them is
tests/dags/test_plugins.py's and, in a real browser, tests/e2e/test_pipeline.py's."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

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


def test_scorecard_trend_and_logs_when_their_tables_exist(client, warehouse):
    with connect(warehouse, autocommit=True) as conn:
        conn.execute(
            """
            create table marts.quality_scorecard as
            select 'residence' as source, 'clean' as property, d::date as scored_on,
                   0.9 + n / 100.0 as value
            from generate_series(0, 2) n, lateral (select date '2026-12-01' + n as d) days;
            create table ops.access_log (id bigserial, logged_at timestamptz default now(),
                agency text, personal_id text);
            insert into ops.access_log (agency, personal_id) values ('moh', '001090012345');
            """
        )
    page = client.get("/scorecard").text
    assert "<polyline" in page and "residence clean 2026-12-03: 0.92" in page
    assert page.count("<tr>") == 1 + 3  # header and the three days
    logs = client.get("/logs").text
    assert "001090012345" in logs and "ops.sharing_log does not exist yet" in logs
    with connect(warehouse) as conn:
        assert conn.execute("select page, rows_shown from ops.ui_access_log").fetchall() == [
            ("logs", 1)
        ]
