"""Communes in 2025 codes: a legacy ward becomes the 2025 commune(s) it was merged or split into.

Read from the dictionary's code lists (include/dictionary/code_lists/), the tables the dbt seeds
are built from. A split legacy ward maps to several communes: linkage compares against all of
them rather than guessing one (docs/domain.md, "flag, don't guess").
"""

from __future__ import annotations

import csv
from functools import lru_cache

from ndc.settings import DICTIONARY_DIR

CODE_LISTS = DICTIONARY_DIR / "code_lists"


@lru_cache(maxsize=1)
def _legacy_to_2025() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    with open(CODE_LISTS / "admin_units_legacy_to_2025.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            targets = out.setdefault(row["legacy_ward_code"], [])
            if row["new_commune_code"] not in targets:
                targets.append(row["new_commune_code"])
    return {k: tuple(sorted(v)) for k, v in out.items()}


@lru_cache(maxsize=1)
def _province_of_commune() -> dict[str, str]:
    with open(CODE_LISTS / "admin_units_2025.csv", encoding="utf-8", newline="") as fh:
        return {row["commune_code"]: row["province_code"] for row in csv.DictReader(fh)}


def commune_options(code: str | None, code_system: str | None) -> tuple[str, ...]:
    """The 2025 commune codes a (code, code system) can mean; () when unknown or empty.

    'either' is a code whose row cannot tell its system (2025 codes reuse legacy ward codes for
    other places): the 2025 commune it names and those the legacy ward of that code became,
    all of them, never one guessed.
    """
    if code is None or str(code).strip() == "":
        return ()
    code = str(code).strip().zfill(5)
    system = (code_system or "2025").strip()
    if system == "2025":
        return (code,) if code in _province_of_commune() else ()
    if system == "legacy":
        return _legacy_to_2025().get(code, ())
    if system == "either":
        as_2025 = (code,) if code in _province_of_commune() else ()
        return tuple(sorted({*as_2025, *_legacy_to_2025().get(code, ())}))
    raise ValueError(
        f"commune_code_system must be '2025', 'legacy' or 'either', got {code_system!r}"
    )


def province_of_2025(commune_code: str) -> str | None:
    """The 2025 province of a 2025 commune code."""
    return _province_of_commune().get(commune_code)
