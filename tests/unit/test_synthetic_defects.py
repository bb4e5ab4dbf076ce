"""ndc.synthetic.defects: the injected defects, their rates, their truth and their documentation."""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from ndc import textcodecs
from ndc.synthetic import DEFAULT_DEFECT_RATES, GenerationSummary, generate
from ndc.synthetic.defects import DEFECT_CLASSES_FILE, defect_classes
from ndc.synthetic.encodings import encode_cp1258
from ndc.synthetic.names import legacy_upper
from ndc.synthetic.pid import decode_personal_id
from tests.unit.synthetic_files import (
    BUSINESS_HEADER,
    FILE_RE,
    decode_file,
    inbox_rows,
    parse_dmy,
    read_defects,
    read_defects_csv,
    read_si,
    read_sql_tables,
    read_table,
)

REPO = Path(__file__).resolve().parents[2]


def within(count: int, n: int, p: float) -> bool:
    """Is a binomial count within 4 standard deviations (+1) of its expectation?"""
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


def read_xlsx_rows(out: Path) -> dict[str, list[tuple[str, list]]]:
    """ma_so_thue -> [(file, [cells])] in file order."""
    result: dict[str, list] = {}
    for path in sorted((out / "business_registry" / "inbox").glob("enterprises_*.xlsx")):
        wb = openpyxl.load_workbook(path)
        ws = wb["DoanhNghiep"]
        for row in ws.iter_rows(min_row=2):
            result.setdefault(str(row[0].value), []).append((path.name, row))
    return result


def read_civil_rows(out: Path, encodings: dict[str, str]) -> list[dict[str, str]]:
    textcodecs.register()
    rows = []
    for path in sorted((out / "civil_registration" / "inbox").glob("*.csv")):
        kind, province, day = FILE_RE.match(path.name).groups()
        enc = encodings[province]
        _, text = decode_file(path.read_bytes(), enc)
        for r in csv.DictReader(io.StringIO(unicodedata.normalize("NFC", text))):
            rows.append({**r, "_kind": kind, "_file": path.name, "_enc": enc, "_day": day})
    return rows


def test_defect_rate_overrides_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, persons=10, defect_rates={"civil_registration": {"nope": 0.1}})
    with pytest.raises(ValueError):
        generate(tmp_path, persons=10, defect_rates={"social_insurance": {"pid_malformed": 2}})
    with pytest.raises(ValueError):
        generate(tmp_path, persons=10, targets={"unknown_source": "sqlite://"})


def _check_rates(summary: GenerationSummary, rates: dict[str, dict[str, float]]) -> None:
    """Each class's count is within binomial tolerance of (eligible rows) x (rate)."""
    counts = read_defects_csv(summary.out).groupby(["source", "defect_class"]).size()
    for source, by_class in rates.items():
        for cls, rate in by_class.items():
            n = summary.defect_eligible.get(f"{source}.{cls}", 0)
            k = int(counts.get((source, cls), 0))
            assert within(k, n, rate), (source, cls, k, n, rate)


def test_defect_rates_default(tmp_path: Path) -> None:
    summary = generate(tmp_path, persons=3000, seed=3)
    _check_rates(summary, DEFAULT_DEFECT_RATES)


def test_defect_rates_configurable_civil_and_insured(tmp_path: Path) -> None:
    rates = {
        "civil_registration": {"pid_malformed": 0.1, "pid_missing": 0.05, "date_unparseable": 0.15},
        "social_insurance": {
            "name_upper_no_diacritics": 0.0,
            "pid_malformed": 0.1,
            "duplicate_near": 0.0,
        },
    }
    summary = generate(tmp_path, persons=3000, seed=5, defect_rates=rates)
    _check_rates(summary, rates)
    assert (read_si(tmp_path)["ho_ten"] != read_si(tmp_path)["ho_ten"].str.upper()).all()


def test_defect_rates_within_tolerance(big_country: GenerationSummary) -> None:
    counts = read_defects(big_country.out).groupby(["source", "defect_class"]).size()
    checked = 0
    for source, rates in DEFAULT_DEFECT_RATES.items():
        for cls, rate in rates.items():
            n = big_country.defect_eligible.get(f"{source}.{cls}", 0)
            k = int(counts.get((source, cls), 0))
            assert within(k, n, rate), (source, cls, k, n, rate)
            checked += n > 0
    assert checked >= 30


def test_defect_rates_configurable_other_sources(tmp_path: Path) -> None:
    rates = {
        "education": {"code_unknown": 0.2, "name_nfd": 0.0},
        "residence": {"admin_legacy_unambiguous": 0.5, "dead_still_active": 0.5},
        "business_registry": {"date_excel_serial": 0.3},
    }
    summary = generate(tmp_path, persons=3000, seed=9, days=5, defect_rates=rates)
    counts = read_defects(tmp_path).groupby(["source", "defect_class"]).size()
    for source, by_class in rates.items():
        for cls, rate in by_class.items():
            n = summary.defect_eligible[f"{source}.{cls}"]
            assert n > 0
            assert within(int(counts.get((source, cls), 0)), n, rate), (source, cls)


