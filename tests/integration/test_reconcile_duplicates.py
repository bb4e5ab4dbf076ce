"""Duplicates through the real path: a births file with an exact and a near duplicate, twins
and a rejected row is landed, loaded and conformed by dbt; the batch balances with the merges
recorded in quarantine.merged_duplicates and ops.reconciliation."""

from pathlib import Path

import pytest

from ndc.extract import extract_source
from ndc.landing import LocalLandingZone
from ndc.load import load_source
from ndc.reconcile import reconcile
from ndc.warehouse import bootstrap, connect
from tests.conftest import write_csv
from tests.integration.conftest import run_dbt
from tests.unit.test_extract_files import HEADER

pytestmark = pytest.mark.integration

ORIGINAL = [
    "KS-01-2025-000101", "5/6/2025", "001225000101", "Nguyễn Minh Khang", "1/6/2025", "Nam",
    "01", "Nguyễn Thị Lan", "001190012345",
]  # fmt: skip
BIRTHS = [
    ORIGINAL,
    # The same row again (exact duplicate).
    ORIGINAL,
    # Registered a second time under another number, the name typed without marks.
    ["KS-01-2025-000109"] + ORIGINAL[1:3] + ["Nguyen Minh Khang"] + ORIGINAL[4:],
    # Twins: the same mother and date of birth, their own names and personal IDs.
    ["KS-01-2025-000102", "5/6/2025", "001225000102", "Nguyễn Minh Khôi"] + ORIGINAL[4:],
    ["KS-01-2025-000103", "5/6/2025", "001325000103", "Nguyễn Minh Khuê", "1/6/2025", "Nữ"]
    + ORIGINAL[6:],
    # A malformed personal ID: quarantined, never merged.
    ["KS-01-2025-000104", "6/6/2025", "00122500010", "Vũ Đức Anh", "4/6/2025", "Nam", "01",
     "Vũ Thị Thanh", "001196067890"],
]  # fmt: skip


def _dbt(database_url: str, tmp_path: Path, *args: str) -> None:
    run_dbt(database_url, tmp_path, *args)


def test_batch_with_duplicates_balances_and_records_the_merges(registry, pg_database, tmp_path):
    write_csv(tmp_path / "inbox" / "births_01_20250610.csv", HEADER, BIRTHS)
    landing = LocalLandingZone(tmp_path / "landing")
    extract_source(registry["civil_registration"], str(tmp_path / "inbox"), landing, "2025-06-10")
    bootstrap(pg_database, registry)
    load_source(pg_database, landing, registry["civil_registration"])
    _dbt(pg_database, tmp_path, "seed")
    _dbt(pg_database, tmp_path, "run", "--select", "staging", "quarantine")

    balances = reconcile(pg_database, registry)

    (births,) = [b for b in balances if b.entity == "birth"]
    assert (births.loaded, births.conformed, births.quarantined, births.merged) == (6, 3, 1, 2)
    assert births.balanced
    assert "conformed 3 + quarantined 1 + merged 2 = 6" in births.describe()
    with connect(pg_database) as conn:
        merged = conn.execute(
            "select _source_row, record_key, surviving_record_key, surviving_source_row, "
            "match_rule, source_file from quarantine.merged_duplicates order by _source_row"
        ).fetchall()
        stored = conn.execute(
            "select rows_conformed, rows_quarantined, rows_merged, balanced "
            "from ops.reconciliation where batch_id = %s",
            (births.batch_id,),
        ).fetchone()
        conformed = conn.execute(
            "select record_key from staging.stg_civil_registration__births "
            "where quarantine_reason_code is null and duplicate_of_record_key is null "
            "order by record_key"
        ).fetchall()
    file = "births_01_20250610.csv"
    assert merged == [
        (2, "KS-01-2025-000101", "KS-01-2025-000101", 1, "exact", file),
        (3, "KS-01-2025-000109", "KS-01-2025-000101", 1, "near", file),
    ]
    assert stored == (3, 1, 2, True)
    # The twins stay two people next to the original.
    assert [k for (k,) in conformed] == [
        "KS-01-2025-000101",
        "KS-01-2025-000102",
        "KS-01-2025-000103",
    ]


def test_a_row_sent_again_with_an_undeclared_column_is_still_an_exact_duplicate(
    registry, pg_database, tmp_path
):
    """Schema drift does not make a row new: the exact-duplicate key (source_row_hash) leaves
    _extra out, as it does the load's columns."""
    inbox = tmp_path / "inbox"
    write_csv(inbox / "births_01_20250610.csv", HEADER, [ORIGINAL])
    write_csv(inbox / "births_01_20250611.csv", [*HEADER, "ghi_chu"], [[*ORIGINAL, "bổ sung"]])
    landing = LocalLandingZone(tmp_path / "landing")
    extracted = extract_source(registry["civil_registration"], str(inbox), landing, "2025-06-11")
    assert extracted.errors == []
    bootstrap(pg_database, registry)
    load_source(pg_database, landing, registry["civil_registration"])
    _dbt(pg_database, tmp_path, "seed")
    _dbt(pg_database, tmp_path, "run", "--select", "staging", "quarantine")
    with connect(pg_database) as conn:
        merged = conn.execute(
            "select source_file, surviving_record_key, match_rule from quarantine.merged_duplicates"
        ).fetchall()
        kept = conn.execute(
            "select _extra from raw.civil_registration__birth r join quarantine.merged_duplicates m "
            "using (_batch_id, _source_row)"
        ).fetchall()
    assert merged == [("births_01_20250611.csv", "KS-01-2025-000101", "exact")]
    assert kept == [({"ghi_chu": "bổ sung"},)]
    assert all(b.balanced for b in reconcile(pg_database, registry) if b.entity == "birth")
