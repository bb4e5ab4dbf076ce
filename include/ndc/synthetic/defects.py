"""Defect injection: classes and rates (from include/dictionary/defect_classes.yaml), the
ground-truth log of every injected defect, and the value corruptors."""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

DEFECT_CLASSES_FILE = Path(__file__).resolve().parents[2] / "dictionary" / "defect_classes.yaml"
HANDLINGS = ("normalise", "quarantine", "discrepancy")
COLUMNS = (
    "source",
    "entity",
    "record_key",
    "field",
    "defect_class",
    "expected_handling",
    "reason_code",
    "clean_value",
    "raw_value",
)


@dataclass(frozen=True)
class DefectClass:
    """One entry of defect_classes.yaml."""

    name: str
    description: str
    expected_handling: str
    reason_code: str
    default_rates: dict[str, float | None]


@lru_cache(maxsize=1)
def defect_classes() -> dict[str, DefectClass]:
    """Read and validate the documented defect classes."""
    doc = yaml.safe_load(DEFECT_CLASSES_FILE.read_text(encoding="utf-8"))
    out: dict[str, DefectClass] = {}
    for entry in doc["defect_classes"]:
        cls = DefectClass(
            name=entry["name"],
            description=" ".join(str(entry["description"]).split()),
            expected_handling=entry["expected_handling"],
            reason_code=entry.get("reason_code") or "",
            default_rates=dict(entry.get("default_rates") or {}),
        )
        if cls.expected_handling not in HANDLINGS:
            raise ValueError(f"{DEFECT_CLASSES_FILE}: {cls.name}: bad expected_handling")
        if (cls.expected_handling == "quarantine") != bool(cls.reason_code):
            raise ValueError(f"{DEFECT_CLASSES_FILE}: {cls.name}: reason_code iff quarantine")
        if cls.name in out:
            raise ValueError(f"{DEFECT_CLASSES_FILE}: {cls.name} listed twice")
        out[cls.name] = cls
    return out


def _default_rates() -> dict[str, dict[str, float]]:
    rates: dict[str, dict[str, float]] = {}
    for cls in defect_classes().values():
        for source, rate in cls.default_rates.items():
            if rate is not None:
                rates.setdefault(source, {})[cls.name] = float(rate)
    return rates


# Share of eligible rows receiving each defect class, per source (from the YAML).
DEFAULT_DEFECT_RATES: dict[str, dict[str, float]] = _default_rates()
# defect_class -> (expected_handling, reason_code)
HANDLING: dict[str, tuple[str, str]] = {
    c.name: (c.expected_handling, c.reason_code) for c in defect_classes().values()
}
NAME_CLASSES = (
    "name_upper_no_diacritics",
    "name_no_diacritics",
    "name_upper",
    "name_nfd",
    "name_mojibake",
)


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
    for src, r in rates.items():
        groups: dict[str, float] = {}
        for c, v in r.items():
            group = (
                c
                if c == "dead_still_active"
                else c.split("_")[0]
                if c.startswith(("name_", "admin_"))
                else "row"
            )
            groups[group] = groups.get(group, 0.0) + v
        for group, total in groups.items():
            if total > 1.0 + 1e-9:
                raise ValueError(
                    f"{src} defect rates of one exclusive group ({group}) must sum to at most 1"
                )
    return rates


class DefectLog:
    """Column-wise collector of injected defects (cheap at millions of rows)."""

    def __init__(self) -> None:
        from ndc.synthetic.linkage_cases import CaseLog

        self._rows: list[tuple[str, ...]] = []
        self.eligible: dict[tuple[str, str], int] = {}
        # Hard linkage cases among the ID-less records (truth/linkage_cases.parquet).
        self.cases = CaseLog()

    def count_eligible(self, source: str, cls: str, n: int) -> None:
        """Add n rows that could have received the class (the denominator of its rate)."""
        self.eligible[(source, cls)] = self.eligible.get((source, cls), 0) + int(n)

    def add(
        self,
        source: str,
        entity: str,
        keys: Sequence[str],
        field: str | Sequence[str],
        defect_class: str,
        clean: Sequence[str | None],
        raw: Sequence[str | None],
    ) -> None:
        """Record defects of one class on one field (or per-row fields)."""
        handling, reason = HANDLING[defect_class]
        fields = [field] * len(keys) if isinstance(field, str) else list(field)
        for k, f, c, r in zip(keys, fields, clean, raw, strict=True):
            self._rows.append(
                (
                    source,
                    entity,
                    str(k),
                    f,
                    defect_class,
                    handling,
                    reason,
                    "" if c is None else str(c),
                    "" if r is None else str(r),
                )
            )

    def __len__(self) -> int:
        return len(self._rows)

    def frame(self) -> pd.DataFrame:
        """All defects, sorted by source, entity, record key, field and class."""
        rows = sorted(self._rows, key=lambda r: (r[0], r[1], r[2], r[3], r[4]))
        return pd.DataFrame(
            {c: pd.Series([r[i] for r in rows], dtype=object) for i, c in enumerate(COLUMNS)}
        )


