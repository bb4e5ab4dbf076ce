"""Incremental SQL extraction on the three engines a sectoral source may run on."""

import json

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ndc.extract import ExtractError, extract_source
from ndc.landing import LocalLandingZone

pytestmark = pytest.mark.integration

COLUMNS = "ma_so_bhxh, so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, ma_don_vi, updated_at"


@pytest.fixture
def insured_only(registry):
    """The social insurance source with just its insured_person entity."""
    source = registry["social_insurance"]
    return source.model_copy(update={"entities": [source.entity("insured_person")]})


def _create(url: str, rows: list[tuple]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("drop table if exists insured_person"))
        conn.execute(
            sa.text(
                "create table insured_person (ma_so_bhxh varchar(10) primary key, "
                "so_dinh_danh varchar(12), ho_ten varchar(100), ngay_sinh date, gioi_tinh integer, "
                "ma_don_vi varchar(10), updated_at timestamp, so_cmnd varchar(9), "
                "ma_so_thue_don_vi varchar(13), so_dien_thoai varchar(15))"
            )
        )
        _insert(conn, rows)
    engine.dispose()


def _insert(conn, rows):
    conn.execute(
        sa.text(f"insert into insured_person ({COLUMNS}) values (:a, :b, :c, :d, :e, :f, :g)"),
        [dict(zip("abcdefg", r, strict=True)) for r in rows],
    )


ROWS = [
    (
        "0101000001",
        "001085000001",
        "NGUYEN VAN AN",
        "1985-03-02",
        1,
        "TA0001A",
        "2025-06-01 08:00:00",
    ),
    (
        "0101000002",
        "001190000002",
        "Trần Thị Bình",
        "1990-12-31",
        0,
        "TA0001A",
        "2025-06-01 09:30:00",
    ),
]
LATER = [
    (
        "0101000003",
        "079095000003",
        "Lê Văn Cường",
        "1995-07-07",
        1,
        "TB0002B",
        "2025-06-02 10:00:00",
    )
]


@pytest.fixture(params=["sqlite", "mariadb", "postgresql"])
def source_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'si.sqlite'}"
    return request.getfixturevalue(
        "mysql_database" if request.param == "mariadb" else "pg_database"
    )


def _sqlalchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def test_incremental_extraction_lands_only_new_rows(insured_only, source_url, tmp_path):
    url = _sqlalchemy(source_url)
    _create(url, ROWS)
    landing = LocalLandingZone(tmp_path / "landing")
    source = insured_only

    first = extract_source(source, url, landing, "2025-06-01")
    assert [m.rows_landed for m in first.landed] == [2]
    manifest = first.landed[0]
    assert manifest.watermark_from is None and manifest.watermark_to == "2025-06-01 09:30:00"
    with landing.local_path(manifest.key) as path:
        rows = pq.read_table(path).to_pylist()
    assert rows[0]["ho_ten"] == "NGUYEN VAN AN" and rows[1]["ho_ten"] == "Trần Thị Bình"
    assert rows[0]["ngay_sinh"] == "1985-03-02" and rows[0]["gioi_tinh"] == "1"
    assert [r["_source_row"] for r in rows] == [1, 2]

    assert extract_source(source, url, landing, "2025-06-01").landed == []  # nothing new

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _insert(conn, LATER)
    engine.dispose()
    second = extract_source(source, url, landing, "2025-06-02").landed
    assert [m.rows_landed for m in second] == [1]
    assert second[0].watermark_from == "2025-06-01 09:30:00"
    assert second[0].watermark_to == "2025-06-02 10:00:00"


