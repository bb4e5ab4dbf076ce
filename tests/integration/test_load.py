"""COPY loads into the raw layer: batch replacement, the ledger, the reconciliation."""

import shutil

import pytest

from ndc.extract import extract_source
from ndc.landing import LocalLandingZone
from ndc.load import LoadError, load_batch, load_source
from ndc.reconcile import ReconciliationError, reconcile
from ndc.warehouse import bootstrap, connect
from tests.conftest import write_csv
from tests.unit.test_extract_files import HEADER, ROW

pytestmark = pytest.mark.integration


@pytest.fixture
def landed(registry, tmp_path):
    inbox = tmp_path / "inbox"
    write_csv(
        inbox / "births_01_20250601.csv", HEADER, [ROW, ["KS-2"] + ROW[1:], ["KS-3"] + ROW[1:]]
    )
    write_csv(inbox / "births_79_20250601.csv", HEADER, [["KS-4"] + ROW[1:]])
    landing = LocalLandingZone(tmp_path / "landing")
    manifests = extract_source(
        registry["civil_registration"], str(inbox), landing, "2025-06-01"
    ).landed
    return landing, manifests


def _count(url, sql):
    with connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_load_copies_every_row_and_records_the_ledger(registry, pg_database, landed):
    landing, manifests = landed
    bootstrap(pg_database, registry)
    result = load_source(pg_database, landing, registry["civil_registration"])
    assert sorted(result.loaded) == sorted((m.batch_id, m.rows_landed) for m in manifests)
    assert _count(pg_database, "select count(*) from raw.civil_registration__birth") == 4
    with connect(pg_database) as conn:
        ledger = conn.execute(
            "select source_file, rows_extracted, rows_landed, rows_loaded from ops.load_ledger "
            "order by source_file"
        ).fetchall()
        row = conn.execute(
            "select ho_ten, _source_row, _batch_id, _loaded_at is not null "
            "from raw.civil_registration__birth where so_dang_ky = 'KS-3'"
        ).fetchone()
    assert ledger == [("births_01_20250601.csv", 3, 3, 3), ("births_79_20250601.csv", 1, 1, 1)]
    assert row[0] == "Nguyễn Văn An" and row[1] == 3 and row[2].startswith("births_01") and row[3]
    # Loading again finds nothing pending and duplicates nothing.
    assert load_source(pg_database, landing, registry["civil_registration"]).loaded == []
    assert _count(pg_database, "select count(*) from raw.civil_registration__birth") == 4


def test_reloading_a_batch_replaces_it(registry, pg_database, landed):
    landing, manifests = landed
    bootstrap(pg_database, registry)
    with connect(pg_database, autocommit=True) as conn:
        for _ in range(2):
            load_batch(conn, landing, manifests[0])
    assert _count(pg_database, "select count(*) from raw.civil_registration__birth") == 3
    assert _count(pg_database, "select count(*) from ops.load_ledger") == 1


def test_bootstrap_upgrades_a_reconciliation_table_without_merged_rows(registry, pg_database):
    with connect(pg_database) as conn:
        conn.execute(
            "create schema ops; create table ops.reconciliation (batch_id text primary key, "
            "source text not null, entity text not null, rows_extracted bigint not null, "
            "rows_landed bigint not null, rows_loaded bigint not null, "
            "rows_conformed bigint not null, rows_quarantined bigint not null, "
            "balanced boolean not null, checked_at timestamptz not null default now())"
        )
        conn.execute(
            "insert into ops.reconciliation values ('births_01-x', 'civil_registration', 'birth', "
            "3, 3, 3, 2, 1, true, now())"
        )
    bootstrap(pg_database, registry)
    assert _count(pg_database, "select rows_merged from ops.reconciliation") == 0


def test_tampered_batch_is_refused_and_nothing_is_loaded(registry, pg_database, landed):
    landing, manifests = landed
    bootstrap(pg_database, registry)
    with landing.local_path(manifests[0].key) as path:
        path.write_bytes(path.read_bytes() + b"x")
    with connect(pg_database, autocommit=True) as conn, pytest.raises(LoadError, match="sha256"):
        load_batch(conn, landing, manifests[0])
    assert _count(pg_database, "select count(*) from raw.civil_registration__birth") == 0


