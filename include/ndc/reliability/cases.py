"""The shape of a fault-injection case and of its result.

A case module exposes ``CASES: list[FaultCase]``. ``FaultCase.run`` receives a
:class:`CaseContext` (a clean, isolated stack of its own: settings, a work directory, a log
function) and returns a :class:`CaseResult`. ``bounded`` cases are cheap enough for CI; the
others run in ``make reliability``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CaseContext:
    """What a case runs in: its own settings (databases, landing zone, ports), a work
    directory, and a log function for per-stage lines."""

    settings: Any  # ndc.settings.Settings
    work: Path
    log: Callable[[str], None] = print
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseResult:
    """One row of the reliability table."""

    case: str
    rows_lost: int
    rows_duplicated: int
    recovered: bool  # by itself (retry, the next run), without an operator
    recover_s: float | None  # from the fault to the state equal to the clean run
    operator_saw: str = ""  # what the operator saw: the task's state and message
    operator_action: str | None = None  # what the operator had to do, when not recovered
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultCase:
    name: str
    what: str  # the fault, for people
    run: Callable[[CaseContext], CaseResult]
    bounded: bool = False  # cheap enough for CI


def row_multiset_diff(clean: Iterable[tuple], faulty: Iterable[tuple]) -> tuple[int, int]:
    """(rows lost, rows duplicated) of a faulty run's rows against a clean run's, each row a
    tuple of its content (without batch ids and load times). A row of the clean run missing
    from the faulty one is lost; every extra copy in the faulty run is a duplicate."""
    want, got = Counter(clean), Counter(faulty)
    lost = sum((want - got).values())
    duplicated = sum((got - want).values())
    return lost, duplicated
