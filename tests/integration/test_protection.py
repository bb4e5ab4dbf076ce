"""Warehouse access control, tested as each role: a real login granted the role (as an operator
grants it to a person, README.md "Protection") reads what the role may read and no more."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors, sql

from ndc.protection import ANALYST, LOADER, TRANSFORMER, agency_role, pseudonym
from ndc.warehouse import connect

pytestmark = pytest.mark.integration

PERSONAL_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


@contextmanager
def login_as(url: str, role: str):
    """A connection of a throw-away login granted `role` only; the login is dropped after."""
    user = f"ndc_test_{uuid.uuid4().hex[:8]}"
    with connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("create role {} login in role {}").format(
                sql.Identifier(user), sql.Identifier(role)
            )
        )
    parts = urlsplit(url)
    as_user = urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port or 5432}"))
    try:
        with psycopg.connect(as_user, autocommit=True) as conn:
            yield conn
    finally:
        with connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop role {}").format(sql.Identifier(user)))


def denied(conn: psycopg.Connection, query: str) -> bool:
    try:
        conn.execute(query).fetchall()
    except errors.InsufficientPrivilege:
        return True
    return False


def test_an_agency_reads_its_own_quarantined_rows_and_mart_only(built_warehouse, registry):
    with connect(built_warehouse.url) as conn:
        quarantined = dict(
            conn.execute("select source, count(*) from quarantine.quarantined_rows group by 1")
        )
        merged = dict(
            conn.execute("select source, count(*) from quarantine.merged_duplicates group by 1")
        )
    assert len(quarantined) >= 2, quarantined  # the tiny country has defects in several sources
    for source in sorted(set(quarantined) | set(merged)):
        with login_as(built_warehouse.url, agency_role(source)) as conn:
            for table, expected in (
                ("quarantined_rows", quarantined),
                ("merged_duplicates", merged),
            ):
                seen = dict(
                    conn.execute(f"select source, count(*) from quarantine.{table} group by 1")
                )
                assert seen == ({source: expected[source]} if source in expected else {}), table
            others = [s for s in registry if s != source]
            # Another agency's rows: nothing, even when asked for by name.
            assert conn.execute(
                "select count(*) from quarantine.quarantined_rows where source = any(%s)", (others,)
            ).fetchone() == (0,)
            conn.execute(f"select count(*) from marts.discrepancies_{source}").fetchone()
            for other in others:
                assert denied(conn, f"select * from marts.discrepancies_{other} limit 1"), other
            assert denied(conn, "select * from marts.citizens limit 1")
            assert denied(conn, "select * from staging.stg_civil_registration__births limit 1")


def _analyst_tables(conn: psycopg.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'analyst' "
            "order by 1"
        )
    ]


def test_the_analyst_never_sees_a_personal_id_or_a_name(built_warehouse):
    with connect(built_warehouse.url) as conn:
        ids = {r[0] for r in conn.execute("select personal_id from marts.citizens")}
        names = {
            r[0] for r in conn.execute("select full_name from marts.citizens where full_name <> ''")
        }
        tables = _analyst_tables(conn)
    assert ids and names and tables == ["citizen_attribute_versions", "citizens"]
    with login_as(built_warehouse.url, ANALYST) as conn:
        for table in tables:
            cursor = conn.execute(f"select * from analyst.{table}")
            columns = [c.name for c in cursor.description]
            rows = cursor.fetchall()
            assert rows, table
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    text = "" if value is None else str(value)
                    assert not PERSONAL_ID.search(text), (table, column, text)
                    assert text not in ids and text not in names, (table, column, text)
                    assert not any(name in text for name in names if len(name) > 6), (table, column)
        citizen_columns = {
            r.name for r in conn.execute("select * from analyst.citizens limit 0").description
        }
        assert {"personal_id_pseudonym", "date_of_birth_year", "sex_code"} <= citizen_columns
        assert not {"personal_id", "full_name", "date_of_birth"} & citizen_columns
        # Communes kept, sensitive attributes left out; one pseudonym per person in both tables.
        attributes = {
            r[0]
            for r in conn.execute(
                "select distinct attribute from analyst.citizen_attribute_versions"
            )
        }
        assert "commune_code" in attributes and "ethnicity_code" not in attributes
        joined = conn.execute(
            "select count(*) from analyst.citizen_attribute_versions v "
            "join analyst.citizens c using (personal_id_pseudonym)"
        ).fetchone()[0]
        # Nothing with personal data, and no way to compute a pseudonym of a known number.
        for query in (
            "select * from marts.citizens limit 1",
            "select * from staging.stg_civil_registration__births limit 1",
            "select * from quarantine.quarantined_rows limit 1",
            "select * from raw.population__citizen limit 1",
            "select ops.pseudonym('001090000001')",
        ):
            assert denied(conn, query), query
    with connect(built_warehouse.url) as conn:
        kept = conn.execute(
            "select count(*) from marts.citizen_attribute_versions v "
            "join marts.citizens c using (personal_id) where v.attribute = any(%s)",
            (sorted(attributes),),
        ).fetchone()[0]
    assert joined == kept > 0


def test_the_loader_writes_raw_but_cannot_read_the_marts(built_warehouse):
    with login_as(built_warehouse.url, LOADER) as conn:
        assert conn.execute("select count(*) from ops.load_ledger").fetchone()[0] > 0
        conn.execute("select count(*) from raw.civil_registration__birth").fetchone()
        for query in (
            "select * from marts.citizens limit 1",
            "select * from marts.discrepancies_education limit 1",
            "select * from analyst.citizens limit 1",
            "select * from staging.stg_education__students limit 1",
        ):
            assert denied(conn, query), query


def test_the_transformer_pseudonymises_without_reading_the_key(built_warehouse):
    with login_as(built_warehouse.url, TRANSFORMER) as conn:
        conn.execute("select count(*) from raw.civil_registration__birth").fetchone()
        assert len(conn.execute("select ops.pseudonym('001090000001')").fetchone()[0]) == 32
        assert denied(conn, "select * from vault.pseudonym_key")


def test_the_pseudonym_is_the_hmac_of_the_configured_key(pg_database, registry, monkeypatch):
    from ndc.warehouse import bootstrap

    monkeypatch.setenv("NDC_PSEUDONYM_KEY", "not-a-real-key")
    bootstrap(pg_database, registry)
    with connect(pg_database) as conn:
        got = conn.execute("select ops.pseudonym('001090000001')").fetchone()[0]
    assert got == pseudonym(b"not-a-real-key", "001090000001")
    # A bootstrap without the setting keeps the key the warehouse has.
    monkeypatch.delenv("NDC_PSEUDONYM_KEY")
    bootstrap(pg_database, registry)
    with connect(pg_database) as conn:
        assert conn.execute("select ops.pseudonym('001090000001')").fetchone()[0] == got


def test_the_load_runs_as_the_loader_when_configured(pg_database, registry, tmp_path, monkeypatch):
    from ndc.extract import extract_source
    from ndc.landing import LocalLandingZone
    from ndc.load import load_source
    from ndc.warehouse import bootstrap
    from tests.conftest import write_csv
    from tests.unit.test_extract_files import HEADER, ROW

    monkeypatch.setenv("NDC_WAREHOUSE_LOADER_ROLE", LOADER)
    write_csv(tmp_path / "inbox" / "births_01_20250601.csv", HEADER, [ROW])
    landing = LocalLandingZone(tmp_path / "landing")
    births = registry["civil_registration"]
    extract_source(births, str(tmp_path / "inbox"), landing, "2025-06-01")
    bootstrap(pg_database, registry)
    assert load_source(pg_database, landing, births, role=LOADER).rows == 1
    with connect(pg_database) as conn:
        owner, loaded_by = conn.execute(
            "select pg_get_userbyid(c.relowner), (select count(*) from ops.load_ledger) "
            "from pg_class c where c.oid = 'raw.civil_registration__birth'::regclass"
        ).fetchone()
        conn.execute("create table marts.probe (x int)")
    assert (owner, loaded_by) == (LOADER, 1)
    with connect(pg_database, autocommit=True) as conn:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(LOADER)))
        assert denied(conn, "select * from marts.probe")