def _fake_dbt_outputs(url: str, registry, quarantine_ks: list[str], merged_ks=()) -> None:
    """Stand-ins for the dbt staging views and quarantine tables that reconcile() counts:
    births whose key is in ``quarantine_ks`` are rejected, those in ``merged_ks`` merged into
    KS-1 as duplicates, every other row conforms. Only births have the duplicate column, as
    only some staging models can hold duplicates. Stand-ins on purpose: these tests test the
    reconciliation's accounting, and its failures (a merge not recorded, a row lost between
    raw and staging) are states the real models never produce. The same balance through the
    real dbt models: tests/integration/test_reconcile_duplicates.py."""
    keys = ", ".join(f"'{k}'" for k in quarantine_ks) or "''"
    merged = ", ".join(f"'{k}'" for k in merged_ks) or "''"
    with connect(url) as conn:
        conn.execute("create schema if not exists staging; create schema if not exists quarantine")
        for source in registry.values():
            for entity in source.entities:
                columns = "null::text as quarantine_reason_code"
                if (source.name, entity.name) == ("civil_registration", "birth"):
                    columns = (
                        f"case when so_dang_ky in ({keys}) then 'PID_MALFORMED' end "
                        "as quarantine_reason_code, "
                        f"case when so_dang_ky in ({merged}) then 'KS-1' end "
                        "as duplicate_of_record_key"
                    )
                conn.execute(
                    f"create view staging.stg_{source.name}__{entity.name}s as select _batch_id, "
                    f"{columns} from raw.{source.name}__{entity.name}"
                )
        conn.execute(
            "create table quarantine.quarantined_rows as select 'civil_registration'::text as source, "
            "'birth'::text as entity, _batch_id from staging.stg_civil_registration__births "
            "where quarantine_reason_code is not null"
        )
        conn.execute(
            "create table quarantine.merged_duplicates as select 'civil_registration'::text as source, "
            "'birth'::text as entity, _batch_id from staging.stg_civil_registration__births "
            "where duplicate_of_record_key is not null"
        )


def test_reconciliation_balances_and_is_stored(registry, pg_database, landed):
    landing, _ = landed
    bootstrap(pg_database, registry)
    load_source(pg_database, landing, registry["civil_registration"])
    _fake_dbt_outputs(pg_database, registry, ["KS-2"])
    balances = reconcile(pg_database, registry)
    by_file = {b.batch_id[:9]: (b.loaded, b.conformed, b.quarantined, b.merged) for b in balances}
    assert by_file == {"births_01": (3, 2, 1, 0), "births_79": (1, 1, 0, 0)}
    assert _count(pg_database, "select count(*) from ops.reconciliation where balanced") == 2


def test_reconciliation_counts_merged_duplicates_apart(registry, pg_database, landed):
    landing, _ = landed
    bootstrap(pg_database, registry)
    load_source(pg_database, landing, registry["civil_registration"])
    _fake_dbt_outputs(pg_database, registry, ["KS-2"], merged_ks=["KS-3"])
    balances = reconcile(pg_database, registry)
    by_file = {b.batch_id[:9]: (b.loaded, b.conformed, b.quarantined, b.merged) for b in balances}
    assert by_file == {"births_01": (3, 1, 1, 1), "births_79": (1, 1, 0, 0)}
    stored = (
        "select rows_conformed, rows_quarantined, rows_merged, balanced from ops.reconciliation"
    )
    with connect(pg_database) as conn:
        assert sorted(conn.execute(stored).fetchall()) == [(1, 0, 0, True), (1, 1, 1, True)]


def test_merged_row_missing_from_the_merge_table_fails(registry, pg_database, landed):
    landing, manifests = landed
    bootstrap(pg_database, registry)
    load_source(pg_database, landing, registry["civil_registration"])
    _fake_dbt_outputs(pg_database, registry, [], merged_ks=["KS-3"])
    # Staging says KS-3 was merged, but the merge was not recorded: one row is unaccounted for.
    with connect(pg_database) as conn:
        conn.execute("delete from quarantine.merged_duplicates")
    with pytest.raises(ReconciliationError) as err:
        reconcile(pg_database, registry)
    assert "conformed 2 + quarantined 0 + merged 0 = 2" in str(err.value)


