"""Hard cases for linkage among the records without a usable personal ID.

A death or insured-person record whose personal ID is missing, malformed or of an unknown
province is quarantined for it and then linked by name, date of birth and sex
(``ndc.linkage.flow``). Some of those records are made harder the way real registers are, and
each is labelled in ``truth/linkage_cases.parquet`` (source, entity, record key, case, the
personal ID of the person the record belongs to), so ``ndc evaluate`` can score linkage per case:

- ``dob_swap``: day and month of the date of birth swapped (a day <= 12);
- ``no_marks``: the name typed without marks, in proper case (``Nguyen Van An``);
- ``common_name``: nothing changed, but the person's name (without marks) is shared with
  another person of the country.

The record keeps its personal-ID defect (truth/defects.parquet), whose handling is unchanged: it
is quarantined with the reason, and linkage may take it out. Cases are drawn from their own
random stream, so the rest of the country is the same bytes as without them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ndc.synthetic.names import legacy_upper, strip_marks

CASES = ("dob_swap", "no_marks", "common_name")
# Share of the ID-less records given each changing case (draw order); a record that cannot
# take the drawn case (a day above 12, a name without marks) is left as it is.
SHARES = {"dob_swap": 0.25, "no_marks": 0.25}
# The defects that leave a record without a usable personal ID.
ID_LESS = ("pid_missing", "pid_malformed", "pid_unknown_province")
COLUMNS = ("source", "entity", "record_key", "case", "personal_id")
FILE = "linkage_cases.parquet"


def swapped(d: date) -> date | None:
    """The date with day and month swapped; None when that is no other valid date."""
    if d.day > 12 or d.day == d.month:
        return None
    return date(d.year, d.day, d.month)


class CaseLog:
    """The hard cases given, and the name keys shared in the population (cached by size)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []
        self._shared: set[str] = set()
        self._size = -1

    def shared_names(self, names: np.ndarray) -> set[str]:
        """Name keys (no marks, upper case) held by at least two persons of ``names``."""
        if len(names) != self._size:
            counts = Counter(legacy_upper(n) for n in names if isinstance(n, str))
            self._shared = {k for k, c in counts.items() if c > 1}
            self._size = len(names)
        return self._shared

    def pick(
        self,
        rng: np.random.Generator,
        name: str,
        dob: date,
        names: np.ndarray,
        *,
        can_strip: bool = True,
        can_swap: bool = True,
    ) -> str | None:
        """The case of one ID-less record: a changing case by its share (when the record can
        take it), else common_name when its name is shared, else none. Always one draw."""
        u = rng.random()
        if u < SHARES["dob_swap"]:
            if can_swap and swapped(dob) is not None:
                return "dob_swap"
        elif u < SHARES["dob_swap"] + SHARES["no_marks"]:
            if can_strip and strip_marks(name) != name:
                return "no_marks"
        return "common_name" if legacy_upper(name) in self.shared_names(names) else None

    def add(self, source: str, entity: str, key: str, case: str, personal_id: str) -> None:
        self.rows.append((source, entity, str(key), case, str(personal_id)))

    def frame(self) -> pd.DataFrame:
        rows = sorted(self.rows)
        return pd.DataFrame(
            {c: pd.Series([r[i] for r in rows], dtype=object) for i, c in enumerate(COLUMNS)}
        )

    def write(self, directory: Path) -> None:
        """Write truth/linkage_cases.parquet."""
        frame = self.frame()
        table = pa.table({c: pa.array(frame[c].tolist(), type=pa.string()) for c in COLUMNS})
        pq.write_table(table, Path(directory) / FILE)
