"""The six-property quality scorecard as operators read it: the latest day of
``marts.quality_scorecard`` per source and entity, the figures that miss their target (the
``quality_scorecard`` DAG fails on them), and the per-property summary of ``ndc report``.

The measures and targets are defined once, in ``include/dictionary/quality_measures.yaml``;
dbt computes them (``dbt_project/models/marts/quality``); this module only reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ndc.dictionary.measures import PROPERTIES
from ndc.warehouse import connect

SCORECARD_TABLE = "marts.quality_scorecard"
# The scorecard's source of the shared measures: the data products the platform delivers, the
# product as the entity (dbt_project/models/marts/quality/quality_scorecard.sql).
SHARING_SOURCE = "sharing"

# Per source and entity, the rows of its latest day (the newest extraction day it delivered).
_LATEST = """
select s.source, s.entity, s.day, s.property, s.measure, s.value, s.target, s.direction,
       s.met, s.numerator, s.denominator, s.status
from marts.quality_scorecard s
join (
    select source, entity, max(day) as day from marts.quality_scorecard
    where %(source)s::text is null or source = %(source)s
    group by source, entity
) latest using (source, entity, day)
order by s.source, s.entity, s.measure
"""


class ScorecardError(RuntimeError):
    """An agency's latest figures miss their targets; the message names each one."""


@dataclass(frozen=True)
class Figure:
    source: str
    entity: str
    day: date
    property: str
    measure: str
    value: Decimal | None
    target: Decimal
    direction: str
    met: bool | None
    numerator: int | None
    denominator: int | None
    status: str

    def describe(self, agency: str | None = None) -> str:
        """One line an operator acts on: the agency, the measure and the figure."""
        sign = ">=" if self.direction == "at_least" else "<="
        who = f"{agency} ({self.source})" if agency else self.source
        counts = (
            f" ({self.numerator} of {self.denominator})"
            if self.numerator is not None and self.denominator is not None
            else ""
        )
        return (
            f"{who}: {self.source}.{self.entity} {self.property}/{self.measure} on {self.day} "
            f"is {_number(self.value)}{counts}, target {sign} {_number(self.target)}"
        )


def _number(value) -> str:
    if value is None:
        return "null"
    return f"{Decimal(value).normalize():f}"


def scorecard_exists(conn) -> bool:
    return conn.execute("select to_regclass(%s)", (SCORECARD_TABLE,)).fetchone()[0] is not None


def latest_figures(warehouse_url: str, source: str | None = None) -> list[Figure]:
    """The latest day's figures of every source and entity (of one source with ``source``);
    none while the scorecard is not built."""
    with connect(warehouse_url) as conn:
        if not scorecard_exists(conn):
            return []
        return [Figure(*row) for row in conn.execute(_LATEST, {"source": source})]


def missed(figures: list[Figure]) -> list[Figure]:
    """The measured figures that miss their target."""
    return [f for f in figures if f.status == "measured" and f.met is False]


def check_source(warehouse_url: str, source: str, agency: str | None = None) -> list[Figure]:
    """The source's latest figures; raise ScorecardError naming the agency, each measure and
    its figure when one misses its target, or when the scorecard holds nothing for it."""
    figures = latest_figures(warehouse_url, source)
    if not figures:
        raise ScorecardError(
            f"{agency or source}: {SCORECARD_TABLE} holds no figures for {source} "
            "(not built, or the source has delivered nothing yet)"
        )
    failing = missed(figures)
    if failing:
        raise ScorecardError(
            f"{len(failing)} figure(s) of {agency or source} miss their target:\n"
            + "\n".join(f.describe(agency) for f in failing)
        )
    return figures


def check_sharing(warehouse_url: str, consumers: dict[str, str]) -> list[Figure]:
    """The latest delivery period's shared figures of every data product delivered so far;
    raise ScorecardError naming each product, its consumer (``consumers``: product -> the
    consumer's name) and the figure when one misses its target. None delivered yet: no
    figures, and nothing to fail (a product's DAG is off until an operator turns it on)."""
    figures = latest_figures(warehouse_url, SHARING_SOURCE)
    failing = missed(figures)
    if failing:
        raise ScorecardError(
            f"{len(failing)} delivery figure(s) of the National Data Center miss their target:\n"
            + "\n".join(
                f.describe(f"deliveries to {consumers.get(f.entity, 'an unregistered consumer')}")
                for f in failing
            )
        )
    return figures


def summary(figures: list[Figure]) -> dict:
    """Per source and property: the latest day, whether every measured figure meets its
    target (None when none was measured), and the worst figure with its measure."""
    out: dict[str, dict[str, dict]] = {}
    for source in sorted({f.source for f in figures}):
        out[source] = {}
        for prop in PROPERTIES:
            rows = [f for f in figures if f.source == source and f.property == prop]
            measured = [f for f in rows if f.status == "measured"]
            entry: dict = {
                "day": max((f.day for f in rows), default=None),
                "met": all(f.met for f in measured) if measured else None,
                "status": "measured" if measured else _status(rows),
                "worst": None,
            }
            if measured:
                worst = min(
                    measured,
                    key=lambda f: (f.met, f.value if f.direction == "at_least" else -f.value),
                )
                entry["worst"] = {
                    "entity": worst.entity,
                    "measure": worst.measure,
                    "value": float(worst.value),
                    "target": float(worst.target),
                }
            if entry["day"] is not None:
                entry["day"] = entry["day"].isoformat()
            out[source][prop] = entry
    return out


def _status(rows: list[Figure]) -> str:
    if not rows:
        return "not_applicable"
    return "not_measured" if all(f.status == "not_measured" for f in rows) else "no_data"
