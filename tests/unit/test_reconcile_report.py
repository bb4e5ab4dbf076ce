"""The batch balance and the report count merged duplicates next to conformed and quarantined rows."""

from ndc.reconcile import BatchBalance
from ndc.report import format_report


def _balance(conformed: int, quarantined: int, merged: int) -> BatchBalance:
    return BatchBalance(
        "births_01_20250610-483b4d552157", "civil_registration", "birth", 21, 21, 21,
        conformed, quarantined, merged,
    )  # fmt: skip


def test_merged_duplicates_count_towards_the_balance():
    assert _balance(18, 1, 2).balanced
    # Without the two merged rows the batch would be two short.
    assert not _balance(18, 1, 0).balanced
    # A merged row also counted as conformed is one too many.
    assert not _balance(19, 1, 2).balanced


def test_describe_names_the_merged_rows():
    assert _balance(18, 1, 0).describe() == (
        "batch births_01_20250610-483b4d552157 (civil_registration.birth): extracted 21, "
        "landed 21, loaded 21, conformed 18 + quarantined 1 + merged 0 = 19"
    )


def test_report_table_has_a_merged_column():
    entry = {"extracted": 21, "landed": 21, "loaded": 21, "conformed": 18, "quarantined": 1,
             "linked": 0, "merged": 2, "balanced": True, "batches": 1}  # fmt: skip
    report = {"sources": {"civil_registration": {"birth": entry}}, "population": {"citizens": 7}}
    header, _, row, *_ = format_report(report).splitlines()
    assert header.split() == [
        "source", "entity", "batches", "at_source", "extracted", "landed", "loaded",
        "conformed", "quarantined", "linked", "merged", "reconciliation",
    ]  # fmt: skip
    # No count at the source (batches landed before it was taken): "-", not a made-up 0.
    assert row.split() == ["civil_registration", "birth", "1", "-", "21", "21", "21", "18", "1",
                           "0", "2", "balanced"]  # fmt: skip


def test_linked_rows_count_towards_the_balance():
    # A row quarantined for its personal ID, then linked to a citizen, left quarantine.
    linked = BatchBalance(
        "deaths_01", "civil_registration", "death", 21, 21, 21, 18, 0, 2, linked=1
    )  # fmt: skip
    assert linked.balanced
    assert "quarantined 0 + linked 1 + merged 2 = 21" in linked.describe()


def test_the_sources_count_is_part_of_the_balance():
    """Reconciliation starts at the source: a batch the source counts one row more of than
    was extracted does not balance, even when everything extracted is accounted for."""
    counted = BatchBalance(
        "births_01", "civil_registration", "birth", 21, 21, 21, 18, 1, 2, at_source=22
    )  # fmt: skip
    assert not counted.balanced
    assert counted.describe().startswith(
        "batch births_01 (civil_registration.birth): at source 22, extracted 21, landed 21"
    )
    same = BatchBalance("b", "civil_registration", "birth", 21, 21, 21, 18, 1, 2, at_source=21)
    assert same.balanced
    # A batch landed before the source was counted balances on the rest.
    assert _balance(18, 1, 2).at_source is None and _balance(18, 1, 2).balanced
