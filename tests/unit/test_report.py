"""`ndc report`'s table for people: stages per source and entity, then discrepancies per agency."""

from ndc.report import DISCREPANCY_KINDS, format_report


def _report(discrepancies: dict | None) -> dict:
    entry = {"at_source": 16, "extracted": 16, "landed": 16, "loaded": 16, "conformed": 11,
             "quarantined": 4, "linked": 0, "merged": 1}  # fmt: skip
    report = {
        "sources": {
            "social_insurance": {"insured_person": {**entry, "balanced": True, "batches": 2}},
            "residence": {"household_member": {**entry, "balanced": False, "batches": 1}},
        },
        "population": {"citizens": 5},
    }
    if discrepancies is not None:
        report["discrepancies"] = discrepancies
    return report


def _counts(**by_kind: int) -> dict:
    kinds = dict.fromkeys(DISCREPANCY_KINDS, 0) | by_kind
    return {"total": sum(kinds.values()), "by_kind": kinds}


def test_stage_table_and_verdicts_are_unchanged():
    lines = format_report(_report(None)).splitlines()
    assert lines[0].split() == [
        "source", "entity", "batches", "at_source", "extracted", "landed", "loaded",
        "conformed", "quarantined", "linked", "merged", "reconciliation",
    ]  # fmt: skip
    assert lines[2].split() == ["social_insurance", "insured_person", "2", "16", "16", "16", "16", "11", "4", "0", "1", "balanced"]  # fmt: skip
    assert lines[3].split()[-2:] == ["NOT", "BALANCED"]
    assert lines[-1] == "population database: 5 citizens"


def test_discrepancies_per_agency_by_kind():
    text = format_report(
        _report(
            {
                "social_insurance": _counts(date_of_birth=26, pid_sex_year=30, dead_still_active=8),
                "residence": _counts(dead_still_active=13, admin_unit_ambiguous=1),
            }
        )
    )
    table = text.split("population database: 5 citizens\n\n", 1)[1].splitlines()
    assert table[0].split() == ["discrepancies", "to", "send", "back", "total", *DISCREPANCY_KINDS]
    assert table[2].split() == ["social_insurance", "64", "26", "0", "0", "8", "30", "0"]
    assert table[3].split() == ["residence", "14", "0", "0", "0", "13", "0", "1"]
    # Numbers are right-aligned under their kind.
    assert table[0].index("admin_unit_ambiguous") + len("admin_unit_ambiguous") == len(table[3])


def test_schema_drift_names_the_columns_and_the_rows_kept_in_raw():
    report = _report(None)
    report["schema_drift"] = {
        "residence.household_member": {
            "columns": ["email", "ghi_chu"],
            "since": "2025-06-01T08:00:00.123+00:00",
            "rows": 12,
        }
    }
    assert format_report(report).splitlines()[-1] == (
        "schema drift: residence.household_member sends undeclared column(s) email, ghi_chu "
        "(since 2025-06-01T08:00:00; 12 row(s) with values, kept in "
        "raw.residence__household_member._extra, not conformed: declare them in "
        "include/sources/residence.yaml to conform them)"
    )