def test_rows_committed_late_land_with_the_next_run_once(insured_only, source_url, tmp_path):
    """A row stamped at or before the watermark the last extract reached, committed after it
    read (a source transaction that set updated_at when it began): the next run's look-back
    lands it, and nothing it landed before a second time."""
    url = _sqlalchemy(source_url)
    _create(url, ROWS)
    landing = LocalLandingZone(tmp_path / "landing")
    first = extract_source(insured_only, url, landing, "2025-06-01").landed[0]
    assert first.watermark_to == "2025-06-01 09:30:00"

    late = [
        ("0101000004", None, "Phạm Văn Muộn", None, 1, "TA0001A", "2025-06-01 09:30:00"),
        ("0101000005", None, "Đỗ Thị Trễ", None, 0, "TA0001A", "2025-06-01 09:20:00"),
    ]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _insert(conn, late)
    engine.dispose()
    second = extract_source(insured_only, url, landing, "2025-06-02").landed
    assert [m.rows_landed for m in second] == [2]
    assert second[0].watermark_from == second[0].watermark_to == "2025-06-01 09:30:00"
    with landing.local_path(second[0].key) as path:
        landed = sorted(r["ma_so_bhxh"] for r in pq.read_table(path).to_pylist())
    assert landed == ["0101000004", "0101000005"]
    assert extract_source(insured_only, url, landing, "2025-06-03").landed == []  # once


def test_source_down_is_a_clear_error(registry, tmp_path):
    url = "mysql+pymysql://root@127.0.0.1:1/nowhere"
    with pytest.raises(ExtractError, match="social_insurance: cannot connect"):
        extract_source(registry["social_insurance"], url, LocalLandingZone(tmp_path), "d")


def _add_email(url: str) -> None:
    """The table gains a column the registry does not declare; one row has a value in it."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("alter table insured_person add column email varchar(50)"))
        conn.execute(
            sa.text("update insured_person set email = :email where ma_so_bhxh = '0101000002'"),
            {"email": EMAIL},
        )
    engine.dispose()


EMAIL = 'binh.tran@example.vn "Bình", \\ nhà'  # quotes, a comma, a backslash: COPY's CSV


def test_schema_drift_is_reported_and_a_lost_column_fails_naming_it(registry, source_url, tmp_path):
    """A column the registry does not declare is named in the batch's manifest (and so in the
    load ledger and `ndc report`) and its values are kept in the batch's _extra; a declared
    column the table lost fails that entity, naming source, entity and column, while the
    source's other entities still land."""
    url = _sqlalchemy(source_url)
    _create(url, ROWS)
    _add_email(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("drop table if exists qua_trinh_dong"))
        conn.execute(
            sa.text(
                "create table qua_trinh_dong (id varchar(10) primary key, ma_so_bhxh varchar(10), "
                "tu_thang varchar(7), muc_luong integer, ma_so_thue_don_vi varchar(13), "
                "updated_at timestamp)"  # den_thang is gone
            )
        )
        conn.execute(
            sa.text(
                "insert into qua_trinh_dong values "
                "('1', '0101000001', '01/2025', 5000000, '0100000001', '2025-06-01 08:00:00')"
            )
        )
    engine.dispose()
    landing = LocalLandingZone(tmp_path)
    result = extract_source(registry["social_insurance"], url, landing, "d")
    [insured] = result.landed
    assert insured.entity == "insured_person" and insured.rows_landed == 2
    assert insured.extra == {"undeclared_columns": ["email"]}
    with landing.local_path(insured.key) as path:
        rows = pq.read_table(path).to_pylist()
    assert [(r["ma_so_bhxh"], r["_extra"]) for r in rows] == [
        ("0101000001", None),
        ("0101000002", json.dumps({"email": EMAIL}, ensure_ascii=False)),
    ]
    assert "email" not in rows[0]  # not a column of the batch: the registry's are
    [error] = result.errors
    assert "social_insurance.contribution_period" in error and "['den_thang']" in error


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_schema_drift_reaches_raw_the_ledger_and_the_report(
    insured_only, pg_database, tmp_path, engine
):
    """After a real load, the undeclared column's value is in its row's raw _extra, the
    ledger names the column and counts the row, and `ndc report` shows both."""
    from ndc.load import load_source
    from ndc.population import ensure_population_db
    from ndc.report import build_report, format_report
    from ndc.warehouse import bootstrap, connect

    # PostgreSQL: the source table in the warehouse database's public schema (its own server
    # would do the same); SQLite: a file.
    url = f"sqlite:///{tmp_path / 'si.sqlite'}" if engine == "sqlite" else _sqlalchemy(pg_database)
    _create(url, ROWS)
    _add_email(url)
    landing = LocalLandingZone(tmp_path / "landing")
    assert not extract_source(insured_only, url, landing, "2025-06-01").errors
    bootstrap(pg_database, {"social_insurance": insured_only})
    load_source(pg_database, landing, insured_only)
    with connect(pg_database) as conn:
        raw = conn.execute(
            "select ma_so_bhxh, _extra from raw.social_insurance__insured_person "
            "order by ma_so_bhxh"
        ).fetchall()
        ledger = conn.execute(
            "select undeclared_columns, undeclared_rows from ops.load_ledger"
        ).fetchall()
    assert raw == [("0101000001", None), ("0101000002", {"email": EMAIL})]
    assert ledger == [(["email"], 1)]
    population = f"{pg_database}_pop"
    ensure_population_db(population)
    try:
        report = build_report(pg_database, population, {"social_insurance": insured_only})
    finally:
        from ndc.warehouse import drop_database

        drop_database(population)
    drift = report["schema_drift"]["social_insurance.insured_person"]
    assert drift["columns"] == ["email"] and drift["rows"] == 1
    text = format_report(report)
    assert "schema drift: social_insurance.insured_person sends undeclared column(s) email" in text
    assert "1 row(s) with values, kept in raw.social_insurance__insured_person._extra" in text