def test_civil_and_insured_defects_hold_their_raw_values(country42: GenerationSummary) -> None:
    defects = read_defects_csv(country42.out)
    assert set(defects.columns) >= {
        "source",
        "entity",
        "record_key",
        "field",
        "defect_class",
        "expected_handling",
        "reason_code",
        "clean_value",
        "raw_value",
    }
    civil = {
        r["so_dang_ky"]: r
        for r in inbox_rows(country42.out, "births") + inbox_rows(country42.out, "deaths")
    }
    si = read_si(country42.out).set_index("ma_so_bhxh")
    old_classes = ("pid_malformed", "pid_missing", "date_unparseable", "name_upper_no_diacritics")
    defects = defects[
        defects["defect_class"].isin(old_classes)
        & defects["entity"].isin(["birth", "death", "insured_person"])
    ]  # every class and source: test_every_defect_is_present below
    for d in defects.itertuples():
        if d.source == "civil_registration":
            assert civil[d.record_key][d.field] == d.raw_value
        else:
            value = si.loc[d.record_key, d.field]
            assert ("" if pd.isna(value) else value) == d.raw_value
        assert d.raw_value != d.clean_value
        if d.defect_class == "pid_malformed":
            assert not re.fullmatch(r"\d{12}", d.raw_value) and re.fullmatch(
                r"\d{12}", d.clean_value
            )
            assert (d.expected_handling, d.reason_code) == ("quarantine", "PID_MALFORMED")
        elif d.defect_class == "pid_missing":
            assert d.raw_value == "" and d.reason_code == "PID_MISSING"
        elif d.defect_class == "date_unparseable":
            with pytest.raises(ValueError):
                parse_dmy(d.raw_value)
            assert d.reason_code == "DATE_UNPARSEABLE"
        else:
            assert d.defect_class == "name_upper_no_diacritics"
            assert d.expected_handling == "normalise" and d.reason_code == ""
            assert d.raw_value == legacy_upper(d.clean_value) and d.raw_value.isascii()
    quarantine = defects[defects["expected_handling"] == "quarantine"]
    assert quarantine.duplicated(["source", "entity", "record_key"]).sum() == 0


def test_every_defect_is_present(
    country11: GenerationSummary, big_country: GenerationSummary
) -> None:
    for summary in (country11, big_country):
        _check_present(summary)


def _check_present(summary: GenerationSummary) -> None:
    out = summary.out
    defects = read_defects(out)
    assert set(defects["expected_handling"]) <= {"normalise", "quarantine", "discrepancy"}
    civil: dict[str, list[dict[str, str]]] = {}
    for r in read_civil_rows(out, summary.encodings):
        civil.setdefault(r["so_dang_ky"], []).append(r)
    tables = read_sql_tables(out)
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
    xlsx = read_xlsx_rows(out)
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
            elif cls == "name_legacy_cell":
                # a TCVN3 cell in a UTF-8 file: the cell-by-cell reading gives the name
                assert row["_enc"] == "utf-8"
                assert d.raw_value == d.clean_value.encode("tcvn3").decode("latin-1")
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
        if d.source == "land_registry":
            continue  # read through the XML extractor: tests/unit/test_synthetic_land_registry.py
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


def test_defect_values(big_country: GenerationSummary) -> None:
    defects = read_defects(big_country.out)
    persons = pd.read_parquet(big_country.out / "truth" / "persons.parquet")
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
    si = read_table(
        big_country.out / "social_insurance" / "social_insurance.sqlite", "insured_person"
    )
    only = si[si["so_dinh_danh"].isna() & si["so_cmnd"].notna()]
    cmnd_rows = defects[defects["defect_class"] == "cmnd_only"].set_index("record_key")
    for row in only.itertuples():
        if row.ma_so_bhxh in cmnd_rows.index:
            assert cmnd_to_pid[row.so_cmnd] == cmnd_rows.loc[row.ma_so_bhxh, "clean_value"]


def test_defect_classes_are_documented(big_country: GenerationSummary) -> None:
    doc = yaml.safe_load(DEFECT_CLASSES_FILE.read_text(encoding="utf-8"))
    reasons = {
        r["code"]
        for r in yaml.safe_load((REPO / "include/dictionary/reason_codes.yaml").read_text())[
            "reason_codes"
        ]
    }
    by_name = {c["name"]: c for c in doc["defect_classes"]}
    defects = read_defects(big_country.out)
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
            if rate > 0 and big_country.defect_eligible.get(f"{source}.{cls}", 0) * rate >= 5:
                assert (source, cls) in emitted, (source, cls)
    assert set(defect_classes()) == set(by_name)


