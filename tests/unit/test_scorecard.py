"""What operators read of the scorecard: the failing figures and the per-property summary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ndc.scorecard import Figure, missed, summary


def _figure(measure, prop, value, target, met, status="measured", direction="at_least", **kw):
    return Figure(
        kw.get("source", "civil_registration"),
        kw.get("entity", "birth"),
        date(2025, 7, 2),
        prop,
        measure,
        None if value is None else Decimal(value),
        Decimal(target),
        direction,
        met,
        kw.get("numerator"),
        kw.get("denominator"),
        status,
    )


FIGURES = [
    _figure("conformed_share", "clean", "0.91", "0.95", False, numerator=91, denominator=100),
    _figure("conformed_share", "clean", "0.99", "0.95", True, entity="death"),
    _figure("schedule_lag_days", "live", "0", "0", True, direction="at_most"),
    _figure("population_coverage", "sufficient", None, "0.95", None, status="not_measured"),
]


def test_a_missed_target_names_the_agency_the_measure_and_the_figure():
    (failing,) = missed(FIGURES)
    line = failing.describe("Ministry of Justice (Bộ Tư pháp)")
    assert line == (
        "Ministry of Justice (Bộ Tư pháp) (civil_registration): civil_registration.birth "
        "clean/conformed_share on 2025-07-02 is 0.91 (91 of 100), target >= 0.95"
    )


def test_the_summary_gives_each_property_its_verdict_and_worst_figure():
    props = summary(FIGURES)["civil_registration"]
    assert props["clean"]["met"] is False
    assert props["clean"]["worst"] == {
        "entity": "birth",
        "measure": "conformed_share",
        "value": 0.91,
        "target": 0.95,
    }
    assert props["live"]["met"] is True
    assert props["sufficient"] == {
        "day": "2025-07-02",
        "met": None,
        "status": "not_measured",
        "worst": None,
    }
    assert props["correct"]["status"] == "not_applicable"


def test_the_report_shows_met_or_the_missed_figure_per_property():
    from ndc.report import format_report

    text = format_report(
        {
            "sources": {},
            "population": {"citizens": 0},
            "scorecard": summary(FIGURES),
        }
    )
    (row,) = [line for line in text.splitlines() if line.startswith("civil_registration")]
    assert "MISSED conformed_share 0.91 < 0.95" in row
    assert "met" in row and "not measured" in row and "not applicable" in row
