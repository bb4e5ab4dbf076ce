"""Tests for the synthetic country: five sources, ground truth, defects, days, the education API."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sqlite3
import subprocess
import sys
import unicodedata
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from ndc import textcodecs
from ndc.synthetic import DEFAULT_DEFECT_RATES, GenerationSummary, generate
from ndc.synthetic.defects import DEFECT_CLASSES_FILE, defect_classes
from ndc.synthetic.encodings import encode_cp1258
from ndc.synthetic.pid import decode_personal_id
from ndc.synthetic.population import ETHNICITY_2008, RELATIONSHIPS
from tests.conftest import MYSQL_URL, PG_URL

REPO = Path(__file__).resolve().parents[2]
FILE_RE = re.compile(r"^(births|deaths|marriages)_(\d{2})_(\d{8})\.csv$")
ENTITY_PREFIX = {"birth": "births", "death": "deaths", "marriage": "marriages"}
BUSINESS_HEADER = [
    "ma_so_thue",
    "ten_doanh_nghiep",
    "loai_hinh",
    "ngay_thanh_lap",
    "dia_chi_tru_so",
    "ma_tinh",
    "ho_ten_nguoi_dai_dien",
    "so_dinh_danh_nguoi_dai_dien",
    "trang_thai",
]
SQL_TABLES = {
    "social_insurance": {"insured_person": "ma_so_bhxh", "qua_trinh_dong": "id"},
    "residence": {"cu_tru_bien_dong": "id", "thanh_vien_ho": "id"},
    "education": {
        "students": "student_id",
        "enrolments": "enrolment_id",
        "graduations": "graduation_id",
    },
}


# --------------------------------------------------------------------------- helpers


def _admin_db() -> Path:
    import vietnamadminunits

    return Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"


def _admin_codes() -> tuple[set[str], set[str], set[str], set[str], set[str]]:
    with sqlite3.connect(_admin_db()) as conn:
        communes = {r[0] for r in conn.execute("SELECT wardCode FROM admin_units")}
        provinces = {r[0] for r in conn.execute("SELECT provinceCode FROM admin_units")}
        legacy = conn.execute(
            "SELECT provinceCode, districtCode, wardCode FROM admin_units_legacy"
        ).fetchall()
    return (
        communes,
        provinces,
        {r[2] for r in legacy if r[2]},
        {r[1] for r in legacy},
        {r[0] for r in legacy},
    )


def _table(path: Path, table: str) -> pd.DataFrame:
    with sqlite3.connect(path) as conn:
        return pd.read_sql_query(f"SELECT * FROM {table}", conn)


def _sql_tables(out: Path) -> dict[str, pd.DataFrame]:
    result = {}
    for source, tables in SQL_TABLES.items():
        for table, key in tables.items():
            frame = _table(out / source / f"{source}.sqlite", table)
            result[table] = frame.sort_values(key, ignore_index=True)
    return result


def _defects(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "truth" / "defects.parquet")


def _civil_rows(out: Path, encodings: dict[str, str]) -> list[dict[str, str]]:
    textcodecs.register()
    rows = []
    for path in sorted((out / "civil_registration" / "inbox").glob("*.csv")):
        kind, province, day = FILE_RE.match(path.name).groups()
        enc = encodings[province]
        text = path.read_bytes().decode(enc)
        for r in csv.DictReader(io.StringIO(unicodedata.normalize("NFC", text))):
            rows.append({**r, "_kind": kind, "_file": path.name, "_enc": enc, "_day": day})
    return rows


def _xlsx_rows(out: Path) -> dict[str, list[tuple[str, list]]]:
    """ma_so_thue -> [(file, [cells])] in file order."""
    result: dict[str, list] = {}
    for path in sorted((out / "business_registry" / "inbox").glob("enterprises_*.xlsx")):
        wb = openpyxl.load_workbook(path)
        ws = wb["DoanhNghiep"]
        for row in ws.iter_rows(min_row=2):
            result.setdefault(str(row[0].value), []).append((path.name, row))
    return result


def _str(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), "").astype(str)


def _within(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("country_a"), persons=1000, seed=11, days=3)


@pytest.fixture(scope="module")
def run_again(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("country_b"), persons=1000, seed=11, days=3)


@pytest.fixture(scope="module")
def run_longer(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("country_c"), persons=1000, seed=11, days=4)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """5,000 persons over five days: enough rows to check defect rates."""
    return generate(tmp_path_factory.mktemp("country_big"), persons=5000, seed=3, days=5)


# --------------------------------------------------------------------------- TCVN3 codec


def test_tcvn3_domain_samples() -> None:
    textcodecs.register()
    assert "Hà Nội".encode("tcvn3").decode("latin-1") == "Hµ Néi"
    assert "Nguyễn Văn Đức".encode("tcvn3").decode("latin-1") == "NguyÔn V¨n §øc"
    assert "Hµ Néi".encode("latin-1").decode("tcvn3") == "Hà Nội"
    assert "NguyÔn V¨n §øc".encode("latin-1").decode("abc") == "Nguyễn Văn Đức"
    assert unicodedata.normalize("NFD", "Hồ").encode("tcvn3") == "Hồ".encode("tcvn3")


def test_tcvn3_round_trips_every_vietnamese_letter() -> None:
    textcodecs.register()
    tones = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]
    for base in "aăâeêioôơuưy":
        for tone in tones:
            lower = unicodedata.normalize("NFC", base + tone)
            upper = unicodedata.normalize("NFC", base.upper() + tone)
            assert lower.encode("tcvn3").decode("tcvn3") == lower
            expected = upper if not tone else lower  # no upper-case toned code points
            assert upper.encode("tcvn3").decode("tcvn3") == expected, upper
    for letter in "đĐ":
        assert letter.encode("tcvn3").decode("tcvn3") == letter
    assert bytes(range(0xA1, 0xFF)).decode("tcvn3").isprintable()
    with pytest.raises(UnicodeEncodeError):
        "日本".encode("tcvn3")


# --------------------------------------------------------------------------- layout, contract


def test_layout(run: GenerationSummary) -> None:
    out = run.out
    for rel in (
        "social_insurance/social_insurance.sqlite",
        "residence/residence.sqlite",
        "education/education.sqlite",
        "population_db/baseline.parquet",
        "truth/persons.parquet",
        "truth/defects.parquet",
        "truth/defects.csv",
        "truth/code_systems.parquet",
        "truth/baseline_differences.parquet",
    ):
        assert (out / rel).is_file(), rel
    names = {p.name for p in (out / "civil_registration" / "inbox").iterdir()}
    assert any(n.startswith("marriages_") for n in names)
    with (out / "civil_registration" / "inbox" / sorted(n for n in names if "marr" in n)[0]).open(
        "rb"
    ) as fh:
        header = fh.readline().decode("ascii").strip()
    assert header == (
        "so_dang_ky,ngay_dang_ky,so_dinh_danh_chong,ho_ten_chong,ngay_sinh_chong,"
        "so_dinh_danh_vo,ho_ten_vo,ngay_sinh_vo,noi_dang_ky_tinh"
    )
    xlsx = sorted(p.name for p in (out / "business_registry" / "inbox").iterdir())
    assert xlsx == ["enterprises_2025W26.xlsx", "enterprises_2025W27.xlsx"]
    tables = _sql_tables(out)
    assert list(tables["cu_tru_bien_dong"].columns) == [
        "id", "so_dinh_danh", "loai_bien_dong", "ma_tinh", "ma_huyen", "ma_xa",
        "dia_chi_chi_tiet", "ngay_bien_dong", "updated_at",
    ]  # fmt: skip
    assert list(tables["thanh_vien_ho"].columns) == [
        "id", "ma_ho", "so_dinh_danh", "quan_he_chu_ho", "tu_ngay", "den_ngay", "updated_at"
    ]  # fmt: skip
    assert list(tables["qua_trinh_dong"].columns) == [
        "id", "ma_so_bhxh", "tu_thang", "den_thang", "muc_luong", "ma_so_thue_don_vi", "updated_at"
    ]  # fmt: skip
    for source, tabs in (("residence", ("cu_tru_bien_dong", "thanh_vien_ho")),
                         ("social_insurance", ("insured_person", "qua_trinh_dong"))):  # fmt: skip
        with sqlite3.connect(out / source / f"{source}.sqlite") as conn:
            for t in tabs:
                idx = [r[1] for r in conn.execute(f"PRAGMA index_list({t})")]
                cols = {conn.execute(f"PRAGMA index_info({i})").fetchone()[2] for i in idx}
                assert "updated_at" in cols, t
    for t in ("students", "enrolments", "graduations"):
        assert tables[t]["updated_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
        assert tables[t].iloc[:, 0].is_unique
    assert "business_registry" in run.as_table() and "residence" in run.as_table()


def test_xlsx_readable_with_exact_header(run: GenerationSummary) -> None:
    dates = 0
    for path in sorted((run.out / "business_registry" / "inbox").glob("*.xlsx")):
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["DoanhNghiep"]
        rows = list(wb["DoanhNghiep"].iter_rows(values_only=True))
        assert list(rows[0]) == BUSINESS_HEADER
        assert wb.properties.modified == datetime(2025, 1, 1)
        for row in rows[1:]:
            assert re.fullmatch(r"\d{10}", row[0])
            dates += isinstance(row[3], datetime)
    assert dates > 10


def test_deterministic_bytes(run: GenerationSummary, run_again: GenerationSummary) -> None:
    a, b = run.out, run_again.out
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        if rel.suffix != ".sqlite":
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    ta, tb = _sql_tables(a), _sql_tables(b)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name])


def test_other_seed_differs(run: GenerationSummary, tmp_path: Path) -> None:
    generate(tmp_path, persons=1000, seed=12, days=0)
    a = pd.read_parquet(run.out / "population_db" / "baseline.parquet")
    b = pd.read_parquet(tmp_path / "population_db" / "baseline.parquet")
    assert not a["personal_id"].equals(b["personal_id"])


def test_days_are_prefix_consistent(run: GenerationSummary, run_longer: GenerationSummary) -> None:
    a, b = run.out, run_longer.out
    for folder, pattern in (
        ("civil_registration/inbox", "*.csv"),
        ("business_registry/inbox", "*.xlsx"),
    ):
        for path in sorted((a / folder).glob(pattern)):
            assert path.read_bytes() == (b / folder / path.name).read_bytes(), path.name
    assert (a / "population_db" / "baseline.parquet").read_bytes() == (
        b / "population_db" / "baseline.parquet"
    ).read_bytes()
    assert any(p.name.endswith("20250702.csv") for p in (b / "civil_registration/inbox").iterdir())
    ta, tb = _sql_tables(a), _sql_tables(b)
    for tables in SQL_TABLES.values():
        for name, key in tables.items():
            old, new = ta[name].set_index(key), tb[name].set_index(key)
            assert old.index.isin(new.index).all(), name  # nothing disappears
            common = new.loc[old.index]
            changed = (_str(old) != _str(common)).any(axis=1)
            # a row may only change when it was updated on the added day
            assert common.loc[changed, "updated_at"].str.startswith("2025-07-02").all(), name
            added = new.loc[~new.index.isin(old.index), "updated_at"]
            assert added.str.startswith("2025-07-02").all(), name
    da, db = _defects(a), _defects(b)
    merged = da.merge(db, how="left", indicator=True)
    late = ("dead_still_active",)  # a row of the first run may be closed later
    assert (merged["_merge"] == "both")[~merged["defect_class"].isin(late)].all()


# --------------------------------------------------------------------------- ground truth


def test_truth_persons_structure(big: GenerationSummary) -> None:
    truth = pd.read_parquet(big.out / "truth" / "persons.parquet")
    communes, provinces, wards, districts, legacy_provinces = _admin_codes()
    assert truth["personal_id"].is_unique
    for pid, sex, dob in zip(
        truth["personal_id"], truth["sex"], truth["date_of_birth"], strict=True
    ):
        decoded = decode_personal_id(pid)
        assert decoded["sex"] == sex and decoded["birth_year"] == dob.year
    assert set(truth["ethnicity_code"]) <= set(ETHNICITY_2008)
    assert (truth["ethnicity_code"] == "01").mean() > 0.7
    assert set(truth["relationship_to_head"]) <= set(RELATIONSHIPS)
    assert set(truth["commune_code_2025"]) <= communes
    assert set(truth["province_code_2025"]) <= provinces
    assert set(truth["legacy_ward_code"]) <= wards
    assert set(truth["legacy_district_code"]) <= districts
    assert set(truth["legacy_province_code"]) <= legacy_provinces
    assert truth["cmnd"].dropna().str.fullmatch(r"\d{9}").all() and truth["cmnd"].dropna().is_unique
    assert truth["cmnd"].notna().mean() > 0.1
    assert truth["phone"].dropna().str.fullmatch(r"0\d{9}").all()
    top = truth["province_code_2025"].value_counts().index[:2]
    assert set(top) == {"01", "79"}
    heads = truth[truth["relationship_to_head"] == "01"]
    assert heads["household_id"].is_unique
    assert set(truth["household_id"]) == set(heads["household_id"])
    names = truth["full_name"].str.split()
    assert (names.str.len() >= 3).all()
    assert truth["full_name"].str.startswith("Nguyễn ").mean() > 0.25
    middle = names.str[1]
    assert (middle[truth["sex"] == "female"] != "Văn").all()
    assert (middle[truth["sex"] == "male"] != "Thị").all()


def test_baseline_snapshot(run: GenerationSummary) -> None:
    base = pd.read_parquet(run.out / "population_db" / "baseline.parquet")
    truth = pd.read_parquet(run.out / "truth" / "persons.parquet")
    diffs = pd.read_parquet(run.out / "truth" / "baseline_differences.parquet")
    assert {"personal_id", "full_name", "date_of_birth", "sex_code", "date_of_death",
            "ethnicity_code", "province_code", "commune_code", "household_id",
            "updated_at"} <= set(base.columns)  # fmt: skip
    assert set(base["sex_code"]) == {"1", "2"} and base["date_of_death"].isna().all()
    original = truth[~truth["born_during_run"]]
    missing = set(diffs.loc[diffs["kind"] == "missing", "personal_id"])
    assert len(base) == len(original) - len(missing)
    assert set(base["personal_id"]) == set(original["personal_id"]) - missing
    assert (base["updated_at"] < pd.Timestamp("2025-06-28")).all()


def test_code_systems_straddle_the_reform(run: GenerationSummary) -> None:
    systems = pd.read_parquet(run.out / "truth" / "code_systems.parquet")
    civil = systems[systems["source"] == "civil_registration"]
    day = civil["file"].str.extract(r"_(\d{8})\.csv$")[0]
    assert (civil.loc[day < "20250701", "code_system"] == "legacy").all()
    assert (civil.loc[day >= "20250701", "code_system"] == "2025").all()
    assert set(civil["code_system"]) == {"legacy", "2025"}
    _, provinces, _, _, legacy_provinces = _admin_codes()
    assert set(civil.loc[civil["code_system"] == "legacy", "code"]) <= legacy_provinces
    assert set(civil.loc[civil["code_system"] == "2025", "code"]) <= provinces
    changes = _table(run.out / "residence" / "residence.sqlite", "cu_tru_bien_dong")
    post = changes[changes["ngay_bien_dong"] >= "2025-07-01"]
    legacy = set(
        _defects(run.out).query("defect_class.str.startswith('admin_legacy')")["record_key"]
    )
    clean_post = post[~post["id"].astype(str).isin(legacy)]
    assert clean_post["ma_huyen"].isna().all()
    assert (changes.loc[changes["ngay_bien_dong"] < "2025-07-01", "ma_huyen"].notna()).all()


def test_clean_records_decode_and_exist(run: GenerationSummary) -> None:
    defects = _defects(run.out)
    flagged = set(zip(defects["source"], defects["record_key"], strict=True))
    si = _table(run.out / "social_insurance" / "social_insurance.sqlite", "insured_person")
    for row in si.itertuples():
        if ("social_insurance", row.ma_so_bhxh) in flagged:
            continue
        decoded = decode_personal_id(row.so_dinh_danh)
        assert decoded["sex"] == ("male" if row.gioi_tinh == 1 else "female")
        assert decoded["birth_year"] == int(row.ngay_sinh[:4])
        assert re.fullmatch(r"\d{10}", row.ma_so_thue_don_vi)
    students = _table(run.out / "education" / "education.sqlite", "students")
    for row in students.itertuples():
        if ("education", row.student_id) in flagged:
            continue
        decoded = decode_personal_id(row.citizen_id)
        assert decoded["sex"] == ("male" if row.gender == "M" else "female")
        assert decoded["birth_year"] == int(row.date_of_birth[:4])
        assert row.ethnicity_code in ETHNICITY_2008
    years = pd.to_numeric(students["date_of_birth"].str[:4], errors="coerce").dropna()
    assert (2025 - years).between(5, 19).mean() > 0.9
    members = _table(run.out / "residence" / "residence.sqlite", "thanh_vien_ho")
    assert set(members["quan_he_chu_ho"]) <= set(RELATIONSHIPS)
    communes, _, wards, _, _ = _admin_codes()
    changes = _table(run.out / "residence" / "residence.sqlite", "cu_tru_bien_dong")
    assert set(changes["ma_xa"]) <= communes | wards
    assert set(changes["loai_bien_dong"]) == {"DK_THUONG_TRU", "XOA_THUONG_TRU", "DK_TAM_TRU"}


# --------------------------------------------------------------------------- defects


def test_defect_classes_are_documented(big: GenerationSummary) -> None:
    doc = yaml.safe_load(DEFECT_CLASSES_FILE.read_text(encoding="utf-8"))
    reasons = {
        r["code"]
        for r in yaml.safe_load((REPO / "include/dictionary/reason_codes.yaml").read_text())[
            "reason_codes"
        ]
    }
    by_name = {c["name"]: c for c in doc["defect_classes"]}
    defects = _defects(big.out)
    assert set(defects["defect_class"]) <= set(by_name)
    for cls in by_name.values():
        assert cls["expected_handling"] in ("normalise", "quarantine", "discrepancy")
        if cls["expected_handling"] == "quarantine":
            assert cls["reason_code"] in reasons
        else:
            assert not cls.get("reason_code")
    for d in defects.drop_duplicates("defect_class").itertuples():
        assert d.expected_handling == by_name[d.defect_class]["expected_handling"]
        assert d.reason_code == (by_name[d.defect_class].get("reason_code") or "")
    # every rate-driven class of every source appears at this size
    emitted = set(zip(defects["source"], defects["defect_class"], strict=True))
    for source, rates in DEFAULT_DEFECT_RATES.items():
        for cls, rate in rates.items():
            if rate > 0 and big.defect_eligible.get(f"{source}.{cls}", 0) * rate >= 5:
                assert (source, cls) in emitted, (source, cls)
    assert set(defect_classes()) == set(by_name)


def test_defect_rates_within_tolerance(big: GenerationSummary) -> None:
    counts = _defects(big.out).groupby(["source", "defect_class"]).size()
    checked = 0
    for source, rates in DEFAULT_DEFECT_RATES.items():
        for cls, rate in rates.items():
            n = big.defect_eligible.get(f"{source}.{cls}", 0)
            k = int(counts.get((source, cls), 0))
            assert _within(k, n, rate), (source, cls, k, n, rate)
            checked += n > 0
    assert checked >= 30


def test_defect_rates_configurable(tmp_path: Path) -> None:
    rates = {
        "education": {"code_unknown": 0.2, "name_nfd": 0.0},
        "residence": {"admin_legacy_unambiguous": 0.5, "dead_still_active": 0.5},
        "business_registry": {"date_excel_serial": 0.3},
    }
    summary = generate(tmp_path, persons=3000, seed=9, days=5, defect_rates=rates)
    counts = _defects(tmp_path).groupby(["source", "defect_class"]).size()
    for source, by_class in rates.items():
        for cls, rate in by_class.items():
            n = summary.defect_eligible[f"{source}.{cls}"]
            assert n > 0
            assert _within(int(counts.get((source, cls), 0)), n, rate), (source, cls)


def test_every_defect_is_present(run: GenerationSummary, big: GenerationSummary) -> None:
    for summary in (run, big):
        _check_present(summary)


def _check_present(summary: GenerationSummary) -> None:
    out = summary.out
    defects = _defects(out)
    assert set(defects["expected_handling"]) <= {"normalise", "quarantine", "discrepancy"}
    civil: dict[str, list[dict[str, str]]] = {}
    for r in _civil_rows(out, summary.encodings):
        civil.setdefault(r["so_dang_ky"], []).append(r)
    tables = _sql_tables(out)
    keyed = {
        ("social_insurance", "insured_person"): tables["insured_person"].set_index("ma_so_bhxh"),
        ("social_insurance", "contribution_period"): tables["qua_trinh_dong"].set_index(
            tables["qua_trinh_dong"]["id"].astype(str)
        ),
        ("residence", "residence_change"): tables["cu_tru_bien_dong"].set_index(
            tables["cu_tru_bien_dong"]["id"].astype(str)
        ),
        ("residence", "household_member"): tables["thanh_vien_ho"].set_index(
            tables["thanh_vien_ho"]["id"].astype(str)
        ),
        ("education", "student"): tables["students"].set_index("student_id"),
    }
    xlsx = _xlsx_rows(out)
    col = {name: i for i, name in enumerate(BUSINESS_HEADER)}
    for d in defects.itertuples():
        cls = d.defect_class
        if d.source == "civil_registration":
            rows = civil[d.record_key]
            row = rows[0]
            if cls == "duplicate_exact":
                assert len(rows) == 2 and rows[0] == rows[1]
            elif cls == "duplicate_near":
                original = civil[d.clean_value][0]
                assert original["so_dinh_danh"] == row["so_dinh_danh"]
                assert row["so_dang_ky"] == d.raw_value != d.clean_value
            elif cls in ("name_cp1258", "name_tcvn3"):
                enc = "cp1258" if cls == "name_cp1258" else "tcvn3"
                assert row["_enc"] == enc
                data = (
                    encode_cp1258(d.clean_value)
                    if enc == "cp1258"
                    else d.clean_value.encode("tcvn3")
                )
                assert d.raw_value == data.decode("cp1258" if enc == "cp1258" else "latin-1")
                assert d.raw_value != d.clean_value
                assert row[d.field].lower() == d.clean_value.lower()
            else:
                assert row[d.field] == d.raw_value, d
            continue
        if d.source == "business_registry":
            _, cells = xlsx[d.record_key][0]
            cell = cells[col[d.field]]
            if cls == "date_excel_serial":
                assert isinstance(cell.value, int) and cell.number_format == "General"
                assert str(cell.value) == d.raw_value
                serial = date.fromordinal(date(1899, 12, 30).toordinal() + cell.value)
                assert serial.isoformat() == d.clean_value
            else:
                assert str(cell.value) == d.raw_value, d
            continue
        table = keyed[(d.source, d.entity)]
        if cls == "duplicate_near":  # the key itself: both records exist, same person
            assert d.raw_value == d.record_key and d.clean_value in table.index
            assert table.loc[d.record_key, "ngay_sinh"] == table.loc[d.clean_value, "ngay_sinh"]
            continue
        value = table.loc[d.record_key, d.field]
        assert ("" if pd.isna(value) else str(value)) == d.raw_value, d
        if cls == "dead_still_active":
            assert d.raw_value == "" and d.clean_value
    quarantine = defects[defects["expected_handling"] == "quarantine"]
    assert quarantine.duplicated(["source", "entity", "record_key"]).sum() == 0


def test_defect_values(big: GenerationSummary) -> None:
    defects = _defects(big.out)
    persons = pd.read_parquet(big.out / "truth" / "persons.parquet")
    pids = set(persons["personal_id"])
    cmnd_to_pid = dict(zip(persons["cmnd"], persons["personal_id"], strict=True))
    for d in defects.itertuples():
        cls, raw, clean = d.defect_class, d.raw_value, d.clean_value
        if cls == "pid_missing":
            assert raw == "" and clean in pids
        elif cls == "pid_malformed":
            assert not re.fullmatch(r"\d{12}", raw) and clean in pids
        elif cls == "pid_unknown_province":
            assert re.fullmatch(r"\d{12}", raw) and raw[:3] != clean[:3] and raw[3:] == clean[3:]
        elif cls == "pid_sex_year_mismatch":
            a, b = decode_personal_id(raw), decode_personal_id(clean)
            assert (a["sex"], a["birth_year"]) != (b["sex"], b["birth_year"])
        elif cls == "cmnd_only":
            assert clean in pids and raw == ""
        elif cls in ("name_upper_no_diacritics", "name_no_diacritics", "name_upper", "name_nfd",
                     "name_mojibake"):  # fmt: skip
            assert raw != clean and unicodedata.is_normalized("NFC", clean)
            if cls == "name_nfd":
                assert unicodedata.normalize("NFC", raw) == clean
            if cls == "name_mojibake":
                assert raw.encode("cp1252", errors="ignore")  # repairable
        elif cls == "date_year_only":
            assert re.fullmatch(r"\d{4}", raw) and clean == raw
        elif cls == "phone_old_11_digit":
            assert re.fullmatch(r"01\d{9}", raw) and re.fullmatch(r"\+84\d{9}", clean)
            assert raw[-7:] == clean[-7:]
        elif cls == "date_in_future":
            assert int(re.findall(r"\d{4}", raw)[0]) >= 2050
        elif cls == "admin_legacy_unambiguous" or cls == "admin_legacy_ambiguous":
            assert re.fullmatch(r"\d{5}", raw) and re.fullmatch(r"\d{5}", clean)
    si = _table(big.out / "social_insurance" / "social_insurance.sqlite", "insured_person")
    only = si[si["so_dinh_danh"].isna() & si["so_cmnd"].notna()]
    cmnd_rows = defects[defects["defect_class"] == "cmnd_only"].set_index("record_key")
    for row in only.itertuples():
        if row.ma_so_bhxh in cmnd_rows.index:
            assert cmnd_to_pid[row.so_cmnd] == cmnd_rows.loc[row.ma_so_bhxh, "clean_value"]


# --------------------------------------------------------------------------- education API


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_education_api(run: GenerationSummary) -> None:
    from ndc.synthetic.education_api import serve

    db = run.out / "education" / "education.sqlite"
    server, url = serve(db, port=0)
    try:
        assert _get(f"{url}/health") == (200, {"status": "ok"})
        students = _table(db, "students")
        seen, page_url, pages = [], f"{url}/api/v1/students?page_size=37", 0
        while page_url:
            status, body = _get(page_url)
            assert status == 200 and body["total"] == len(students) and body["page_size"] == 37
            seen.extend(body["data"])
            page_url = body["next"]
            pages += 1
        assert pages == math.ceil(len(students) / 37)
        assert [s["student_id"] for s in seen] == list(
            students.sort_values(["updated_at", "student_id"])["student_id"]
        )
        assert set(seen[0]) == set(students.columns)
        cut = sorted(students["updated_at"])[len(students) // 2]
        status, body = _get(f"{url}/api/v1/students?updated_since={cut}&page_size=1000")
        assert status == 200
        expected = students[students["updated_at"] > cut]
        assert body["total"] == len(expected) == len(body["data"]) and body["next"] is None
        assert all(r["updated_at"] > cut for r in body["data"])
        status, body = _get(f"{url}/api/v1/enrolments?updated_since=2025-06-29T00:00:00%2B00:00")
        assert status == 200 and all(r["updated_at"] > "2025-06-29" for r in body["data"])
        assert isinstance(body["data"][0]["grade"], int)
        status, body = _get(f"{url}/api/v1/graduations")
        assert status == 200 and body["page_size"] == 500
        assert _get(f"{url}/api/v1/teachers")[0] == 404
        for bad, name in (
            ("page_size=5000", "page_size"),
            ("page=0", "page"),
            ("page=x", "page"),
            ("updated_since=yesterday", "updated_since"),
        ):
            status, body = _get(f"{url}/api/v1/students?{bad}")
            assert status == 400 and name in body["error"]
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- scale


_CHILD = """
import resource, sys
from pathlib import Path
from ndc.synthetic import generate
generate(Path(sys.argv[1]), persons=int(sys.argv[2]), seed=1, days=3)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kb(out: Path, persons: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), str(persons)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


def test_memory_bounded(tmp_path: Path) -> None:
    small = _peak_kb(tmp_path / "s", 5_000)
    large = _peak_kb(tmp_path / "l", 20_000)
    # 4x the persons: the peak grows by the data (~2.5 KB a person), not by a multiple
    assert large - small < 80_000, (small, large)
    assert large < 1.5 * small, (small, large)


# --------------------------------------------------------------------------- SQL targets


def _drop(server_url: str, name: str) -> None:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        engine.dispose()


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
def test_mariadb_and_postgresql_targets(run: GenerationSummary, tmp_path: Path) -> None:
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
        local = _sql_tables(run.out)
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
        assert summary.rows["residence"] == run.rows["residence"]
        assert (tmp_path / "truth" / "defects.csv").read_bytes() == (
            run.out / "truth" / "defects.csv"
        ).read_bytes()
    finally:
        _drop(mysql_server, name)
        _drop(f"{pg_server}/postgres", name)