def write_defects(directory: Path, frame: pd.DataFrame) -> None:
    """Write truth/defects.parquet and truth/defects.csv (UTF-8, \\n line endings)."""
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {c: pa.array(frame[c].tolist(), type=pa.string()) for c in COLUMNS},
    )
    pq.write_table(table, directory / "defects.parquet")
    frame.to_csv(directory / "defects.csv", index=False, lineterminator="\n", encoding="utf-8")


# --------------------------------------------------------------------------- corruptors


def pick_classes(
    rng: np.random.Generator,
    n: int,
    classes: Sequence[str],
    rates: Mapping[str, float],
    eligible: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Give each of n rows at most one class from `classes` (index, -1 for none).

    One uniform draw per row is cut into consecutive intervals of the classes' rates, so a
    class's count is Binomial(eligible rows, rate). A row outside a class's `eligible` mask
    that draws it gets no defect.
    """
    u = rng.random(n)
    out = np.full(n, -1, dtype=np.int64)
    lo = 0.0
    for i, cls in enumerate(classes):
        hi = lo + rates.get(cls, 0.0)
        hit = (u >= lo) & (u < hi)
        if eligible is not None and cls in eligible:
            hit &= eligible[cls]
        out[hit] = i
        lo = hi
    return out


def malform_pid(rng: np.random.Generator, pid: str) -> str:
    """Corrupt a 12-digit ID: drop one digit (11 digits) or replace one digit by a letter."""
    # Never the first digit: a number that lost its leading zero is spreadsheet damage,
    # repaired (pid_spreadsheet), not a malformed number.
    pos = int(rng.integers(1, len(pid)))
    if rng.random() < 0.5:
        return pid[:pos] + pid[pos + 1 :]
    letter = str(rng.choice(list("OIlSBZ" + string.ascii_uppercase)))
    return pid[:pos] + letter + pid[pos + 1 :]


# Three-digit prefixes that are no province code in either code system.
UNKNOWN_PID_PREFIXES = ("003", "005", "007", "009", "013", "016", "018", "021", "023", "028")
UNKNOWN_PID_PREFIXES += ("029", "032", "039", "041", "043", "047", "050", "053", "055", "057")
UNKNOWN_PID_PREFIXES += ("059", "061", "063", "065", "069", "071", "073", "076", "078", "081")
UNKNOWN_PID_PREFIXES += ("085", "088", "090", "097", "098", "099", "100", "250", "500", "999")


def unknown_province_pid(rng: np.random.Generator, pid: str) -> str:
    """Replace the province prefix by one that names no province."""
    return str(rng.choice(UNKNOWN_PID_PREFIXES)) + pid[3:]


def sex_year_mismatch_pid(rng: np.random.Generator, pid: str) -> str:
    """Flip the sex parity of G, or change the two year digits (still 12 digits)."""
    if rng.random() < 0.5:
        g = int(pid[3])
        return pid[:3] + str(g ^ 1) + pid[4:]
    yy = (int(pid[4:6]) + int(rng.integers(1, 10))) % 100
    return pid[:4] + f"{yy:02d}" + pid[6:]


def unparseable_date(rng: np.random.Generator, d: date) -> str:
    """Return an invalid d/m/yyyy string derived from a real date."""
    variant = int(rng.integers(0, 3))
    if variant == 1 and d.day > 12:
        return f"{d.month}/{d.day}/{d.year}"  # month-first: month > 12
    if variant == 2:
        return f"??/{d.month}/{d.year}"
    return f"{int(rng.integers(30, 32))}/2/{d.year}"  # 30 or 31 February


def future_date(rng: np.random.Generator, d: date) -> date:
    """A mistyped year well after any plausible load date (2050 onwards)."""
    year = 2050 + int(rng.integers(0, 50))
    return date(year, d.month, min(d.day, 28))


def conflicting_date(rng: np.random.Generator, d: date) -> date:
    """A plausible but wrong date of birth: day and month swapped, or a year or a few days off."""
    variant = int(rng.integers(0, 3))
    if variant == 0 and d.day <= 12 and d.day != d.month:
        return date(d.year, d.day, d.month)
    if variant == 1:
        return date(d.year - int(rng.choice([-1, 1])), d.month, min(d.day, 28))
    return date.fromordinal(d.toordinal() + int(rng.choice([-3, -2, -1, 1, 2, 3])) * 10)


def mojibake(text: str) -> str:
    """UTF-8 bytes read as cp1252 (undecodable bytes kept as Latin-1)."""
    data = unicodedata.normalize("NFC", text).encode("utf-8")
    return "".join(
        bytes([b]).decode("cp1252", errors="ignore") or chr(b) if b >= 0x80 else chr(b)
        for b in data
    )


def nfd(text: str) -> str:
    """Decomposed Unicode."""
    return unicodedata.normalize("NFD", text)


FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def spreadsheet_pid(rng: np.random.Generator, pid: str, unicode: bool = True) -> str:
    """A 12-digit ID as a spreadsheet leaves it: leading zeros lost (stored as a number), a
    leading apostrophe, separators, or full-width digits (only in a Unicode file)."""
    variant = int(rng.integers(0, 4 if unicode else 3))
    if variant == 0:
        return pid.lstrip("0")
    if variant == 1:
        return "'" + pid
    if variant == 2:
        sep = str(rng.choice([" ", ".", "-"]))
        return sep.join((pid[:3], pid[3:6], pid[6:9], pid[9:]))
    return pid.translate(FULL_WIDTH_DIGITS)


def zero_part_date(rng: np.random.Generator, d: date) -> tuple[str, str]:
    """A date whose unknown day (or day and month) is written as zero: (raw, clean), clean
    "YYYY-MM" for month precision or "YYYY" for year precision."""
    if rng.random() < 0.6:
        day = "00" if rng.random() < 0.7 else "0"
        return f"{day}/{d.month:02d}/{d.year}", f"{d.year}-{d.month:02d}"
    return f"00/00/{d.year}", str(d.year)


def separator_date(rng: np.random.Generator, d: date) -> str:
    """d/m/yyyy with dots, dashes or spaces, or with a time part."""
    variant = int(rng.integers(0, 4))
    if variant == 3:
        return f"{d.day:02d}/{d.month:02d}/{d.year} 00:00:00"
    sep = ".-"[variant] if variant < 2 else " "
    return f"{d.day}{sep}{d.month}{sep}{d.year}"


INVISIBLE = ("\u200b", "\u200c", "\u200d", "\ufeff")


def invisible_name(rng: np.random.Generator, name: str) -> str:
    """Zero-width characters or a BOM inside the name, or a no-break space between words."""
    if " " in name and rng.random() < 0.3:
        return name.replace(" ", "\u00a0", 1)
    pos = int(rng.integers(0, len(name) + 1))
    return name[:pos] + str(rng.choice(INVISIBLE)) + name[pos:]


def lossy_name(name: str) -> str:
    """Every marked letter replaced by "?", as a conversion to a code page without it does."""
    return "".join(c if c.isascii() else "?" for c in unicodedata.normalize("NFC", name))


def international_phone(rng: np.random.Generator, national: str) -> str:
    """A Vietnamese number (its national significant number, no leading 0) written the ways
    exports write it: +84 with spaces, 0084, a "(0)" after the country code, dots, dashes."""
    a, b, c = national[:-7], national[-7:-4], national[-4:]
    variant = int(rng.integers(0, 5))
    if variant == 0:
        return f"+84 {a} {b} {c}"
    if variant == 1:
        return f"0084{national}"
    if variant == 2:
        return f"+84(0){national}"
    if variant == 3:
        return f"(+84) {a}-{b}-{c}"
    return f"84.{a}.{b}.{c}"