def test_hard_linkage_cases_are_labelled_with_their_person(tmp_path: Path) -> None:
    """Death and insured-person records without a usable personal ID are made harder to link
    (a swapped date of birth, a name without marks), have a name shared with another person,
    or a twin only the population database knows; land owners without one carry their commune
    as the legacy ward code it had before the 2025 reform; truth/linkage_cases.parquet names
    each one's person and case, and the source holds exactly what the case says."""
    from ndc.linkage.admin import commune_options
    from ndc.synthetic.linkage_cases import CASES, ID_LESS, swapped
    from ndc.synthetic.names import strip_marks

    rates = {
        "civil_registration": {"pid_missing": 0.3},
        "social_insurance": {"pid_missing": 0.2},
        "land_registry": {"pid_malformed": 0.2},
    }
    summary = generate(tmp_path, persons=3000, seed=5, days=3, defect_rates=rates)
    # Each land owner's residence commune as written (ASCII fields: any encoding reads them).
    owner_commune = {}
    for path in sorted((tmp_path / "land_registry" / "inbox").glob("land_*.xml")):
        text = path.read_bytes().decode("latin-1")
        for parcel, body in re.findall(r'<ThuaDat MaThua="([^"]+)".*?>(.*?)</ThuaDat>', text):
            for stt, code in re.findall(
                r'<ChuSuDung STT="(\d+)">.*?<MaXaThuongTru>(\d*)</MaXaThuongTru>', body
            ):
                owner_commune[f"{parcel}/{stt}"] = code
    cases = pd.read_parquet(tmp_path / "truth" / "linkage_cases.parquet")
    defects = read_defects(tmp_path)
    id_less = defects[defects["defect_class"].isin(ID_LESS)]
    owner = dict(zip(id_less["record_key"], id_less["clean_value"], strict=True))
    persons = pd.read_parquet(tmp_path / "truth" / "persons.parquet").set_index("personal_id")
    shared = persons["full_name"].map(legacy_upper).value_counts()
    si = read_si(tmp_path).set_index("ma_so_bhxh")
    deaths = {
        r["so_dang_ky"]: r
        for r in read_civil_rows(tmp_path, summary.encodings)
        if r["_kind"] == "deaths"
    }
    baseline_rows = pd.read_parquet(tmp_path / "population_db" / "baseline.parquet")
    baseline = set(baseline_rows["personal_id"])
    baseline_commune = dict(
        zip(baseline_rows["personal_id"], baseline_rows["commune_code"], strict=True)
    )
    seen = set()
    for c in cases.itertuples():
        assert owner[c.record_key] == c.personal_id  # an ID-less record, of that person
        person = persons.loc[c.personal_id]
        dob, name = person["date_of_birth"], person["full_name"]
        if c.source == "land_registry":
            # The legacy ward code the person's 2025 commune was made of when the record was
            # written (the baseline's, or the commune the person has moved to since): another
            # code, which only the conversion tells is the same place.
            assert c.case == "reform_commune" and c.entity == "owner"
            code = owner_commune[c.record_key]
            communes = {person["commune_code_2025"], baseline_commune.get(c.personal_id)}
            assert code not in communes and communes & set(commune_options(code, "legacy"))
            seen.add((c.source, c.case))
            continue
        if c.source == "social_insurance":
            row = si.loc[c.record_key]
            got_dob, got_name = row["ngay_sinh"], row["ho_ten"]
            want_dob, no_marks = swapped(dob), strip_marks(name)
            want_dob = want_dob and want_dob.isoformat()
            plain_dob = dob.isoformat()
        else:
            row = deaths[c.record_key]
            got_dob, got_name = row["ngay_sinh"], row["ho_ten"]
            want_dob = swapped(dob) and f"{swapped(dob).day}/{swapped(dob).month}/{dob.year}"
            no_marks, plain_dob = strip_marks(name), f"{dob.day}/{dob.month}/{dob.year}"
        if c.case == "twin":
            # The record as it was; the population database knows a twin of its person.
            assert got_dob == plain_dob
            twins = persons[
                (persons["date_of_birth"] == dob)
                & (persons["household_id"] == person["household_id"])
                & (persons.index != c.personal_id)
            ]
            assert len(twins) == 1, c
            twin = twins.iloc[0]
            assert twin["full_name"].split()[0] == name.split()[0]
            assert twin["full_name"].split()[-1] != name.split()[-1]
            assert twin.name in baseline and twin.name not in set(si["so_dinh_danh"])
            assert pd.isna(twin["mother_person_id"]) == pd.isna(person["mother_person_id"])
        elif c.case == "dob_swap":
            assert got_dob == want_dob != plain_dob
        elif c.case == "no_marks":
            assert got_name == no_marks != name and got_dob == plain_dob
        else:
            assert c.case == "common_name" and shared[legacy_upper(name)] > 1
            assert got_dob == plain_dob
        seen.add((c.source, c.case))
    assert {(s, k) for s in ("social_insurance", "civil_registration")
            for k in ("dob_swap", "no_marks", "common_name")} <= seen  # fmt: skip
    assert ("social_insurance", "twin") in seen
    assert ("land_registry", "reform_commune") in seen
    assert {k for _, k in seen} == set(CASES)
