"""The population database sync: upsert by personal ID number, deaths, idempotence."""

from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndc.population import CITIZEN_DDL, load_baseline, snapshot_to_warehouse, sync_citizens
from ndc.warehouse import connect, drop_database, ensure_database

pytestmark = pytest.mark.integration


@pytest.fixture
def databases(pg_database):
    population = pg_database + "_pop"
    ensure_database(population)
    with connect(pg_database) as conn:
        conn.execute("""
            create schema marts;
            create table marts.citizens (personal_id varchar(12) primary key, full_name text,
                date_of_birth date, sex_code varchar(1), date_of_death date, is_deceased boolean,
                source_systems text, record_count integer);
            insert into marts.citizens values
              ('001085000001', 'Nguyễn Văn An', '1985-03-02', '1', null, false, 'social_insurance', 1),
              ('001190000002', 'Trần Thị Bình', '1990-12-31', '2', null, false, 'social_insurance', 1);
        """)
    yield pg_database, population
    drop_database(population)


def _citizens(url):
    with connect(url) as conn:
        return conn.execute(
            "select personal_id, full_name, date_of_death::text from citizen order by 1"
        ).fetchall()


def test_sync_inserts_then_changes_nothing(databases):
    warehouse, population = databases
    first = sync_citizens(warehouse, population)
    assert (first.incoming, first.inserted, first.updated, first.citizens) == (2, 2, 0, 2)
    again = sync_citizens(warehouse, population)
    assert (again.inserted, again.updated, again.unchanged, again.citizens) == (0, 0, 2, 2)
    assert _citizens(population) == [
        ("001085000001", "Nguyễn Văn An", None),
        ("001190000002", "Trần Thị Bình", None),
    ]


def test_a_death_sets_the_date_of_death_and_is_not_undone(databases):
    warehouse, population = databases
    sync_citizens(warehouse, population)
    with connect(warehouse) as conn:
        conn.execute(
            "update marts.citizens set date_of_death = '2025-06-02', is_deceased = true "
            "where personal_id = '001085000001'"
        )
    assert sync_citizens(warehouse, population).updated == 1
    assert _citizens(population)[0] == ("001085000001", "Nguyễn Văn An", "2025-06-02")
    with connect(warehouse) as conn:  # a later mart without the death keeps it
        conn.execute("update marts.citizens set date_of_death = null")
    assert sync_citizens(warehouse, population).updated == 0
    assert _citizens(population)[0][2] == "2025-06-02"


def test_the_master_is_never_overwritten_only_filled(databases):
    warehouse, population = databases
    with connect(population) as conn:
        conn.execute(CITIZEN_DDL)
        conn.execute(
            "insert into citizen (personal_id, full_name, date_of_birth) "
            "values ('001085000001', 'Nguyễn Văn An', null)"
        )
    with connect(warehouse) as conn:  # a sectoral system spells the name its own way
        conn.execute("update marts.citizens set full_name = 'NGUYEN VAN AN'")
    result = sync_citizens(warehouse, population)
    assert (result.inserted, result.updated) == (1, 1)
    with connect(population) as conn:
        row = conn.execute(
            "select full_name, date_of_birth::text, sex_code from citizen "
            "where personal_id = '001085000001'"
        ).fetchone()
    assert row == ("Nguyễn Văn An", "1985-03-02", "1")  # name kept, missing values filled


def test_baseline_loads_once(databases, tmp_path):
    _, population = databases
    snapshot = tmp_path / "baseline.parquet"
    pq.write_table(
        pa.table(
            {
                "personal_id": ["079190000001", "001085000009"],
                "full_name": ["Lê Thị Hoa", "Phạm Văn Bình"],
                "date_of_birth": [date(1990, 1, 2), date(1985, 5, 6)],
                "sex_code": ["2", "1"],
                "date_of_death": pa.array([None, None], pa.date32()),
                "cmnd": ["025000001", None],
                "updated_at": [datetime(2020, 1, 1, 8, 0), datetime(2021, 2, 3, 9, 30)],
            }
        ),
        snapshot,
    )
    assert load_baseline(population, snapshot) == 2
    assert load_baseline(population, snapshot) == 0  # already holds citizens: not mixed in
    with connect(population) as conn:
        assert conn.execute("select count(*), count(cmnd) from citizen").fetchone() == (2, 1)


def test_snapshot_copies_the_population_into_the_warehouse_and_replaces_it(databases):
    warehouse, population = databases
    sync_citizens(warehouse, population)
    assert snapshot_to_warehouse(population, warehouse) == 2
    with connect(population) as conn:
        conn.execute(
            "update citizen set date_of_death = '2025-06-01', cmnd = '012345678'"
            " where personal_id = '001085000001'"
        )
    # A second snapshot replaces the first: same citizens, their current values.
    assert snapshot_to_warehouse(population, warehouse) == 2
    with connect(warehouse) as conn:
        rows = conn.execute(
            "select personal_id, full_name, date_of_birth::text, date_of_death::text, cmnd"
            " from raw.population__citizen order by 1"
        ).fetchall()
    assert rows == [
        ("001085000001", "Nguyễn Văn An", "1985-03-02", "2025-06-01", "012345678"),
        ("001190000002", "Trần Thị Bình", "1990-12-31", None, None),
    ]
