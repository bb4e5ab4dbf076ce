"""The population database sync: upsert by personal ID number, deaths, idempotence."""

import uuid
from datetime import date, datetime, timedelta

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
    assert snapshot_to_warehouse(population, warehouse)["copied"] == 2
    with connect(population) as conn:
        conn.execute(
            "update citizen set date_of_death = '2025-06-01', cmnd = '012345678'"
            " where personal_id = '001085000001'"
        )
    # A second snapshot brings the warehouse's copy up to date: same citizens, current values.
    assert snapshot_to_warehouse(population, warehouse)["changed"] == 1
    with connect(warehouse) as conn:
        rows = conn.execute(
            "select personal_id, full_name, date_of_birth::text, date_of_death::text, cmnd"
            " from raw.population__citizen order by 1"
        ).fetchall()
    assert rows == [
        ("001085000001", "Nguyễn Văn An", "1985-03-02", "2025-06-01", "012345678"),
        ("001190000002", "Trần Thị Bình", "1990-12-31", None, None),
    ]


def _changes(warehouse):
    with connect(warehouse) as conn:
        return conn.execute(
            "select seq, personal_id, _image, date_of_death::text, cmnd"
            " from raw.population__citizen_change order by seq, personal_id, _image desc"
        ).fetchall()


def _snapshots(warehouse):
    with connect(warehouse) as conn:
        return conn.execute(
            "select seq, citizens_copied, citizens_changed, watermark is not null"
            " from ops.population_snapshot order by seq"
        ).fetchall()


def test_snapshot_copies_only_the_changed_citizens_and_logs_old_and_new_rows(databases):
    warehouse, population = databases
    sync_citizens(warehouse, population)
    first = snapshot_to_warehouse(population, warehouse)
    assert (first["copied"], first["changed"]) == (2, 2)
    # The first snapshot logs every citizen as new: the change log alone tells an incremental
    # model every citizen it has not seen.
    assert _changes(warehouse) == [
        (first["seq"], "001085000001", "new", None, None),
        (first["seq"], "001190000002", "new", None, None),
    ]
    with connect(population) as conn:  # another writer: updated_at follows by the trigger
        conn.execute("update citizen set cmnd = '012345678' where personal_id = '001085000001'")
        conn.execute(
            "insert into citizen (personal_id, full_name) values ('079200000003', 'Lê Văn Cường')"
        )
    no_margin = timedelta(0)
    second = snapshot_to_warehouse(population, warehouse, margin=no_margin)
    # Only the changed and the new citizen are read; the unchanged one is not copied again.
    assert (second["seq"], second["copied"], second["changed"]) == (first["seq"] + 1, 2, 2)
    assert _changes(warehouse)[2:] == [
        (second["seq"], "001085000001", "old", None, None),
        (second["seq"], "001085000001", "new", None, "012345678"),
        (second["seq"], "079200000003", "new", None, None),
    ]
    # Read again within a safety margin, unchanged: nothing logged.
    third = snapshot_to_warehouse(population, warehouse, margin=timedelta(minutes=10))
    assert (third["copied"], third["changed"]) == (3, 0)
    # Nothing changed, and this session sees every transaction (no margin by default): nothing
    # read at all.
    assert snapshot_to_warehouse(population, warehouse)["copied"] == 0
    # full re-copies everything, still logging only real changes.
    assert snapshot_to_warehouse(population, warehouse, full=True)["changed"] == 0
    assert [row[1:] for row in _snapshots(warehouse)] == [
        (2, 2, True),
        (2, 2, True),
        (3, 0, True),
        (0, 0, True),
        (3, 0, True),
    ]
    with connect(warehouse) as conn:
        assert conn.execute("select count(*) from raw.population__citizen").fetchone()[0] == 3


