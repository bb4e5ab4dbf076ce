"""Defect injection: rates, the ground-truth record of each defect, and value corruptors."""

from __future__ import annotations

import csv
import string
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields
from datetime import date
from pathlib import Path

import numpy as np

# Share of rows receiving each defect class, per source. Quarantine-class defects of one
# entity are mutually exclusive (a row gets at most one of them).
DEFAULT_DEFECT_RATES: dict[str, dict[str, float]] = {
    "civil_registration": {
        "pid_malformed": 0.02,
        "pid_missing": 0.02,
        "date_unparseable": 0.02,
    },
    "social_insurance": {
        "name_upper_no_diacritics": 0.30,
        "pid_malformed": 0.01,
    },
}

# defect_class -> (expected_handling, reason_code)
HANDLING: dict[str, tuple[str, str]] = {
    "pid_malformed": ("quarantine", "PID_MALFORMED"),
    "pid_missing": ("quarantine", "PID_MISSING"),
    "date_unparseable": ("quarantine", "DATE_UNPARSEABLE"),
    "name_upper_no_diacritics": ("normalise", ""),
}


@dataclass(frozen=True)
class Defect:
    """One injected defect, as written to truth/defects.csv."""

    source: str
    entity: str
    record_key: str
    field: str
    defect_class: str
    expected_handling: str
    reason_code: str
    clean_value: str
    raw_value: str


def make_defect(
    source: str, entity: str, key: str, field: str, defect_class: str, clean: str, raw: str
) -> Defect:
    """Build a Defect, looking up its expected handling and reason code."""
    handling, reason = HANDLING[defect_class]
    return Defect(source, entity, key, field, defect_class, handling, reason, clean, raw)


def merge_rates(overrides: Mapping[str, Mapping[str, float]] | None) -> dict[str, dict[str, float]]:
    """Return DEFAULT_DEFECT_RATES updated with the given per-source overrides (validated)."""
    rates = {src: dict(r) for src, r in DEFAULT_DEFECT_RATES.items()}
    for src, over in (overrides or {}).items():
        if src not in rates:
            raise ValueError(f"unknown source in defect rates: {src!r}")
        for cls, value in over.items():
            if cls not in rates[src]:
                raise ValueError(f"unknown defect class for {src}: {cls!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"defect rate {src}.{cls} must be in [0, 1], got {value}")
            rates[src][cls] = float(value)
    quarantine = sum(rates["civil_registration"].values())
    if quarantine > 1.0:
        raise ValueError("civil_registration defect rates must sum to at most 1")
    return rates


def malform_pid(rng: np.random.Generator, pid: str) -> str:
    """Corrupt a 12-digit ID: drop one digit (11 digits) or replace one digit by a letter."""
    pos = int(rng.integers(0, len(pid)))
    if rng.random() < 0.5:
        return pid[:pos] + pid[pos + 1 :]
    letter = str(rng.choice(list("OIlSBZ" + string.ascii_uppercase)))
    return pid[:pos] + letter + pid[pos + 1 :]


def unparseable_date(rng: np.random.Generator, d: date) -> str:
    """Return an invalid d/m/yyyy string derived from a real date."""
    variant = int(rng.integers(0, 3))
    if variant == 1 and d.day > 12:
        return f"{d.month}/{d.day}/{d.year}"  # month-first: month > 12
    if variant == 2:
        return f"??/{d.month}/{d.year}"
    return f"{int(rng.integers(30, 32))}/2/{d.year}"  # 30 or 31 February


def write_defects(path: Path, defects: list[Defect]) -> None:
    """Write the defects as a UTF-8 CSV sorted by source, entity, record key and field."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(defects, key=lambda d: (d.source, d.entity, d.record_key, d.field))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([f.name for f in fields(Defect)])
        writer.writerows(astuple(d) for d in ordered)
