"""ndc.synthetic.civil_registration: the civil registration offices' CSV files (births, deaths,
marriages), their encodings and the code system of each day."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pytest

from ndc.synthetic import GenerationSummary
from ndc.synthetic.encodings import decode_cp1258, encode_cp1258
from ndc.synthetic.pid import decode_personal_id
from tests.unit.synthetic_files import (
    FILE_RE,
    admin_codes,
    inbox_rows,
    parse_dmy,
    read_defects_csv,
    read_inbox,
    read_truth,
)

BIRTH_HEADER = (
    "so_dang_ky,ngay_dang_ky,so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,noi_sinh_tinh,"
    "ho_ten_me,so_dinh_danh_me"
)
DEATH_HEADER = "so_dang_ky,ngay_dang_ky,so_dinh_danh,ho_ten,ngay_sinh,ngay_mat,noi_mat_tinh"
MARRIAGE_HEADER = (
    "so_dang_ky,ngay_dang_ky,so_dinh_danh_chong,ho_ten_chong,ngay_sinh_chong,"
    "so_dinh_danh_vo,ho_ten_vo,ngay_sinh_vo,noi_dang_ky_tinh"
)
HEADERS = {"births": BIRTH_HEADER, "deaths": DEATH_HEADER, "marriages": MARRIAGE_HEADER}
DMY_RE = re.compile(r"^([1-9]|[12]\d|3[01])/([1-9]|1[0-2])/\d{4}$")
DATES = {"20250628", "20250629", "20250630", "20250701"}


def test_layout_and_headers(country42: GenerationSummary) -> None:
    out = country42.out
    assert (out / "social_insurance" / "social_insurance.sqlite").is_file()
    assert (out / "truth" / "persons.parquet").is_file()
    assert (out / "truth" / "defects.csv").is_file()
    files = read_inbox(out)
    assert len(files) == country42.files["civil_registration"]
    assert 20 <= len(files) <= 120
    for name, (_, text, rows) in files.items():
        m = FILE_RE.match(name)
        assert m, name
        kind, province, day = m.groups()
        assert province in country42.encodings and day in DATES
        assert rows, f"{name} is empty"
        header = text.split("\n", 1)[0]
        assert header == HEADERS[kind]
        assert "\r" not in text and text.endswith("\n")


def test_sizes_are_modest_and_weighted(country42: GenerationSummary) -> None:
    births, deaths = inbox_rows(country42.out, "births"), inbox_rows(country42.out, "deaths")
    marriages = inbox_rows(country42.out, "marriages")
    assert country42.rows["civil_registration"] == {
        "birth": len(births),
        "death": len(deaths),
        "marriage": len(marriages),
    }
    assert 50 <= len(births) <= 150
    assert 10 <= len(deaths) <= 40
    per_province = pd.Series([r["_file"].split("_")[1] for r in births]).value_counts()
    assert set(per_province.index[:2]) == {"01", "79"}
    assert (
        14 <= len(country42.encodings) <= 16
    )  # 14 legacy office codes and the 2025 codes they become


def test_file_encodings(country42: GenerationSummary) -> None:
    legacy = {c for c, e in country42.encodings.items() if e == "cp1258"}
    tcvn3 = {c for c, e in country42.encodings.items() if e == "tcvn3"}
    assert 3 <= len(legacy) <= 4 and not (legacy | tcvn3) & {"01", "79"}
    assert 1 <= len(tcvn3) <= 2 and not legacy & tcvn3
    seen_legacy = seen_mixed = 0
    for path in sorted((country42.out / "civil_registration" / "inbox").glob("*.csv")):
        province = FILE_RE.match(path.name).group(2)
        data = path.read_bytes()
        if province in tcvn3:
            continue  # decoded by read_civil_rows (test_synthetic_defects.py)
        if province in legacy:
            seen_legacy += 1
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            text = decode_cp1258(data)
            assert encode_cp1258(text) == data  # round trip is exact
        else:
            # UTF-8, NFC; a line with a name typed in a TCVN3 font (name_legacy_cell) is not.
            lines = data.split(b"\n")
            utf8 = [line for line in lines if _is_utf8(line)]
            assert len(utf8) >= len(lines) - 3
            text = b"\n".join(utf8).decode("utf-8")
            assert unicodedata.is_normalized("NFC", text)
            seen_mixed += len(utf8) < len(lines)
    assert seen_legacy > 0 and seen_mixed > 0


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_clean_birth_rows_are_consistent(country42: GenerationSummary) -> None:
    flagged = set(read_defects_csv(country42.out)["record_key"])
    keys = set()
    for row in inbox_rows(country42.out, "births"):
        key = row["so_dang_ky"]
        assert key not in keys or key in flagged  # an exact duplicate repeats its key
        keys.add(key)
        _, province, day = FILE_RE.match(row["_file"]).groups()
        assert re.fullmatch(rf"KS-{province}-{day}-\d{{6}}", key)
        registered = parse_dmy(row["ngay_dang_ky"])
        assert DMY_RE.match(row["ngay_dang_ky"]) and f"{registered:%Y%m%d}" == day
        assert row["noi_sinh_tinh"] == province
        mother = decode_personal_id(row["so_dinh_danh_me"])
        assert mother["sex"] == "female" and 1975 <= mother["birth_year"] <= 2007
        assert unicodedata.is_normalized("NFC", row["ho_ten"]) and len(row["ho_ten"].split()) >= 3
        if key in flagged:
            continue
        assert row["gioi_tinh"] in ("Nam", "Nữ")
        born = parse_dmy(row["ngay_sinh"])
        assert DMY_RE.match(row["ngay_sinh"]) and 0 < (registered - born).days <= 14
        decoded = decode_personal_id(row["so_dinh_danh"])
        assert decoded["sex"] == ("male" if row["gioi_tinh"] == "Nam" else "female")
        assert decoded["birth_year"] == born.year
        assert decoded["province_code"] == province


def test_clean_death_rows_are_consistent(country42: GenerationSummary) -> None:
    flagged = set(read_defects_csv(country42.out)["record_key"])
    truth = read_truth(country42.out).set_index("personal_id")
    for row in inbox_rows(country42.out, "deaths"):
        _, province, day = FILE_RE.match(row["_file"]).groups()
        assert re.fullmatch(rf"KT-{province}-{day}-\d{{6}}", row["so_dang_ky"])
        assert row["noi_mat_tinh"] == province
        if row["so_dang_ky"] in flagged:
            continue
        registered = parse_dmy(row["ngay_dang_ky"])
        died = parse_dmy(row["ngay_mat"])
        assert 0 <= (registered - died).days <= 3
        person = truth.loc[row["so_dinh_danh"]]
        born = parse_dmy(row["ngay_sinh"])
        decoded = decode_personal_id(row["so_dinh_danh"])
        assert decoded["birth_year"] == born.year == person["date_of_birth"].year
        assert decoded["sex"] == person["sex"]
        assert person["full_name"] == row["ho_ten"] and person["date_of_death"] == died
        assert (registered - born).days >= 45 * 365


def test_code_systems_straddle_the_reform(country11: GenerationSummary) -> None:
    systems = pd.read_parquet(country11.out / "truth" / "code_systems.parquet")
    civil = systems[systems["source"] == "civil_registration"]
    day = civil["file"].str.extract(r"_(\d{8})\.csv$")[0]
    assert (civil.loc[day < "20250701", "code_system"] == "legacy").all()
    assert (civil.loc[day >= "20250701", "code_system"] == "2025").all()
    assert set(civil["code_system"]) == {"legacy", "2025"}
    _, provinces, _, _, legacy_provinces = admin_codes()
    assert set(civil.loc[civil["code_system"] == "legacy", "code"]) <= legacy_provinces
    assert set(civil.loc[civil["code_system"] == "2025", "code"]) <= provinces