def test_unbalanced_batch_fails_naming_it(registry, pg_database, landed):
    landing, manifests = landed
    bootstrap(pg_database, registry)
    load_source(pg_database, landing, registry["civil_registration"])
    _fake_dbt_outputs(pg_database, registry, [])
    # A row lost between raw and staging: the view no longer sees one row of births_01.
    with connect(pg_database) as conn:
        conn.execute("delete from raw.civil_registration__birth where so_dang_ky = 'KS-2'")
    with pytest.raises(ReconciliationError) as err:
        reconcile(pg_database, registry)
    lost = next(m for m in manifests if m.source_file == "births_01_20250601.csv")
    assert f"batch {lost.batch_id}" in str(err.value)
    assert "loaded 3, conformed 2 + quarantined 0 + merged 0 = 2" in str(err.value)
    assert _count(pg_database, "select count(*) from ops.reconciliation where not balanced") == 1


def test_the_sources_count_reaches_the_ledger_and_a_difference_fails(registry, pg_database, landed):
    """The manifest's count at the source is loaded into the ledger and stored with each
    balance; a batch whose count at the source is not what was extracted (a manifest written
    by an extractor that did not check it) does not balance, and the failure names both."""
    landing, manifests = landed
    bootstrap(pg_database, registry)
    load_source(pg_database, landing, registry["civil_registration"])
    _fake_dbt_outputs(pg_database, registry, [])
    ledger = "select source_file, rows_at_source, rows_extracted from ops.load_ledger order by 1"
    with connect(pg_database) as conn:
        assert conn.execute(ledger).fetchall() == [
            ("births_01_20250601.csv", 3, 3),
            ("births_79_20250601.csv", 1, 1),
        ]
        conn.execute(
            "update ops.load_ledger set rows_at_source = 4 "
            "where source_file = 'births_01_20250601.csv'"
        )
    with pytest.raises(ReconciliationError) as err:
        reconcile(pg_database, registry)
    lost = next(m for m in manifests if m.source_file == "births_01_20250601.csv")
    assert f"batch {lost.batch_id} (civil_registration.birth): at source 4, extracted 3," in str(
        err.value
    )
    stored = "select rows_at_source, rows_extracted, balanced from ops.reconciliation order by 1"
    with connect(pg_database) as conn:
        assert conn.execute(stored).fetchall() == [(1, 1, True), (4, 3, False)]


class CountingLandingZone(LocalLandingZone):
    """The folder landing zone, recording which manifests the load reads."""

    def __init__(self, root):
        super().__init__(root)
        self.read: list[str] = []

    def read_manifest(self, key):
        self.read.append(key)
        return super().read_manifest(key)


def _land(registry, inbox, landing, name, keys, day="2025-06-01"):
    write_csv(inbox / name, HEADER, [[k] + ROW[1:] for k in keys])
    return extract_source(registry["civil_registration"], str(inbox), landing, day).landed


def test_a_second_load_reads_only_the_new_batches(registry, pg_database, tmp_path):
    inbox, landing = tmp_path / "inbox", CountingLandingZone(tmp_path / "landing")
    source = registry["civil_registration"]
    bootstrap(pg_database, registry)
    _land(registry, inbox, landing, "births_01_a.csv", ["KS-1"])
    assert len(load_source(pg_database, landing, source).loaded) == 1
    assert landing.pending("civil_registration") == []  # loaded: no marker left

    (new,) = _land(registry, inbox, landing, "births_01_b.csv", ["KS-2"], day="2025-06-02")
    landing.read.clear()
    assert load_source(pg_database, landing, source).loaded == [(new.batch_id, 1)]
    assert landing.read == [new.manifest_key]  # not the first day's manifest
    landing.read.clear()
    assert load_source(pg_database, landing, source).loaded == []
    assert landing.read == []


