"""`ndc source new` on a real PostgreSQL source table: the proposal it reads off the table, and
the scaffolded source building green before any edit, through ndc's real extract, land and
load and a `dbt build` of a copy of the project (its staging model, the quarantine fan-in that
takes it from the registry, their tests), then balancing in the reconciliation."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from tests.conftest import PG_URL
from tests.integration.conftest import dbt_env

REPO = Path(__file__).resolve().parents[2]

# A parcel's commune (ma_xa) in the code system of its registration date (legacy before
# 2025-07-01) unless it names a district (legacy): 00004 is a 2025 commune and was a legacy
# ward that became it, 00001 a legacy ward that became 00097, 00007 a legacy ward split
# between 00008 and 00025, 99999 nothing.
SOURCE_TABLE = """
create table thua_dat (
    ma_thua text primary key,
    so_dinh_danh_chu text,
    ho_ten_chu text,
    ngay_sinh_chu date,
    so_dien_thoai text,
    dien_tich numeric,
    ma_huyen text,
    ma_xa text,
    ngay_dang_ky date,
    updated_at timestamp not null
);
insert into thua_dat values
    ('T1', '001099012345', 'Nguyễn Văn  An', '1980-05-01', '0912 345 678', 120.5, null, '00004',
     '2025-07-02', now()),
    ('T2', '12345', 'Trần Thị Bình', '1975-01-02', null, 80, null, '00004', '2025-06-01', now()),
    ('T3', '001099012346', 'Lê Văn Cường', '2999-01-01', null, 60, null, '00007', '2025-06-01',
     now()),
    ('T4', null, 'Phạm Thị Dung', null, '+84 98 765 4321', 45, '001', '00007', '2025-07-02', now()),
    ('T5', '001099012347', 'Hoàng Văn Em', '1990-03-04', null, 70, null, '00001', '2025-06-15',
     now()),
    ('T6', '001099012348', 'Vũ Thị Gấm', '1985-08-09', null, 90, null, '99999', '2025-07-02',
     now());
