"""The scoring of `ndc evaluate`: hand-made truth rows against hand-made pipeline outputs."""

from __future__ import annotations

import unicodedata
from datetime import date

import pandas as pd
import pytest

from ndc.evaluate.outputs import MERGED_RELATION, Outputs, discrepancy_relation
from ndc.evaluate.score import format_table, name_columns, score

TRUTH_COLUMNS = [
    "source",
    "entity",
    "record_key",
    "field",
    "defect_class",
    "expected_handling",
    "reason_code",
    "clean_value",
    "raw_value",
]


def truth(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=TRUTH_COLUMNS)


def births(*rows: dict) -> pd.DataFrame:
    base = {
        "_batch_id": "b1",
        "quarantine_reason_code": None,
        "duplicate_of_record_key": None,
        "mother_full_name": None,
        "mother_full_name_raw": None,
        "date_of_birth_precision": "day",
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def outputs(
    staging: dict | None = None,
    quarantined: list[tuple] | None = None,
    merged: list[tuple] | None = None,
    discrepancies: dict | None = None,
    missing: list[str] | None = None,
) -> Outputs:
    q = pd.DataFrame(quarantined or [], columns=["source", "entity", "record_key", "reason_code"])
    m = (
        None
        if merged is None
        else pd.DataFrame(
            merged, columns=["source", "entity", "record_key", "surviving_record_key"]
        )
    )
    return Outputs(
        staging=staging or {},
        quarantined=q,
        merged=m,
        discrepancies=discrepancies or {},
        missing=missing or [],
    )


def disc_frame(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(
        list(rows), columns=["source", "entity", "record_key", "discrepancy", "reference_value"]
    )


def test_quarantine_counts_only_the_class_reason_code():
    defects = truth(
        ("civil_registration", "birth", "KS-01-20250628-001574", "so_dinh_danh",
         "pid_malformed", "quarantine", "PID_MALFORMED", "001325548855", "00125548855"),
        ("civil_registration", "birth", "KS-01-20250628-001585", "so_dinh_danh",
         "pid_malformed", "quarantine", "PID_MALFORMED", "001325071741", "00132H071741"),
        ("education", "student", "HS0178185179", "citizen_id",
         "pid_missing", "quarantine", "PID_MISSING", "037225745698", None),
    )  # fmt: skip
    out = outputs(
        quarantined=[
            ("civil_registration", "birth", "KS-01-20250628-001574", "PID_MALFORMED"),
            # quarantined, but for the wrong reason: not handled as expected
            ("civil_registration", "birth", "KS-01-20250628-001585", "DATE_UNPARSEABLE"),
            ("education", "student", "HS0178185179", "PID_MISSING"),
        ]
    )
    result = score(defects, out)
    malformed = result["classes"]["pid_malformed"]
    assert (malformed["expected"], malformed["handled"], malformed["rate"]) == (2, 1, 0.5)
    assert malformed["misses"][0]["got"] == "DATE_UNPARSEABLE"
    assert result["classes"]["pid_missing"]["rate"] == 1.0


def test_names_compare_nfc_with_the_clean_value():
    nfd = unicodedata.normalize("NFD", "Hoàng Anh Quân")
    defects = truth(
        ("civil_registration", "birth", "KS-31-20250628-000789", "ho_ten",
         "name_tcvn3", "normalise", None, "Đỗ Hải Anh", "§ç H¶i Anh"),
        ("civil_registration", "birth", "KS-31-20250628-000789", "ho_ten_me",
         "name_tcvn3", "normalise", None, "Trần Hồng Hà", "TrÇn Hång Hµ"),
        ("education", "student", "HS0178185179", "full_name",
         "name_nfd", "normalise", None, "Hoàng Anh Quân", nfd),
        ("education", "student", "HS0191809853", "full_name",
         "name_no_diacritics", "normalise", None, "Phạm Bảo Nga", "Pham Bao Nga"),
    )  # fmt: skip
    staging = {
        ("civil_registration", "birth"): births(
            {
                "record_key": "KS-31-20250628-000789",
                "full_name": "Đỗ Hải Anh",
                "full_name_raw": "§ç H¶i Anh",
                # TCVN3 has no upper-case toned vowels: left lower-case, not repaired
                "mother_full_name": "trần hồng hà",
                "mother_full_name_raw": "TrÇn Hång Hµ",
            }
        ),
        ("education", "student"): pd.DataFrame(
            [
                # a conformed value still in NFD counts as equal: the comparison is NFC
                ("HS0178185179", nfd, nfd, None),
                ("HS0191809853", "Pham Bao Nga", "Pham Bao Nga", None),
            ],
            columns=["record_key", "full_name", "full_name_raw", "quarantine_reason_code"],
        ),
    }
    result = score(defects, outputs(staging=staging))
    assert (
        result["classes"]["name_tcvn3"]["expected"],
        result["classes"]["name_tcvn3"]["handled"],
    ) == (2, 1)
    assert result["classes"]["name_tcvn3"]["misses"][0]["got"] == "trần hồng hà"
    assert result["classes"]["name_nfd"]["rate"] == 1.0
    assert result["classes"]["name_no_diacritics"]["rate"] == 0.0


def test_dates_phones_ids_and_admin_units():
    defects = truth(
        ("civil_registration", "death", "KT-79-20250628-000711", "ngay_sinh",
         "date_year_only", "normalise", None, "1957", "1957"),
        ("civil_registration", "death", "KT-79-20250628-000712", "ngay_sinh",
         "date_year_only", "normalise", None, "1948", "1948"),
        ("business_registry", "enterprise", "2401289870", "ngay_thanh_lap",
         "date_excel_serial", "normalise", None, "2020-03-17", "43907"),
        ("business_registry", "enterprise", "0119822714", "ngay_thanh_lap",
         "date_text_dmy", "normalise", None, "1996-03-27", "27/3/1996"),
        ("social_insurance", "insured_person", "0110487917", "so_dien_thoai",
         "phone_old_11_digit", "normalise", None, "+84392557132", "01692557132"),
        ("social_insurance", "insured_person", "0147418423", "so_dinh_danh",
         "cmnd_only", "normalise", None, "001166261930", None),
        ("residence", "residence_change", "5754", "ma_xa",
         "admin_legacy_unambiguous", "normalise", None, "15778", "15775"),
        ("residence", "residence_change", "5777", "ma_xa",
         "admin_legacy_ambiguous", "discrepancy", None, "25747", "25741"),
    )  # fmt: skip
    deaths = pd.DataFrame(
        [
            ("KT-79-20250628-000711", date(1957, 1, 1), "year"),
            # the year is right but stored as a day-precision date: not as expected
            ("KT-79-20250628-000712", date(1948, 1, 1), "day"),
        ],
        columns=["record_key", "date_of_birth", "date_of_birth_precision"],
    ).assign(quarantine_reason_code=None)
    enterprises = pd.DataFrame(
        [("2401289870", date(2020, 3, 17)), ("0119822714", None)],
        columns=["record_key", "founding_date"],
    ).assign(quarantine_reason_code=None)
    insured = pd.DataFrame(
        [("0110487917", "+84392557132", None), ("0147418423", None, "001166261930")],
        columns=["record_key", "phone_e164", "personal_id"],
    ).assign(quarantine_reason_code=None)
    changes = pd.DataFrame(
        [("5754", "15778", False), ("5777", None, True)],
        columns=["record_key", "commune_code_2025", "admin_conversion_ambiguous"],
    ).assign(quarantine_reason_code=None)
    staging = {
        ("civil_registration", "death"): deaths,
        ("business_registry", "enterprise"): enterprises,
        ("social_insurance", "insured_person"): insured,
        ("residence", "residence_change"): changes,
    }
    classes = score(defects, outputs(staging=staging))["classes"]
    rates = {name: c["rate"] for name, c in classes.items()}
    assert rates == {
        "date_year_only": 0.5,
        "date_excel_serial": 1.0,
        "date_text_dmy": 0.0,
        "phone_old_11_digit": 1.0,
        "cmnd_only": 1.0,
        "admin_legacy_unambiguous": 1.0,
        "admin_legacy_ambiguous": 1.0,
    }


def test_duplicates_need_one_survivor_and_a_merge_record():
    defects = truth(
        ("civil_registration", "birth", "KS-01-20250630-001612", "so_dang_ky",
         "duplicate_exact", "normalise", None, "KS-01-20250630-001612", "KS-01-20250630-001612"),
        ("civil_registration", "birth", "KS-01-20250630-001624", "so_dang_ky",
         "duplicate_exact", "normalise", None, "KS-01-20250630-001624", "KS-01-20250630-001624"),
        ("civil_registration", "birth", "KS-01-20250630-001627", "so_dang_ky",
         "duplicate_near", "normalise", None, "KS-01-20250630-001625", "KS-01-20250630-001627"),
    )  # fmt: skip
    key, other, near, original = (
        "KS-01-20250630-001612",
        "KS-01-20250630-001624",
        "KS-01-20250630-001627",
        "KS-01-20250630-001625",
    )
    staging = {
        ("civil_registration", "birth"): births(
            {"record_key": key, "full_name": "Lê Thị Mai", "full_name_raw": "Lê Thị Mai"},
            {
                "record_key": key,
                "full_name": "Lê Thị Mai",
                "full_name_raw": "Lê Thị Mai",
                "duplicate_of_record_key": key,
            },
            # both copies kept: not collapsed
            {"record_key": other, "full_name": "Vũ Văn An", "full_name_raw": "Vũ Văn An"},
            {"record_key": other, "full_name": "Vũ Văn An", "full_name_raw": "Vũ Văn An"},
            {"record_key": original, "full_name": "Ngô Minh Tú", "full_name_raw": "Ngô Minh Tú"},
            {
                "record_key": near,
                "full_name": "Ngô Minh Tú",
                "full_name_raw": "Ngo Minh Tu",
                "duplicate_of_record_key": original,
            },
        )
    }
    merged = [
        ("civil_registration", "birth", key, key),
        ("civil_registration", "birth", near, original),
    ]
    result = score(defects, outputs(staging=staging, merged=merged))
    exact, near_ = result["classes"]["duplicate_exact"], result["classes"]["duplicate_near"]
    assert (exact["expected"], exact["handled"]) == (2, 1)
    assert exact["misses"][0]["record_key"] == other
    assert near_["rate"] == 1.0
    # The surviving original of a near duplicate is a clean record and was left alone.
    assert (result["clean"]["records"], result["clean"]["wrongly_changed"]) == (1, 0)


def test_discrepancies_by_kind_and_reference_value():
    defects = truth(
        ("civil_registration", "death", "KT-22-20250629-000403", "ngay_sinh",
         "dob_conflict", "discrepancy", None, "1972-02-17", "7/2/1972"),
        ("social_insurance", "insured_person", "0100494100", "ngay_sinh",
         "dob_conflict", "discrepancy", None, "1980-05-01", "1980-06-01"),
        ("social_insurance", "insured_person", "0100966555", "so_dinh_danh",
         "pid_sex_year_mismatch", "discrepancy", None, "022325149242", "022334149242"),
        ("residence", "household_member", "128", "den_ngay",
         "dead_still_active", "discrepancy", None, "2025-06-30", None),
    )  # fmt: skip
    discrepancies = {
        "civil_registration": disc_frame(
            ("civil_registration", "death", "KT-22-20250629-000403", "date_of_birth", "1972-02-17")
        ),
        "social_insurance": disc_frame(
            # the population DB's value is not the real one: not as expected
            ("social_insurance", "insured_person", "0100494100", "date_of_birth", "1980-06-01"),
            ("social_insurance", "insured_person", "0100966555", "pid_sex_year", "1925"),
        ),
        "residence": disc_frame(
            ("residence", "household_member", "128", "dead_still_active", "2025-06-30")
        ),
    }
    classes = score(defects, outputs(discrepancies=discrepancies))["classes"]
    assert (classes["dob_conflict"]["expected"], classes["dob_conflict"]["handled"]) == (2, 1)
    assert classes["pid_sex_year_mismatch"]["rate"] == 1.0
    assert classes["dead_still_active"]["rate"] == 1.0


def test_clean_records_wrongly_quarantined_merged_reported_or_renamed():
    defects = truth(
        ("civil_registration", "birth", "KS-36-20250628-000491", "ho_ten",
         "name_cp1258", "normalise", None, "Nguyễn Thanh Anh", "Nguyễn Thanh Anh"),
    )  # fmt: skip
    staging = {
        ("civil_registration", "birth"): births(
            # the defective record is not a clean one, whatever happened to it
            {
                "record_key": "KS-36-20250628-000491",
                "full_name": "Nguyễn Thanh Anh",
                "full_name_raw": "Nguyễn Thanh Anh",
                "quarantine_reason_code": "PID_MISSING",
            },
            # raw spacing and composition differ, the name does not: unchanged
            {
                "record_key": "KS-01-20250628-000001",
                "full_name": "Trần Văn Nam",
                "full_name_raw": " Trần  Văn Nam",
                "mother_full_name": "Phạm Thị Lan",
                "mother_full_name_raw": unicodedata.normalize("NFD", "Phạm Thị Lan"),
            },
            # another tone placement: altered
            {
                "record_key": "KS-01-20250628-000002",
                "full_name": "Lê Thị Hòa",
                "full_name_raw": "Lê Thị Hoà",
            },
            {
                "record_key": "KS-01-20250628-000003",
                "full_name": "Đặng Văn Bình",
                "full_name_raw": "Đặng Văn Bình",
                "quarantine_reason_code": "DATE_UNPARSEABLE",
            },
            {
                "record_key": "KS-01-20250628-000004",
                "full_name": "Bùi Thu Trang",
                "full_name_raw": "Bùi Thu Trang",
            },
        )
    }
    discrepancies = {
        "civil_registration": disc_frame(
            ("civil_registration", "birth", "KS-01-20250628-000004", "sex", "2")
        )
    }
    clean = score(defects, outputs(staging=staging, discrepancies=discrepancies))["clean"]
    assert clean["records"] == 4
    assert clean["wrongly_changed"] == 3
    assert clean["rate"] == pytest.approx(0.75)
    assert clean["by_reason"] == {
        "quarantined": 1,
        "merged": 0,
        "discrepancy": 1,
        "name_altered": 1,
    }
    assert {e["record_key"] for e in clean["examples"]} == {
        "KS-01-20250628-000002",
        "KS-01-20250628-000003",
        "KS-01-20250628-000004",
    }


def test_missing_relations_count_as_not_handled_and_are_named():
    defects = truth(
        ("social_insurance", "insured_person", "0123456789", "ma_so_bhxh",
         "duplicate_near", "normalise", None, "0123456780", "0123456789"),
        ("civil_registration", "birth", "KS-01-20250630-001612", "so_dang_ky",
         "duplicate_exact", "normalise", None, "KS-01-20250630-001612", "KS-01-20250630-001612"),
        ("civil_registration", "death", "KT-22-20250629-000403", "ngay_sinh",
         "dob_conflict", "discrepancy", None, "1972-02-17", "7/2/1972"),
    )  # fmt: skip
    # Staging before the dedup work: no duplicate_of_record_key column.
    staging = {
        ("civil_registration", "birth"): births(
            {"record_key": "KS-01-20250630-001612", "full_name": "A", "full_name_raw": "A"}
        ).drop(columns="duplicate_of_record_key"),
        ("social_insurance", "insured_person"): None,
    }
    out = outputs(
        staging=staging,
        merged=None,
        discrepancies={"civil_registration": None},
        missing=[
            MERGED_RELATION,
            discrepancy_relation("civil_registration"),
            "staging.stg_social_insurance__insured_persons",
        ],
    )
    result = score(defects, out)
    assert {name: c["handled"] for name, c in result["classes"].items()} == {
        "dob_conflict": 0,
        "duplicate_exact": 0,
        "duplicate_near": 0,
    }
    notes = "\n".join(result["notes"])
    assert "quarantine.merged_duplicates does not exist" in notes
    assert "marts.discrepancies_civil_registration does not exist" in notes
    assert "stg_civil_registration__births has no column duplicate_of_record_key" in notes
    table = format_table(result)
    assert "duplicate_near" in table and "note: quarantine.merged_duplicates" in table


def test_name_columns_come_from_the_one_field_map():
    assert name_columns("civil_registration", "birth") == ["full_name", "mother_full_name"]
    assert name_columns("civil_registration", "marriage") == [
        "husband_full_name",
        "wife_full_name",
    ]
    assert name_columns("business_registry", "enterprise") == ["representative_full_name"]
    assert name_columns("education", "enrolment") == []


def test_linkage_is_scored_against_the_true_personal_id():
    from ndc.evaluate.score import score_linkage

    defects = pd.DataFrame(
        [
            ("civil_registration", "death", f"D{i}", "so_dinh_danh", cls, "quarantine",
             "PID_MISSING", f"00108500000{i}", "")
            for i, cls in enumerate(["pid_missing", "pid_malformed", "pid_missing", "pid_missing"])
        ],
        columns=["source", "entity", "record_key", "field", "defect_class", "expected_handling",
                 "reason_code", "clean_value", "raw_value"],
    )  # fmt: skip
    links = pd.DataFrame(
        [
            ("civil_registration", "death", "D0", "001085000000", "auto_link"),
            ("civil_registration", "death", "D1", "001085000009", "auto_link"),  # wrong
            ("civil_registration", "death", "D2", "001085000002", "review"),
            ("civil_registration", "death", "D3", None, "non_link"),
            ("civil_registration", "death", "OTHER", "001085000007", "auto_link"),  # no truth
        ],
        columns=["source", "entity", "record_key", "personal_id", "band"],
    )
    s = score_linkage(defects, links)
    assert (s["records"], s["auto_link"], s["auto_link_right"]) == (4, 2, 1)
    assert s["precision"] == 0.5 and s["recall"] == 0.25
    assert s["f1"] == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    assert (s["review"], s["review_right"], s["non_link"]) == (1, 1, 1)


def test_linkage_is_scored_per_hard_case_too():
    from ndc.evaluate.score import format_table, score_linkage

    defects = pd.DataFrame(
        [
            ("social_insurance", "insured_person", f"S{i}", "so_dinh_danh", "pid_missing",
             "quarantine", "PID_MISSING", f"00108500000{i}", "")
            for i in range(5)
        ]
        + [
            ("land_registry", "owner", "01-00000001/1", "so_dinh_danh", "pid_malformed",
             "quarantine", "PID_MALFORMED", "001085000005", "00108500005")
        ],
        columns=["source", "entity", "record_key", "field", "defect_class", "expected_handling",
                 "reason_code", "clean_value", "raw_value"],
    )  # fmt: skip
    cases = pd.DataFrame(
        [
            ("social_insurance", "insured_person", "S0", "dob_swap", "001085000000"),
            ("social_insurance", "insured_person", "S1", "dob_swap", "001085000001"),
            ("social_insurance", "insured_person", "S2", "common_name", "001085000002"),
            ("land_registry", "owner", "01-00000001/1", "reform_commune", "001085000005"),
        ],
        columns=["source", "entity", "record_key", "case", "personal_id"],
    )
    links = pd.DataFrame(
        [
            ("social_insurance", "insured_person", "S0", "001085000000", "auto_link"),
            ("social_insurance", "insured_person", "S1", "001085000001", "review"),
            ("social_insurance", "insured_person", "S2", "001085000009", "auto_link"),  # wrong
            ("social_insurance", "insured_person", "S3", "001085000003", "auto_link"),
            ("social_insurance", "insured_person", "S4", None, "non_link"),
            ("land_registry", "owner", "01-00000001/1", "001085000005", "auto_link"),
        ],
        columns=["source", "entity", "record_key", "personal_id", "band"],
    )
    s = score_linkage(defects, links, cases)
    assert (s["records"], s["auto_link"], s["auto_link_right"]) == (6, 4, 3)
    by_case = s["by_case"]
    assert set(by_case) == {"dob_swap", "common_name", "reform_commune", "plain"}
    reform = by_case["reform_commune"]
    assert (reform["records"], reform["auto_link_right"], reform["recall"]) == (1, 1, 1.0)
    swap = by_case["dob_swap"]
    assert (swap["records"], swap["auto_link_right"], swap["review"], swap["recall"]) == (
        2, 1, 1, 0.5,
    )  # fmt: skip
    common = by_case["common_name"]
    assert (common["auto_link"], common["auto_link_right"], common["precision"]) == (1, 0, 0.0)
    assert (by_case["plain"]["records"], by_case["plain"]["non_link"]) == (2, 1)
    # Without the case labels (an older country), no per-case scores.
    assert "by_case" not in score_linkage(defects, links)
    table = format_table(
        {"classes": {}, "clean": {"records": 0, "wrongly_changed": 0, "rate": 0.0}, "linkage": s}
    )
    assert "common_name" in table and "1 wrong" in table
    assert "  reform_commune     1 records: auto-linked 1 (0 wrong" in table