def test_snapshot_sees_a_baseline_loaded_after_it_and_deletions_when_full(databases, tmp_path):
    warehouse, population = databases
    sync_citizens(warehouse, population)
    snapshot_to_warehouse(population, warehouse)
    with connect(population) as conn:  # a baseline's own, old updated_at
        conn.execute(
            "insert into citizen (personal_id, full_name, updated_at)"
            " values ('079190000001', 'Lê Thị Hoa', '2020-01-01')"
        )
    assert snapshot_to_warehouse(population, warehouse, margin=timedelta(0))["copied"] == 1
    with connect(population) as conn:
        conn.execute("delete from citizen where personal_id = '001190000002'")
    full = snapshot_to_warehouse(population, warehouse, full=True)
    assert (full["copied"], full["changed"]) == (2, 1)
    assert _changes(warehouse)[-1] == (full["seq"], "001190000002", "old", None, None)
    with connect(warehouse) as conn:
        ids = conn.execute("select personal_id from raw.population__citizen order by 1").fetchall()
    assert ids == [("001085000001",), ("079190000001",)]


@pytest.fixture
def marked_mart(databases):
    """The mart with the build marker the dbt model sets on the rows whose values changed."""
    warehouse, population = databases
    with connect(warehouse) as conn:
        conn.execute(
            "alter table marts.citizens add column _changed_at timestamptz;"
            "update marts.citizens set _changed_at = now() - interval '1 hour'"
        )
    return warehouse, population


def _change_mart(warehouse, statement):
    with connect(warehouse) as conn:
        conn.execute(statement.replace("set ", "set _changed_at = now(), ", 1))


def test_sync_sends_only_the_mart_rows_changed_since_the_last_sync(marked_mart):
    warehouse, population = marked_mart
    first = sync_citizens(warehouse, population, margin=timedelta(0))
    assert (first.incoming, first.inserted) == (2, 2)
    assert sync_citizens(warehouse, population, margin=timedelta(0)).incoming == 0
    _change_mart(
        warehouse,
        "update marts.citizens set date_of_death = '2025-06-02' where personal_id = '001085000001'",
    )
    death = sync_citizens(warehouse, population, margin=timedelta(0))
    assert (death.incoming, death.inserted, death.updated) == (1, 0, 1)
    # A sectoral spelling changes the mart row: sent, but the master's name is kept.
    _change_mart(
        warehouse,
        "update marts.citizens set full_name = 'TRAN THI BINH' where personal_id = '001190000002'",
    )
    spelled = sync_citizens(warehouse, population, margin=timedelta(0))
    assert (spelled.incoming, spelled.updated, spelled.unchanged) == (1, 0, 1)
    assert _citizens(population) == [
        ("001085000001", "Nguyễn Văn An", "2025-06-02"),
        ("001190000002", "Trần Thị Bình", None),
    ]
    # The watermark saw every transaction (this session is a superuser): nothing is sent again.
    assert sync_citizens(warehouse, population).incoming == 0
    # Within a safety margin the recent rows are sent again and change nothing; full sends all.
    again = sync_citizens(warehouse, population, margin=timedelta(minutes=10))
    assert (again.incoming, again.inserted, again.updated) == (2, 0, 0)
    assert sync_citizens(warehouse, population, full=True).incoming == 2
    with connect(warehouse) as conn:
        sent = conn.execute("select citizens_sent from ops.population_sync order by seq")
        assert [n for (n,) in sent] == [2, 0, 1, 1, 0, 2, 2]


def _as_role(url: str, role: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def test_a_margin_only_where_the_watermark_cannot_see_every_transaction(databases):
    """A role that cannot see other roles' transaction starts (no superuser, no
    pg_read_all_stats) reads again a margin before its watermark; one that sees them, none."""
    from ndc.population import SNAPSHOT_MARGIN, _margin

    _, population = databases
    role = f"ndc_test_reader_{uuid.uuid4().hex[:8]}"
    with connect(population, autocommit=True) as conn:
        assert _margin(conn, None, SNAPSHOT_MARGIN) == timedelta(0)
        assert _margin(conn, timedelta(minutes=1), SNAPSHOT_MARGIN) == timedelta(minutes=1)
        conn.execute(f"create role {role} login")
    try:
        with connect(_as_role(population, role), autocommit=True) as conn:
            assert _margin(conn, None, SNAPSHOT_MARGIN) == SNAPSHOT_MARGIN
        with connect(population, autocommit=True) as conn:
            conn.execute(f"grant pg_read_all_stats to {role}")
        with connect(_as_role(population, role), autocommit=True) as conn:
            assert _margin(conn, None, SNAPSHOT_MARGIN) == timedelta(0)
    finally:
        with connect(population, autocommit=True) as conn:
            conn.execute(f"drop role {role}")
