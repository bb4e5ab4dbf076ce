"""Build and decode 12-digit personal ID numbers (số định danh cá nhân), layout PPP G YY NNNNNN."""

from __future__ import annotations

import re

import numpy as np

_PID_RE = re.compile(r"^\d{12}$")
_SEXES = ("male", "female")


def century_sex_digit(sex: str, birth_year: int) -> int:
    """Return the G digit: 2 * (century index) + (1 if female); 1900s male = 0."""
    if sex not in _SEXES:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    if not 1900 <= birth_year <= 2399:
        raise ValueError(f"birth year {birth_year} outside 1900-2399")
    return 2 * ((birth_year - 1900) // 100) + (sex == "female")


def build_personal_id(province_code: str, sex: str, birth_year: int, serial: int) -> str:
    """Build a personal ID from a legacy province code ('01' or '001'), sex, year, serial."""
    if re.fullmatch(r"\d{2}", province_code):
        prefix = "0" + province_code
    elif re.fullmatch(r"\d{3}", province_code):
        prefix = province_code
    else:
        raise ValueError(f"province code must be 2 or 3 digits, got {province_code!r}")
    if not 0 <= serial <= 999_999:
        raise ValueError(f"serial {serial} outside 0-999999")
    g = century_sex_digit(sex, birth_year)
    return f"{prefix}{g}{birth_year % 100:02d}{serial:06d}"


def decode_personal_id(pid: str) -> dict:
    """Decode a personal ID into province_code (2-digit legacy), prefix, sex, birth_year, serial."""
    if not isinstance(pid, str) or not _PID_RE.match(pid):
        raise ValueError(f"not a 12-digit personal ID: {pid!r}")
    prefix = pid[:3]
    g = int(pid[3])
    return {
        "province_code": prefix[1:] if prefix[0] == "0" else prefix,
        "province_prefix": prefix,
        "sex": "female" if g % 2 else "male",
        "birth_year": 1900 + 100 * (g // 2) + int(pid[4:6]),
        "serial": int(pid[6:]),
    }


def assign_personal_ids(
    rng: np.random.Generator,
    province_codes: list[str],
    sexes: list[str],
    birth_years: list[int],
    taken: set[str],
) -> list[str]:
    """Draw a unique personal ID for each person (updates `taken` in place)."""
    serials = rng.integers(0, 1_000_000, size=len(province_codes))
    out: list[str] = []
    for code, sex, year, serial in zip(province_codes, sexes, birth_years, serials, strict=True):
        pid = build_personal_id(code, sex, int(year), int(serial))
        while pid in taken:
            pid = build_personal_id(code, sex, int(year), int(rng.integers(0, 1_000_000)))
        taken.add(pid)
        out.append(pid)
    return out


def personal_id_ints(
    rng: np.random.Generator,
    province_codes: np.ndarray,
    female: np.ndarray,
    birth_years: np.ndarray,
    taken: np.ndarray | None = None,
) -> np.ndarray:
    """Vectorised: draw unique personal ID numbers as int64 (format with `format_pids`).

    `province_codes` are 2-digit codes ('01'); numbers already in `taken` are avoided.
    """
    years = np.asarray(birth_years, dtype=np.int64)
    g = 2 * ((years - 1900) // 100) + np.asarray(female, dtype=np.int64)
    base = np.asarray(province_codes).astype(np.int64) * 10**9 + g * 10**8 + (years % 100) * 10**6
    ids = base + rng.integers(0, 1_000_000, size=len(base))
    taken = np.zeros(0, dtype=np.int64) if taken is None else np.asarray(taken, dtype=np.int64)
    while True:
        order = np.argsort(ids, kind="stable")
        s = ids[order]
        dup = np.zeros(len(ids), dtype=bool)
        dup[order[1:][s[1:] == s[:-1]]] = True
        if len(taken):
            dup |= np.isin(ids, taken)
        if not dup.any():
            return ids
        ids[dup] = base[dup] + rng.integers(0, 1_000_000, size=int(dup.sum()))


def format_pids(ids: np.ndarray) -> np.ndarray:
    """Format int64 personal ID numbers as 12-digit strings (object array)."""
    return np.char.zfill(np.asarray(ids, dtype=np.int64).astype(str), 12).astype(object)
