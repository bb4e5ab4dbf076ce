"""Readers of a generated country's files, shared by the tests of ndc.synthetic's modules
(tests/unit/test_synthetic_*.py; the countries themselves are fixtures of conftest.py)."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from ndc import textcodecs
from ndc.synthetic.encodings import decode_cp1258

FILE_RE = re.compile(r"^(births|deaths|marriages)_(\d{2})_(\d{8})\.csv$")
BASELINE = date(2025, 6, 28)
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


def parse_dmy(value: str) -> date:
    """Parse an unpadded d/m/yyyy date."""
    return datetime.strptime(value, "%d/%m/%Y").date()


def decode_file(data: bytes, encoding: str = "utf-8") -> tuple[str, str]:
    """Decode a source file: UTF-8 first, then the province's legacy encoding; a UTF-8
    province's file with a few TCVN3 cells (name_legacy_cell) cell by cell, as the extract
    does (ndc.extract.files.decode_cell; no name holds a comma)."""
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        if encoding == "utf-8":
            from ndc.extract.files import MIXED_UTF8, decode_cell

            textcodecs.register()
            lines = [
                ",".join(decode_cell(cell, ["cp1258", "tcvn3"])[0] for cell in line.split(b","))
                for line in data.split(b"\n")
            ]
            return MIXED_UTF8, "\n".join(lines)
        if encoding == "tcvn3":
            textcodecs.register()
            return "tcvn3", data.decode("tcvn3")
        return "cp1258", decode_cp1258(data)


def read_inbox(out: Path) -> dict[str, tuple[str, str, list[dict[str, str]]]]:
    """Return file name -> (encoding, raw text, rows) for every inbox file."""
    from ndc.synthetic.civil_registration import encodings_for

    encodings = encodings_for(42)
    result = {}
    for path in sorted((out / "civil_registration" / "inbox").glob("*.csv")):
        province = FILE_RE.match(path.name).group(2)
        encoding, text = decode_file(path.read_bytes(), encodings.get(province, "utf-8"))
        result[path.name] = (encoding, text, list(csv.DictReader(io.StringIO(text))))
    return result


def inbox_rows(out: Path, kind: str) -> list[dict[str, str]]:
    """Return all rows of births or deaths files, each with its file name."""
    rows = []
    for name, (_, _, file_rows) in read_inbox(out).items():
        if name.startswith(kind):
            rows.extend({**r, "_file": name} for r in file_rows)
    return rows


def read_si(out: Path) -> pd.DataFrame:
    """Read the SQLite insured_person table, ordered by key."""
    with sqlite3.connect(out / "social_insurance" / "social_insurance.sqlite") as conn:
        return pd.read_sql_query("SELECT * FROM insured_person ORDER BY ma_so_bhxh", conn)


def read_defects_csv(out: Path) -> pd.DataFrame:
    """Read truth/defects.csv with every column as text."""
    return pd.read_csv(out / "truth" / "defects.csv", dtype=str, keep_default_na=False)


def read_truth(out: Path) -> pd.DataFrame:
    """Read truth/persons.parquet."""
    return pd.read_parquet(out / "truth" / "persons.parquet")


def admin_db() -> Path:
    import vietnamadminunits

    return Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"


def admin_codes() -> tuple[set[str], set[str], set[str], set[str], set[str]]:
    with sqlite3.connect(admin_db()) as conn:
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


def read_table(path: Path, table: str) -> pd.DataFrame:
    with sqlite3.connect(path) as conn:
        return pd.read_sql_query(f"SELECT * FROM {table}", conn)


def read_sql_tables(out: Path) -> dict[str, pd.DataFrame]:
    result = {}
    for source, tables in SQL_TABLES.items():
        for table, key in tables.items():
            frame = read_table(out / source / f"{source}.sqlite", table)
            result[table] = frame.sort_values(key, ignore_index=True)
    return result


def read_defects(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "truth" / "defects.parquet")


def flagged_records(out: Path) -> set[tuple[str, str]]:
    """(source, record_key) of every record with an injected defect."""
    defects = read_defects(out)
    return set(zip(defects["source"], defects["record_key"], strict=True))
