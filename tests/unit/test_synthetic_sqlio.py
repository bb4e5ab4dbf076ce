"""ndc.synthetic.sqlio: SQL sources written to MariaDB and PostgreSQL instead of SQLite."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from ndc.synthetic import GenerationSummary, generate
from tests.conftest import MYSQL_URL, PG_URL
from tests.unit.synthetic_files import SQL_TABLES, read_si, read_sql_tables


def drop_database(server_url: str, name: str) -> None:
    """Drop a test database (server-level connection, autocommit)."""
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        engine.dispose()


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Render a table's values as text so SQLite and server results compare equal."""
    frame = frame.sort_values("ma_so_bhxh", ignore_index=True)
    return frame.apply(lambda col: col.map(str))


def _server_urls(kind: str, name: str) -> tuple[str, str]:
    """(server URL to create and drop databases from, the database's URL) for the test
    servers of tests/conftest.py."""
    if kind == "mysql":
        return f"{MYSQL_URL}/", f"{MYSQL_URL}/{name}"
    pg = PG_URL.replace("postgresql://", "postgresql+psycopg2://")
    return f"{pg}/postgres", f"{pg}/{name}"


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_social_insurance_target(country42: GenerationSummary, tmp_path: Path, kind: str) -> None:
    # A name of this run's own: a concurrent run of the suite must not drop it under us.
    name = f"ndc_test_synth_{uuid.uuid4().hex[:8]}"
    server, database_url = _server_urls(kind, name)
    try:
        summary = generate(
            tmp_path, persons=1000, seed=42, days=3, targets={"social_insurance": database_url}
        )
        assert not (tmp_path / "social_insurance" / "social_insurance.sqlite").exists()
        assert summary.files["social_insurance"] == 0
        # a second run drops and recreates the table
        generate(
            tmp_path, persons=1000, seed=42, days=3, targets={"social_insurance": database_url}
        )
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as conn:
                remote = pd.read_sql_query(sa.text("SELECT * FROM insured_person"), conn)
            index_names = {i["name"] for i in sa.inspect(engine).get_indexes("insured_person")}
        finally:
            engine.dispose()
        assert "ix_insured_person_updated_at" in index_names
        assert summary.rows["social_insurance"]["insured_person"] == len(remote)
        local = read_si(country42.out)
        remote["ngay_sinh"] = remote["ngay_sinh"].map(lambda d: d.isoformat())
        remote["updated_at"] = remote["updated_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M:%S}")
        pd.testing.assert_frame_equal(_normalised(remote), _normalised(local))
        # inbox and truth are unaffected by the target
        assert (tmp_path / "truth" / "defects.csv").read_bytes() == (
            country42.out / "truth" / "defects.csv"
        ).read_bytes()
    finally:
        drop_database(server, name)


def _text_frame(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    def fmt(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(v, date):
            return v.isoformat()
        return str(v)

    frame = frame.astype(object).sort_values(key, key=lambda s: s.map(str), ignore_index=True)
    return frame.apply(lambda col: col.map(fmt))


@pytest.mark.integration
def test_mariadb_and_postgresql_targets(country11: GenerationSummary, tmp_path: Path) -> None:
    mysql_server = f"{MYSQL_URL}/"
    pg_server = PG_URL.replace("postgresql://", "postgresql+psycopg2://")
    name = f"ndc_test_country_{uuid.uuid4().hex[:8]}"
    si_url = f"{MYSQL_URL}/{name}"
    res_url = f"{pg_server}/{name}"
    try:
        summary = generate(
            tmp_path,
            persons=1000,
            seed=11,
            days=3,
            targets={"social_insurance": si_url, "residence": res_url},
        )
        assert not (tmp_path / "social_insurance" / "social_insurance.sqlite").exists()
        assert not (tmp_path / "residence" / "residence.sqlite").exists()
        local = read_sql_tables(country11.out)
        for url, tables in (
            (si_url, SQL_TABLES["social_insurance"]),
            (res_url, SQL_TABLES["residence"]),
        ):
            engine = sa.create_engine(url)
            try:
                with engine.connect() as conn:
                    for table, key in tables.items():
                        remote = pd.read_sql_query(sa.text(f"SELECT * FROM {table}"), conn)
                        pd.testing.assert_frame_equal(
                            _text_frame(remote, key), _text_frame(local[table], key)
                        )
                indexes = {
                    i["name"]: i["column_names"]
                    for t in tables
                    for i in sa.inspect(engine).get_indexes(t)
                }
                assert any("updated_at" in cols for cols in indexes.values())
            finally:
                engine.dispose()
        assert summary.rows["residence"] == country11.rows["residence"]
        assert (tmp_path / "truth" / "defects.csv").read_bytes() == (
            country11.out / "truth" / "defects.csv"
        ).read_bytes()
    finally:
        drop_database(mysql_server, name)
        drop_database(f"{pg_server}/postgres", name)