"""


@pytest.fixture
def databases():
    from ndc.warehouse import drop_database, ensure_database

    tag = uuid.uuid4().hex[:8]
    source_url, warehouse_url = f"{PG_URL}/ndc_test_cadsrc_{tag}", f"{PG_URL}/ndc_test_cadwh_{tag}"
    ensure_database(source_url)
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute(SOURCE_TABLE)
    try:
        yield source_url, warehouse_url
    finally:
        drop_database(source_url)
        drop_database(warehouse_url)


def _sqlalchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_the_proposal_read_off_a_table(databases):
    from ndc.scaffold import propose, read_table

    columns, pk = read_table(_sqlalchemy(databases[0]), "thua_dat")
    assert [c.name for c in columns][:3] == ["ma_thua", "so_dinh_danh_chu", "ho_ten_chu"]
    assert pk == ["ma_thua"]
    p = propose("cadastre", "sql", "parcel", columns, pk, "thua_dat")
    assert p.watermark == "updated_at" and p.table == "thua_dat"
    assert p.conform == {
        "so_dinh_danh_chu": {"to": "personal_id", "kind": "personal_id"},
        "ho_ten_chu": {"to": "full_name", "kind": "person_name"},
        "ngay_sinh_chu": {"to": "date_of_birth", "kind": "date"},
        "so_dien_thoai": {"to": "phone_e164", "kind": "phone"},
        "ma_xa": {
            "to": "commune_code_2025",
            "kind": "admin_unit",
            "date": "ngay_dang_ky",
            "district": "ma_huyen",
        },
        "ngay_dang_ky": {"to": "ngay_dang_ky_date", "kind": "date"},
    }


def test_a_bad_request_says_what_to_give(databases, tmp_path):
    from ndc.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["source", "new", "cadastre", "--kind", "files"])
    assert result.exit_code != 0 and "no columns: give --columns" in result.output
    result = runner.invoke(
        main, ["source", "new", "cadastre", "--kind", "sql", "--from-url", "sqlite://"]
    )
    assert result.exit_code != 0 and "--kind sql --table T" in result.output
    result = runner.invoke(
        main, ["source", "new", "Cadastre", "--kind", "api", "--columns", "a", "--primary-key", "a"]
    )
    assert result.exit_code != 0 and "lower_snake_case" in result.output


def test_a_scaffolded_source_builds_green_and_balances(databases, tmp_path):
    from dbt.cli.main import dbtRunner

    from ndc import dbt_registry
    from ndc.extract import extract_source
    from ndc.landing import LocalLandingZone
    from ndc.load import load_source
    from ndc.reconcile import reconcile
    from ndc.registry import load_registry
    from ndc.scaffold import propose, read_table, write
    from ndc.warehouse import bootstrap, connect

    source_url, warehouse_url = databases
    sources_dir, project = tmp_path / "sources", tmp_path / "dbt_project"
    shutil.copytree(REPO / "include" / "sources", sources_dir)
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    columns, pk = read_table(_sqlalchemy(source_url), "thua_dat")
    written = write(
        propose("cadastre", "sql", "parcel", columns, pk, "thua_dat"), sources_dir, project
    )
    assert {p.name for p in written} == {
        "cadastre.yaml",
        "_cadastre__sources.yml",
        "_cadastre__models.yml",
        "stg_cadastre__parcels.sql",
    }
    registry = load_registry(sources_dir)
    dbt_registry.write(project / "macros" / "registry.sql", registry)

    # The real path: extract the table, land it, load it.
    bootstrap(warehouse_url, registry)
    landing = LocalLandingZone(tmp_path / "landing")
    extracted = extract_source(registry["cadastre"], _sqlalchemy(source_url), landing, "2025-07-01")
    assert not extracted.errors, extracted.errors
    load_source(warehouse_url, landing, registry["cadastre"])

    saved = {k: os.environ.get(k) for k in dbt_env(warehouse_url)}
    os.environ.update(dbt_env(warehouse_url))
    try:
        res = dbtRunner().invoke(
            ["build", "--select", "+quarantined_rows", "+merged_duplicates"]
            + ["+int_discrepancies_detected"]
            + ["--indirect-selection", "cautious"]
            + ["--exclude", "test_type:unit"]
            + ["--project-dir", str(project), "--profiles-dir", str(project)]
            + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
            + ["--quiet"]
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    failed = [
        f"{r.node.unique_id}: {r.message}"
        for r in res.result or []
        if str(r.status) not in ("success", "pass")
    ]
    assert res.success, res.exception or failed

    with connect(warehouse_url) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                "select record_key, personal_id, full_name, full_name_raw, date_of_birth::text,"
                " date_of_birth_precision, phone_e164, dien_tich, quarantine_reason_code,"
                " quarantine_field from staging.stg_cadastre__parcels"
            )
        }
        quarantined = set(
            conn.execute(
                "select record_key, reason_code, field from quarantine.quarantined_rows"
                " where source = 'cadastre' and entity = 'parcel'"
            ).fetchall()
        )
        communes = {
            r[0]: r[1:]
            for r in conn.execute(
                "select record_key, ma_xa, admin_code_system, commune_code_2025,"
                " admin_conversion_ambiguous from staging.stg_cadastre__parcels"
            )
        }
        reported = conn.execute(
            "select record_key, field, source_value, reference_value"
            " from intermediate.int_discrepancies_detected"
            " where source = 'cadastre' and discrepancy = 'admin_unit_ambiguous'"
        ).fetchall()
    assert rows["T1"] == (
        "001099012345", "Nguyễn Văn An", "Nguyễn Văn  An", "1980-05-01", "day",
        "+84912345678", "120.5", None, None,
    )  # fmt: skip
    # Without an ID or a date of birth (both optional): conforms; an international phone.
    assert rows["T4"] == (
        None, "Phạm Thị Dung", "Phạm Thị Dung", None, None, "+84987654321", "45", None, None,
    )  # fmt: skip
    assert quarantined == {
        ("T2", "PID_MALFORMED", "so_dinh_danh_chu"),
        ("T3", "DATE_IN_FUTURE", "ngay_sinh_chu"),
        ("T6", "CODE_UNKNOWN", "ma_xa"),  # no 2025 commune (nor a legacy ward)
    }
    # The administrative unit, from the contract alone: a 2025 code kept, a legacy ward
    # converted, a split legacy ward flagged and left without a commune (never guessed).
    assert communes["T1"] == ("00004", "2025", "00004", False)
    assert communes["T5"] == ("00001", "legacy", "00097", False)
    assert communes["T4"] == ("00007", "legacy", None, True)  # a district: legacy in July
    assert communes["T6"] == ("99999", "2025", None, False)
    # Registered after the reform in a split ward: reported to the agency with its communes.
    assert reported == [("T4", "ma_xa", "00007", "00008, 00025")]
    balances = reconcile(warehouse_url, {"cadastre": registry["cadastre"]})
    assert [(b.loaded, b.conformed, b.quarantined, b.balanced) for b in balances] == [
        (6, 3, 3, True)
    ]