def test_a_batch_whose_load_failed_is_loaded_by_the_next_load(registry, pg_database, tmp_path):
    inbox, landing = tmp_path / "inbox", LocalLandingZone(tmp_path / "landing")
    source = registry["civil_registration"]
    bootstrap(pg_database, registry)
    (bad,) = _land(registry, inbox, landing, "births_01_a.csv", ["KS-1", "KS-2"])
    with landing.local_path(bad.key) as path:
        good = path.read_bytes()
        path.write_bytes(good + b"x")  # damaged in the landing zone: the load fails
    with pytest.raises(LoadError, match="sha256"):
        load_source(pg_database, landing, source)
    # Later batches land (the next day's run) while the failed one is still there.
    (later,) = _land(registry, inbox, landing, "births_01_b.csv", ["KS-3"], day="2025-06-02")
    with landing.local_path(bad.key) as path:
        path.write_bytes(good)  # repaired
    loaded = load_source(pg_database, landing, source).loaded
    assert sorted(loaded) == sorted([(bad.batch_id, 2), (later.batch_id, 1)])
    assert _count(pg_database, "select count(*) from raw.civil_registration__birth") == 3


def test_a_landing_zone_from_before_the_markers_is_listed_once(registry, pg_database, tmp_path):
    inbox, landing = tmp_path / "inbox", CountingLandingZone(tmp_path / "landing")
    source = registry["civil_registration"]
    bootstrap(pg_database, registry)
    (old,) = _land(registry, inbox, landing, "births_01_a.csv", ["KS-1"])
    load_source(pg_database, landing, source)
    (unloaded,) = _land(registry, inbox, landing, "births_01_b.csv", ["KS-2"])
    # As written by an ndc without markers: manifests only.
    shutil.rmtree(tmp_path / "landing" / "_pending")
    landing.read.clear()
    assert load_source(pg_database, landing, source).loaded == [(unloaded.batch_id, 1)]
    assert sorted(landing.read) == sorted(
        # every manifest once to write the markers, then the marked one to load it
        [old.manifest_key, unloaded.manifest_key, unloaded.manifest_key]
    )
    (new,) = _land(registry, inbox, landing, "births_01_c.csv", ["KS-3"])
    landing.read.clear()
    assert load_source(pg_database, landing, source).loaded == [(new.batch_id, 1)]
    assert landing.read == [new.manifest_key]


def test_a_phone_columns_e164_column_is_filled_for_rows_loaded_before_it(registry, pg_database):
    """A warehouse whose social insurance rows were loaded before the load parsed phones: the
    bootstrap adds so_dien_thoai_e164 and fills it from the rows already there (ndc.phones),
    so rebuilding staging conforms the old batches as the new ones."""
    from ndc.warehouse import ensure_raw_table

    entity = registry["social_insurance"].entity("insured_person")
    with connect(pg_database) as conn:
        conn.execute("create schema raw")
        ensure_raw_table(conn, "social_insurance", "insured_person", entity.columns)
        conn.execute(
            "insert into raw.social_insurance__insured_person (ma_so_bhxh, so_dien_thoai, "
            "_batch_id, _source_row) values ('1', '0084 912.345.678', 'b', 1), "
            "('2', '01662345678', 'b', 2), ('3', 'không có', 'b', 3), ('4', null, 'b', 4)"
        )
    bootstrap(pg_database, registry)
    with connect(pg_database) as conn:
        got = conn.execute(
            "select ma_so_bhxh, so_dien_thoai_e164 from raw.social_insurance__insured_person "
            "order by ma_so_bhxh"
        ).fetchall()
    assert got == [("1", "+84912345678"), ("2", "+841662345678"), ("3", None), ("4", None)]