def test_the_windows_count_is_the_batchs_and_a_dropped_row_fails(
    insured_only, source_url, tmp_path, monkeypatch
):
    """Each batch carries the source's `count(*)` of its watermark window, taken in the
    extract's snapshot; an extractor that loses a row fails the entity naming the table, the
    window and both counts, lands nothing, and the next run (fixed) lands the window."""
    from ndc.extract import sql as sql_mod
    from tests.unit.test_source_count import _drop_one

    url = _sqlalchemy(source_url)
    _create(url, ROWS)
    landing = LocalLandingZone(tmp_path / "landing")
    [first] = extract_source(insured_only, url, landing, "2025-06-01").landed
    assert first.rows_at_source == first.rows_landed == 2

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _insert(conn, LATER)
    engine.dispose()
    monkeypatch.setattr(sql_mod, "_chunks", _drop_one(sql_mod._chunks))
    result = extract_source(insured_only, url, landing, "2025-06-02")
    assert result.landed == []
    assert result.errors == [
        "social_insurance.insured_person: table insured_person where updated_at in "
        "(2025-06-01 09:30:00, 2025-06-02 10:00:00], and in (2025-06-01 08:30:00, "
        "2025-06-01 09:30:00] the rows no landed batch holds: the source counts 1 row(s), the "
        "extractor read 0: batch not landed (a count mismatch is the extractor's bug: rows "
        "dropped?)"
    ]
    monkeypatch.undo()
    [second] = extract_source(insured_only, url, landing, "2025-06-02").landed
    assert second.rows_at_source == second.rows_landed == 1
    assert second.watermark_from == "2025-06-01 09:30:00"


def test_count_and_rows_are_read_in_one_snapshot(source_url):
    """A row committed by another session between the count and the rows' query is in
    neither: the extract's transaction reads one snapshot (REPEATABLE READ on PostgreSQL and
    MariaDB, a real BEGIN on SQLite; in WAL mode, where a writer does not wait for readers)."""
    from ndc.extract.sql import snapshot_engine

    url = _sqlalchemy(source_url)
    _create(url, ROWS)
    writer = sa.create_engine(url)
    if url.startswith("sqlite"):
        with writer.connect() as conn:
            conn.exec_driver_sql("pragma journal_mode=wal")
    reader = snapshot_engine(url)
    with reader.connect() as conn:
        count = conn.execute(sa.text("select count(*) from insured_person")).scalar()
        with writer.begin() as other:
            _insert(other, LATER)
        rows = conn.execute(sa.text("select ma_so_bhxh from insured_person")).fetchall()
    assert count == len(rows) == 2
    with reader.connect() as conn:  # a new transaction sees the new row
        assert conn.execute(sa.text("select count(*) from insured_person")).scalar() == 3
    reader.dispose()
    writer.dispose()
