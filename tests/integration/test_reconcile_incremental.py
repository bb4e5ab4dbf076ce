"""The reconciliation checks the batches of this run: the ledger versions not yet balanced in
ops.reconciliation that staging holds at that version; `ndc reconcile --all` checks them all."""

import pytest
from click.testing import CliRunner

from ndc.cli import main
from ndc.extract import extract_source
from ndc.landing import LocalLandingZone
from ndc.load import load_batch, load_source
from ndc.reconcile import ReconciliationError, reconcile
from ndc.warehouse import bootstrap, connect
from tests.conftest import write_csv
from tests.unit.test_extract_files import HEADER, ROW

pytestmark = pytest.mark.integration


@pytest.fixture
def inbox(tmp_path):
    return tmp_path / "inbox"


@pytest.fixture
def landing(tmp_path):
    return LocalLandingZone(tmp_path / "landing")


def _land_and_load(registry, url, inbox, landing, name, keys, registered=ROW[1]):
    write_csv(inbox / name, HEADER, [[k, registered] + ROW[2:] for k in keys])
    source = registry["civil_registration"]
    extract_source(source, str(inbox), landing, "2025-06-01")
    (batch,) = load_source(url, landing, source).loaded
    return batch[0]


def _build_staging(url, leave_out=(), drop_key=None):
    """What the staging model and the quarantine tables hold after a dbt run: a table (so a
    batch loaded later is not in it) with each row's batch version (_loaded_at). A stand-in
    on purpose, to leave a batch out or lose a row (states the real model never produces);
    a batch balancing through the real models: test_reconcile_duplicates.py."""
    with connect(url) as conn:
        conn.execute("create schema if not exists staging; create schema if not exists quarantine")
        conn.execute("drop table if exists staging.stg_civil_registration__births")
        conn.execute(
            "create table staging.stg_civil_registration__births as select _batch_id, "
            "_source_row, _loaded_at, null::text as quarantine_reason_code, "
            "null::text as duplicate_of_record_key from raw.civil_registration__birth "
            "where _batch_id <> all(%s) and so_dang_ky is distinct from %s",
            (list(leave_out), drop_key),
        )
        for table in ("quarantined_rows", "merged_duplicates"):
            conn.execute(
                f"create table if not exists quarantine.{table} "
                "(source text, entity text, _batch_id text)"
            )


def _checked(balances):
    return sorted(b.batch_id for b in balances)


def test_checks_only_new_batches_and_all_audits_everything(
    registry, pg_database, inbox, landing, monkeypatch
):
    bootstrap(pg_database, registry)
    first = _land_and_load(registry, pg_database, inbox, landing, "births_01_a.csv", ["KS-1"])
    _build_staging(pg_database)
    assert _checked(reconcile(pg_database, registry)) == [first]
    assert _checked(reconcile(pg_database, registry)) == []  # nothing new

    # Loaded after the staging model ran: waits for the next transform, does not fail.
    second = _land_and_load(registry, pg_database, inbox, landing, "births_01_b.csv", ["KS-2"])
    waiting = reconcile(pg_database, registry)
    assert (_checked(waiting), waiting.waiting) == ([], [second])

    _build_staging(pg_database)
    assert _checked(reconcile(pg_database, registry)) == [second]
    assert _checked(reconcile(pg_database, registry, everything=True)) == sorted([first, second])
    with connect(pg_database) as conn:
        stored = conn.execute(
            "select count(*) from ops.reconciliation r join ops.load_ledger l using (batch_id) "
            "where r.balanced and r.loaded_at = l.loaded_at"
        ).fetchone()[0]
    assert stored == 2

    monkeypatch.setenv("NDC_WAREHOUSE_URL", pg_database)
    result = CliRunner().invoke(main, ["reconcile", "--all"])
    assert result.exit_code == 0, result.output
    assert "2 batch(es) checked, all balanced" in result.output
    assert "0 batch(es) checked" in CliRunner().invoke(main, ["reconcile"]).output


def test_a_batch_loaded_again_is_checked_at_its_new_version(registry, pg_database, inbox, landing):
    bootstrap(pg_database, registry)
    batch = _land_and_load(registry, pg_database, inbox, landing, "births_01_a.csv", ["KS-1"])
    _build_staging(pg_database)
    reconcile(pg_database, registry)
    manifest = landing.read_manifest(landing.manifests("civil_registration", "birth")[0])
    with connect(pg_database, autocommit=True) as conn:
        load_batch(conn, landing, manifest)  # same batch, a new ledger version
    assert reconcile(pg_database, registry).waiting == [batch]  # staging holds the old one
    _build_staging(pg_database)
    assert _checked(reconcile(pg_database, registry)) == [batch]


def test_a_batch_the_staging_model_skipped_fails_naming_it(registry, pg_database, inbox, landing):
    bootstrap(pg_database, registry)
    skipped = _land_and_load(registry, pg_database, inbox, landing, "births_01_a.csv", ["KS-1"])
    _land_and_load(registry, pg_database, inbox, landing, "births_01_b.csv", ["KS-2"])
    # Staging holds the batch loaded later, not the earlier one: it is missing, not late.
    _build_staging(pg_database, leave_out=[skipped])
    with pytest.raises(ReconciliationError) as err:
        reconcile(pg_database, registry)
    assert f"batch {skipped}" in str(err.value)
    assert "conformed 0 + quarantined 0 + merged 0 = 0" in str(err.value)
    assert "not conformed by the staging model" in str(err.value)


def test_an_unbalanced_batch_fails_again_until_fixed(registry, pg_database, inbox, landing):
    bootstrap(pg_database, registry)
    batch = _land_and_load(
        registry, pg_database, inbox, landing, "births_01_a.csv", ["KS-1", "KS-2"]
    )
    _build_staging(pg_database, drop_key="KS-2")  # a row lost between raw and staging
    for _ in range(2):  # a retry without a fix fails the same way
        with pytest.raises(ReconciliationError, match=f"batch {batch}.*loaded 2, conformed 1"):
            reconcile(pg_database, registry)
    _build_staging(pg_database)
    assert _checked(reconcile(pg_database, registry)) == [batch]


def test_an_older_batch_merged_into_a_new_one_is_checked_again(
    registry, pg_database, inbox, landing
):
    bootstrap(pg_database, registry)
    old = _land_and_load(registry, pg_database, inbox, landing, "births_01_a.csv", ["KS-1"])
    _build_staging(pg_database)
    assert _checked(reconcile(pg_database, registry)) == [old]
    # (Registered again the next day: the same bytes under another name would be set aside.)
    new = _land_and_load(
        registry, pg_database, inbox, landing, "births_01_b.csv", ["KS-1"], "2/6/2025"
    )
    # The next day's record of the same birth survives; the older row is merged into it.
    _build_staging(pg_database)
    with connect(pg_database) as conn:
        conn.execute(
            "update staging.stg_civil_registration__births set duplicate_of_record_key = 'KS-1'"
            " where _batch_id = %s",
            (old,),
        )
        conn.execute("drop table quarantine.merged_duplicates")
        conn.execute(
            "create table quarantine.merged_duplicates as select 'civil_registration'::text"
            " as source, 'birth'::text as entity, %s::text as _batch_id,"
            " %s::text as surviving_batch_id",
            (old, new),
        )
    balances = reconcile(pg_database, registry)
    assert _checked(balances) == sorted([old, new])
    assert [b.merged for b in balances if b.batch_id == old] == [1]
