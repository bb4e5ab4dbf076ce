"""The columns person records are compared on: name keys, dates with their precision, communes.

Both sides of a linkage (the records to link and the population) go through `prepare_persons`,
so every comparison reads the same derived columns.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from ndc.linkage.admin import commune_options, province_of_2025

# The Vietnamese tone and vowel marks, as in dbt_project/macros/conform.sql (name_match_key):
# grave, acute, tilde, hook above, dot below, breve, circumflex, horn.
_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0306", "\u0302", "\u031b"}
_SPACE = re.compile(r"\s+")
PRECISIONS = ("day", "month", "year")


@lru_cache(maxsize=200_000)
def clean_name(name: str | None) -> str | None:
    """NFC, single spaces, lower case: the name as written, marks kept."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    text = _SPACE.sub(" ", unicodedata.normalize("NFC", str(name))).strip().lower()
    return text or None


@lru_cache(maxsize=200_000)
def name_match_key(name: str | None) -> str | None:
    """The matching key of dbt's name_match_key: no marks, Đ -> D, upper case, single spaces."""
    text = clean_name(name)
    if text is None:
        return None
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if c not in _MARKS)
    return unicodedata.normalize("NFC", bare).replace("đ", "d").upper()


def has_marks(name: str | None) -> bool:
    """Does the name carry any tone or vowel mark (or Đ)?"""
    text = clean_name(name)
    return text is not None and name_match_key(text) != text.upper()


def split_name(name: str | None) -> tuple[str | None, str | None, str | None]:
    """(family, middle, given) of a Vietnamese full name; middle is None for two words."""
    text = clean_name(name)
    if text is None:
        return None, None, None
    words = text.split(" ")
    if len(words) == 1:
        return None, None, words[0]
    middle = " ".join(words[1:-1]) or None
    return words[0], middle, words[-1]


def date_parts(value, precision: str | None) -> tuple[str | None, str | None, str | None]:
    """(yyyymmdd, yyyymm, yyyy) of a date known to `precision` (day, month or year).

    A year-only date of birth is stored as 1 January (docs/domain.md#dates): only its year is
    compared; a month-precision date gives its year and month.
    """
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None, None, None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None, None, None
    precision = precision or "day"
    if precision not in PRECISIONS:
        raise ValueError(f"date_of_birth_precision must be one of {PRECISIONS}, got {precision!r}")
    year = f"{stamp.year:04d}"
    month = f"{year}{stamp.month:02d}" if precision in ("day", "month") else None
    day = f"{month}{stamp.day:02d}" if precision == "day" else None
    return day, month, year


def _column(frame: pd.DataFrame, name: str, default=None) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype(object).where(frame[name].notna(), None)
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def prepare_persons(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """The comparison columns of person records (either side of a linkage).

    Input columns (all but the id optional): full_name, date_of_birth (date or ISO text),
    date_of_birth_precision (day, month, year; default day), sex_code ('1' male, '2' female,
    '0' or empty unknown), commune_code with commune_code_system ('2025', the default, or
    'legacy': a legacy ward code, converted to the 2025 commune(s) it became), mother_name.
    """
    n = len(frame)
    names = _column(frame, "full_name")
    parts = [split_name(x) for x in names]
    prec = _column(frame, "date_of_birth_precision", "day")
    dates = [date_parts(v, p) for v, p in zip(_column(frame, "date_of_birth"), prec, strict=True)]
    sex = _column(frame, "sex_code").map(lambda s: str(s).strip() if s is not None else None)
    systems = _column(frame, "commune_code_system", "2025")
    communes = _column(frame, "commune_code")
    options = [commune_options(c, s) for c, s in zip(communes, systems, strict=True)]
    mothers = _column(frame, "mother_name")
    mother_parts = [split_name(x) for x in mothers]
    out = pd.DataFrame(
        {
            "unique_id": frame[id_column].astype(str).to_numpy(),
            "name": [clean_name(x) for x in names],
            "name_key": [name_match_key(x) for x in names],
            "name_unmarked": [x is not None and not has_marks(x) for x in names],
            "family": [p[0] for p in parts],
            "middle": [p[1] for p in parts],
            "given": [p[2] for p in parts],
            "family_key": [name_match_key(p[0]) for p in parts],
            "middle_key": [name_match_key(p[1]) for p in parts],
            "given_key": [name_match_key(p[2]) for p in parts],
            "dob": [d[0] for d in dates],
            "dob_ym": [d[1] for d in dates],
            "dob_year": [d[2] for d in dates],
            "dob_precision": [
                None if d[2] is None else (p or "day") for d, p in zip(dates, prec, strict=True)
            ],
            "sex": [s if s in ("1", "2") else None for s in sex],
            "commune_2025": [o[0] if len(o) == 1 else None for o in options],
            "commune_options": [list(o) if o else None for o in options],
            "province_2025": [province_of_2025(o[0]) if o else None for o in options],
            "mother_key": [name_match_key(x) for x in mothers],
            "mother_given_key": [name_match_key(p[2]) for p in mother_parts],
        },
        index=range(n),
    )
    # Typed even when a column is all empty (no record names a mother): DuckDB then binds the
    # comparisons' string functions to VARCHAR, not to a column of NULL numbers.
    text = [c for c in out.columns if c not in ("name_unmarked", "commune_options")]
    return out.astype({c: "string" for c in text})
