"""ndc.synthetic.social_insurance: the social insurance system's tables."""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from ndc.synthetic import GenerationSummary
from ndc.synthetic.pid import decode_personal_id
from tests.unit.synthetic_files import (
    flagged_records,
    read_defects_csv,
    read_si,
    read_table,
    read_truth,
)


def test_insured_persons_are_a_share_of_the_adults(country42: GenerationSummary) -> None:
    insured = country42.rows["social_insurance"]["insured_person"]
    adults = (read_truth(country42.out)["date_of_birth"] <= date(2007, 6, 28)).sum()
    assert 0.35 * adults <= insured <= 0.55 * adults


def test_clean_social_insurance_rows_are_consistent(country42: GenerationSummary) -> None:
    si = read_si(country42.out)
    defects = read_defects_csv(country42.out)
    flagged = set(defects.query("not defect_class.str.startswith('name_')")["record_key"])
    assert si["ma_so_bhxh"].is_unique and si["ma_so_bhxh"].str.fullmatch(r"\d{10}").all()
    assert si["ma_don_vi"].str.fullmatch(r"[A-Z]{2}\d{4}[A-Z]").all()
    assert si["updated_at"].str.fullmatch(r"2025-(06-2[89]|06-30|07-01) \d{2}:\d{2}:\d{2}").all()
    assert si["ngay_sinh"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(si["gioi_tinh"]) <= {0, 1}
    assert si["updated_at"].str[:10].nunique() == 4  # baseline plus changes on each day
    clean = si[~si["ma_so_bhxh"].isin(flagged)]
    assert clean["so_dinh_danh"].is_unique
    for pid, sex, born in zip(
        clean["so_dinh_danh"], clean["gioi_tinh"], clean["ngay_sinh"], strict=True
    ):
        decoded = decode_personal_id(pid)
        assert decoded["sex"] == ("male" if sex == 1 else "female")
        assert decoded["birth_year"] == int(born[:4])


def test_social_insurance_schema(country42: GenerationSummary) -> None:
    path = country42.out / "social_insurance" / "social_insurance.sqlite"
    with sqlite3.connect(path) as conn:
        cols = conn.execute("PRAGMA table_info(insured_person)").fetchall()
        indexes = conn.execute("PRAGMA index_list(insured_person)").fetchall()
        index_cols = {conn.execute(f"PRAGMA index_info({i[1]})").fetchone()[2] for i in indexes}
        types = conn.execute(
            "SELECT DISTINCT typeof(ngay_sinh), typeof(updated_at), "
            "typeof(gioi_tinh) FROM insured_person"
        ).fetchall()
    assert [c[1] for c in cols] == [
        "ma_so_bhxh",
        "so_dinh_danh",
        "so_cmnd",
        "ho_ten",
        "ngay_sinh",
        "gioi_tinh",
        "ma_don_vi",
        "ma_so_thue_don_vi",
        "so_dien_thoai",
        "updated_at",
    ]
    assert [c[1] for c in cols if c[5]] == ["ma_so_bhxh"]
    assert "updated_at" in index_cols
    assert types == [("text", "text", "integer")]


def test_unflagged_names_keep_diacritics(country42: GenerationSummary) -> None:
    si = read_si(country42.out)
    upper = set(
        read_defects_csv(country42.out).query(
            "defect_class in ('name_upper_no_diacritics', 'duplicate_near')"
        )["record_key"]
    )
    proper = si[~si["ma_so_bhxh"].isin(upper)]
    assert (proper["ho_ten"] != proper["ho_ten"].str.upper()).all()


def test_clean_insured_persons_decode(country11: GenerationSummary) -> None:
    flagged = flagged_records(country11.out)
    si = read_table(
        country11.out / "social_insurance" / "social_insurance.sqlite", "insured_person"
    )
    for row in si.itertuples():
        if ("social_insurance", row.ma_so_bhxh) in flagged:
            continue
        decoded = decode_personal_id(row.so_dinh_danh)
        assert decoded["sex"] == ("male" if row.gioi_tinh == 1 else "female")
        assert decoded["birth_year"] == int(row.ngay_sinh[:4])
        assert re.fullmatch(r"\d{10}", row.ma_so_thue_don_vi)