def test_a_batch_landed_before_extra_loads_into_a_table_from_before_it(
    registry, pg_database, tmp_path
):
    """A warehouse and a landing zone of a release without _extra: bootstrap adds the column
    to the raw table, and the old batch (no _extra in its Parquet) loads with it null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ndc.extract.batch import sha256_file
    from ndc.landing import Manifest, batch_key

    entity = registry["civil_registration"].entity("birth")
    with connect(pg_database) as conn:
        conn.execute("create schema raw")
        conn.execute(
            "create table raw.civil_registration__birth ("
            + ", ".join(f"{c} text" for c in entity.columns)
            + ", _batch_id text not null, _source_row bigint not null, "
            "_loaded_at timestamptz not null default now())"
        )
    bootstrap(pg_database, registry)
    with connect(pg_database) as conn:
        added = conn.execute(
            "select data_type from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'civil_registration__birth' and column_name = '_extra'"
        ).fetchone()
    assert added == ("jsonb",)

    path = tmp_path / "old.parquet"
    columns = {c: pa.array([v, v], pa.string()) for c, v in zip(HEADER, ROW, strict=True)}
    columns["so_dang_ky"] = pa.array(["KS-1", "KS-2"], pa.string())
    pq.write_table(pa.table({**columns, "_source_row": pa.array([1, 2], pa.int64())}), path)
    landing = LocalLandingZone(tmp_path / "landing")
    key = batch_key("civil_registration", "birth", "2025-05-01", "births_01_old")
    landing.put_file(key, path)
    manifest = Manifest(
        source="civil_registration", entity="birth", batch_id="births_01_old", key=key,
        rows_extracted=2, rows_landed=2, sha256=sha256_file(path), columns=list(entity.columns),
    )  # fmt: skip
    with connect(pg_database, autocommit=True) as conn:
        assert load_batch(conn, landing, manifest) == 2
        rows = conn.execute(
            "select so_dang_ky, ho_ten, _extra from raw.civil_registration__birth order by 1"
        ).fetchall()
        ledger = conn.execute("select undeclared_columns, undeclared_rows from ops.load_ledger")
        assert ledger.fetchall() == [(None, 0)]
    assert rows == [("KS-1", "Nguyễn Văn An", None), ("KS-2", "Nguyễn Văn An", None)]


def test_a_bootstrap_during_a_load_waits_for_it_instead_of_deadlocking(
    registry, pg_database, landed, monkeypatch
):
    """Each ingest's load task bootstraps the warehouse and then loads; with several ingest
    DAGs at once (two Celery workers' worth), one's bootstrap met another's open load
    transaction and PostgreSQL failed one of them as a deadlock (a retry each)."""
    import threading
    import time

    from ndc import load as load_mod

    landing, manifests = landed
    bootstrap(pg_database, registry)
    real_copy = load_mod.copy_parquet
    other = {}

    def bootstrap_beside(*args, **kwargs):
        rows = real_copy(*args, **kwargs)  # the raw table is written, the ledger not yet
        if "thread" not in other:

            def run():
                try:
                    bootstrap(pg_database, registry)
                except Exception as exc:  # the test reports it below
                    other["error"] = exc
                other["done"] = time.monotonic()

            other["thread"] = threading.Thread(target=run)
            other["thread"].start()
            time.sleep(2)  # past PostgreSQL's deadlock_timeout (1 s): the bootstrap is waiting
        return rows

    monkeypatch.setattr(load_mod, "copy_parquet", bootstrap_beside)
    with connect(pg_database, autocommit=True) as conn:
        load_mod.load_batch(conn, landing, manifests[0])
    committed = time.monotonic()
    other["thread"].join(30)
    assert "error" not in other, other.get("error")
    assert other["done"] >= committed  # it ran once the load had committed
    assert _count(pg_database, "select count(*) from ops.load_ledger") == 1


def test_a_warehouse_restored_without_recent_batches_gets_them_back_by_a_rescan(
    registry, pg_database, landed
):
    """The load follows the landing zone's pending markers, removed once a batch is loaded. A
    warehouse restored from a backup taken before the load (here: a new one) does not see
    those batches again by itself; a rescan (the ingest DAG's param rescan_landing) reads
    every manifest and loads every batch the ledger lacks, once."""
    from ndc.warehouse import drop_database, ensure_database

    landing, manifests = landed
    source = registry["civil_registration"]
    bootstrap(pg_database, registry)
    assert len(load_source(pg_database, landing, source).loaded) == len(manifests)
    restored = pg_database + "_restored"
    ensure_database(restored)
    try:
        bootstrap(restored, registry)
        assert load_source(restored, landing, source).loaded == []  # no marker left
        again = load_source(restored, landing, source, rescan=True)
        assert sorted(b for b, _ in again.loaded) == sorted(m.batch_id for m in manifests)
        rows = "select count(*) from raw.civil_registration__birth"
        assert _count(restored, rows) == _count(pg_database, rows) == 4
        assert load_source(restored, landing, source, rescan=True).loaded == []  # once
    finally:
        drop_database(restored)
