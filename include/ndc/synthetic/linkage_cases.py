"""Hard cases for linkage among the records without a usable personal ID.

A death, insured-person or land-owner record whose personal ID is missing, malformed or of an
unknown province is quarantined for it and then linked by name, date of birth, sex and, where
the record has them, a commune and a mother's name (``ndc.linkage.flow``). Some of those
records are made harder the way real registers are, and each is labelled in
``truth/linkage_cases.parquet`` (source, entity, record key, case, the personal ID of the
person the record belongs to), so ``ndc evaluate`` can score linkage per case:

- ``dob_swap``: day and month of the date of birth swapped (a day <= 12);
- ``no_marks``: the name typed without marks, in proper case (``Nguyen Van An``);
- ``common_name``: nothing changed, but the person's name (without marks) is shared with
  another person of the country;
- ``twin``: nothing changed in the record, but the person has a twin the population database
  knows: same mother, date of birth, household, family and middle name, another given name
  (sex the same 60% of the time) and personal ID. Such twins are added once the sources are
  written, to the population database's baseline and the truth's persons only (no source
  has a record of them), so a record is never linked to the wrong twin unseen;
- ``reform_commune``: a land owner (land_registry) whose residence commune is written as the
  legacy ward code it had before the 2025 reform, where the population database holds the
  2025 commune code (``ndc.synthetic.land_registry``): linkage must compare the code in both
  systems to find the person.

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

CASES = ("dob_swap", "no_marks", "common_name", "twin", "reform_commune")
# Share of the ID-less records given each changing case (draw order); a record that cannot
# take the drawn case (a day above 12, a name without marks) is left as it is.
SHARES = {"dob_swap": 0.25, "no_marks": 0.25}
# Share of the ID-less records left unchanged (no case, or common_name) whose person gets a twin.
TWIN_SHARE = 0.2
# The entities whose ID-less records get the hard cases above but reform_commune (land owners:
# ndc.synthetic.land_registry).
ENTITIES = (("civil_registration", "death"), ("social_insurance", "insured_person"))
# The defects that leave a record without a usable personal ID.
ID_LESS = ("pid_missing", "pid_malformed", "pid_unknown_province")
COLUMNS = ("source", "entity", "record_key", "case", "personal_id")
FILE = "linkage_cases.parquet"
MIDDLE_BY_SEX = {"male": "Văn", "female": "Thị"}
# Relationship to the household's head of a twin, by the sibling's (population.RELATIONSHIPS).
TWIN_RELATIONSHIP = {"01": "05", "02": "99", "04": "99"}


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

    def set_case(self, source: str, entity: str, key: str, case: str, personal_id: str) -> None:
        """Label a record with ``case``, replacing the case it had."""
        self.rows = [r for r in self.rows if r[:3] != (source, entity, str(key))]
        self.add(source, entity, key, case, personal_id)

    def case_of(self) -> dict[tuple[str, str, str], str]:
        return {r[:3]: r[3] for r in self.rows}

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


def add_twins(
    rng: np.random.Generator, persons, baseline_path: Path, defects: pd.DataFrame, log: CaseLog
) -> int:
    """Give a twin to the persons of some ID-less records (TWIN_SHARE of those left unchanged),
    in the population database's baseline and in ``persons`` (the truth), and label those
    records ``twin``. Only persons the baseline holds get one. Returns the twins added."""
    from ndc.synthetic.names import GIVEN_NAMES
    from ndc.synthetic.pid import format_pids, personal_id_ints
    from ndc.synthetic.population import years_of

    baseline = pq.read_table(baseline_path)
    in_baseline = set(baseline.column("personal_id").to_pylist())
    cases = log.case_of()
    pids = persons["personal_id"]
    index = {p: i for i, p in enumerate(pids)}
    records = defects[
        defects["defect_class"].isin(ID_LESS)
        & pd.Series(list(zip(defects["source"], defects["entity"], strict=True))).isin(ENTITIES)
    ].sort_values(["source", "entity", "record_key"])
    chosen: dict[str, list[tuple[str, str, str]]] = {}
    for d in records.itertuples(index=False):
        key = (d.source, d.entity, d.record_key)
        u = rng.random()  # one draw per record, whatever it turns out to be
        if cases.get(key) not in (None, "common_name") or u >= TWIN_SHARE:
            continue
        if d.clean_value in in_baseline and d.clean_value in index:
            chosen.setdefault(d.clean_value, []).append(key)
    if not chosen:
        return 0
    first = np.array(sorted(index[p] for p in chosen), dtype=np.int64)
    k = len(first)
    cols = {c: np.array(dict.__getitem__(persons, c)[first]) for c in dict.keys(persons)}
    sex = cols["sex"]
    cols["sex"] = np.where(rng.random(k) < 0.6, sex, np.where(sex == "male", "female", "male"))
    names = []
    for name, s in zip(persons["full_name"][first], cols["sex"], strict=True):
        words = name.split(" ")
        if len(words) > 2 and words[1] in MIDDLE_BY_SEX.values():
            words[1] = MIDDLE_BY_SEX[s]  # a brother is no Thị, a sister no Văn
        options = [g for g in GIVEN_NAMES[s] if g != words[-1]]
        names.append(" ".join([*words[:-1], options[int(rng.integers(len(options)))]]))
    cols["full_name"] = np.array(names, dtype=object)
    cols["person_id"] = np.arange(1, k + 1, dtype=np.int64) + int(persons["person_id"].max())
    cols["pid_int"] = personal_id_ints(
        rng,
        cols["birth_province_code"],
        cols["sex"] == "female",
        years_of(cols["date_of_birth"]),
        taken=persons["pid_int"],
    )
    cols["personal_id"] = format_pids(cols["pid_int"])
    # A head's twin is the head's sibling; a spouse's or parent's twin, another relative.
    cols["relationship_to_head"] = np.array(
        [TWIN_RELATIONSHIP.get(r, r) for r in cols["relationship_to_head"]], dtype=object
    )
    cols["in_social_insurance"] = np.zeros(k, dtype=bool)
    for c in ("ma_so_bhxh", "cmnd", "phone"):
        cols[c] = np.full(k, None, dtype=object)
    cols["date_of_death"] = np.full(k, np.datetime64("NaT"), dtype="datetime64[D]")
    # The twin's baseline row: the sibling's, with the twin's own identity.
    rows = baseline.to_pandas()
    sibling = rows.set_index("personal_id").loc[pids[first]].reset_index()
    sibling["personal_id"] = cols["personal_id"]
    sibling["full_name"] = cols["full_name"]
    sibling["sex_code"] = np.where(cols["sex"] == "male", "1", "2")
    sibling["cmnd"] = None
    sibling["date_of_death"] = None
    table = pa.concat_tables(
        [baseline, pa.Table.from_pandas(sibling[baseline.column_names], schema=baseline.schema,
                                        preserve_index=False)]
    )  # fmt: skip
    pq.write_table(table, baseline_path)
    persons.append(cols)
    for pid in pids[first]:
        for source, entity, key in chosen[pid]:
            log.set_case(source, entity, key, "twin", pid)
    return k
