"""Civil registration source: births and deaths as one CSV file per province per day."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ndc.synthetic.defects import Defect, make_defect, malform_pid, unparseable_date
from ndc.synthetic.encodings import encode_text
from ndc.synthetic.names import sample_names
from ndc.synthetic.pid import assign_personal_ids
from ndc.synthetic.population import BASELINE, ages_at
from ndc.synthetic.provinces import reporting_codes, reporting_weights

SOURCE = "civil_registration"
BIRTH_COLUMNS = [
    "so_dang_ky",
    "ngay_dang_ky",
    "so_dinh_danh",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "noi_sinh_tinh",
    "ho_ten_me",
    "so_dinh_danh_me",
]
DEATH_COLUMNS = [
    "so_dang_ky",
    "ngay_dang_ky",
    "so_dinh_danh",
    "ho_ten",
    "ngay_sinh",
    "ngay_mat",
    "noi_mat_tinh",
]
# Registrations per person per day (deliberately high so small runs have data to test).
BIRTHS_PER_PERSON_DAY = 0.025
DEATHS_PER_PERSON_DAY = 0.006
SEX_LABEL = {"male": "Nam", "female": "Nữ"}
ENTITY_FILES = {"birth": (BIRTH_COLUMNS, "births"), "death": (DEATH_COLUMNS, "deaths")}
QUARANTINE_CLASSES = ("pid_malformed", "pid_missing", "date_unparseable")


@dataclass
class CivilRegistrationOutput:
    """What the civil-registration writer produced."""

    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=lambda: {"birth": 0, "death": 0})
    defects: list[Defect] = field(default_factory=list)


class _Row(NamedTuple):
    """One registration row before defects: its province, true birth date and values."""

    province: str
    dob: date
    values: dict[str, str]


@dataclass
class _Slot:
    """One (day, province) cell of the event plan with its registration numbers."""

    day: date
    province: str
    keys: list[str]


def dmy(d: date) -> str:
    """Format a date as unpadded d/m/yyyy."""
    return f"{d.day}/{d.month}/{d.year}"


def _plan(
    rng: np.random.Generator, dates: list[date], rate: float, n_persons: int, prefix: str
) -> list[_Slot]:
    """Draw event counts per day and province and number the registrations."""
    codes = reporting_codes()
    weights = reporting_weights()
    counters = {c: int(rng.integers(100, 2000)) for c in codes}
    slots: list[_Slot] = []
    for day in dates:
        total = int(rng.poisson(rate * n_persons))
        counts = rng.multinomial(total, weights)
        for code, count in zip(codes, counts, strict=True):
            if count == 0:
                continue
            start = counters[code]
            counters[code] += int(count)
            keys = [f"{prefix}-{code}-{day:%Y%m%d}-{i:06d}" for i in range(start, start + count)]
            slots.append(_Slot(day, code, keys))
    return slots


def _draw(
    rng: np.random.Generator,
    pool: np.ndarray,
    weights: np.ndarray,
    ascii_names: np.ndarray,
    n_legacy: int,
    n_other: int,
    replace_ok: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw people for legacy-encoded slots (non-ASCII names only) and for the others."""

    def pick(mask: np.ndarray, n: int) -> np.ndarray:
        idx, w = pool[mask], weights[mask]
        if n == 0 or len(idx) == 0:
            return np.array([], dtype=int)
        replace = replace_ok and n > len(idx)
        size = n if replace else min(n, len(idx))
        return rng.choice(idx, size=size, replace=replace, p=w / w.sum())

    legacy = pick(~ascii_names, n_legacy)
    rest = ~np.isin(pool, legacy)
    return legacy, pick(rest, n_other)


def _quarantine_defect(rng: np.random.Generator, rates: dict[str, float]) -> str | None:
    """Pick at most one quarantine-class defect for a row."""
    u = rng.random()
    acc = 0.0
    for cls in QUARANTINE_CLASSES:
        acc += rates.get(cls, 0.0)
        if u < acc:
            return cls
    return None


def _apply_defect(
    rng: np.random.Generator, row: dict[str, str], entity: str, cls: str | None, dob: date
) -> Defect | None:
    """Corrupt one row in place according to the defect class; return the record."""
    if cls is None:
        return None
    key = row["so_dang_ky"]
    if cls == "date_unparseable":
        raw = unparseable_date(rng, dob)
        clean, row["ngay_sinh"] = row["ngay_sinh"], raw
        return make_defect(SOURCE, entity, key, "ngay_sinh", cls, clean, raw)
    clean = row["so_dinh_danh"]
    raw = malform_pid(rng, clean) if cls == "pid_malformed" else ""
    row["so_dinh_danh"] = raw
    return make_defect(SOURCE, entity, key, "so_dinh_danh", cls, clean, raw)


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, str]], encoding: str) -> None:
    """Write rows as a comma-delimited CSV with a header and \\n line endings."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([r[c] for c in columns] for r in rows)
    path.write_bytes(encode_text(buf.getvalue(), encoding))


def _assign(
    slots: list[_Slot], legacy: set[str], picked_legacy: np.ndarray, picked_other: np.ndarray
) -> list[tuple[_Slot, str, int]]:
    """Pair each registration number with a drawn person (legacy provinces get their own)."""
    its = {True: iter(picked_legacy.tolist()), False: iter(picked_other.tolist())}
    pairs = []
    for slot in slots:
        it = its[slot.province in legacy]
        for key in slot.keys:
            idx = next(it, None)
            if idx is None:
                break
            pairs.append((slot, key, idx))
    return pairs


def _draw_for_slots(
    rng: np.random.Generator,
    slots: list[_Slot],
    legacy: set[str],
    eligible: np.ndarray,
    weights: np.ndarray,
    ascii_names: np.ndarray,
    replace_ok: bool,
) -> list[tuple[_Slot, str, int]]:
    """Draw one eligible person per registration; cp1258 files only get non-ASCII names."""
    n_leg = sum(len(s.keys) for s in slots if s.province in legacy)
    n_oth = sum(len(s.keys) for s in slots if s.province not in legacy)
    pool = np.flatnonzero(eligible)
    picked_leg, picked_oth = _draw(
        rng, pool, weights[eligible], ascii_names[eligible], n_leg, n_oth, replace_ok
    )
    return _assign(slots, legacy, picked_leg, picked_oth)


def _register_deaths(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    ages: np.ndarray,
    slots: list[_Slot],
    legacy: set[str],
    ascii_names: np.ndarray,
) -> tuple[list[_Row], np.ndarray]:
    """Pick the deceased (older adults, insured slightly favoured); return rows and death dates."""
    weights = np.exp((ages - 45) / 12.0) * np.where(persons["in_social_insurance"], 1.5, 1.0)
    pairs = _draw_for_slots(rng, slots, legacy, ages >= 45, weights, ascii_names, False)
    pids = persons["personal_id"].tolist()
    names = persons["full_name"].tolist()
    dobs = persons["date_of_birth"].tolist()
    dod_col = persons["date_of_death"].to_numpy(dtype=object).copy()
    rows = []
    for slot, key, idx in pairs:
        dod = slot.day - timedelta(days=int(rng.integers(0, 4)))
        dod_col[idx] = dod
        rows.append(
            _Row(
                slot.province,
                dobs[idx],
                {
                    "so_dang_ky": key,
                    "ngay_dang_ky": dmy(slot.day),
                    "so_dinh_danh": pids[idx],
                    "ho_ten": names[idx],
                    "ngay_sinh": dmy(dobs[idx]),
                    "ngay_mat": dmy(dod),
                    "noi_mat_tinh": slot.province,
                },
            )
        )
    return rows, dod_col


def _register_births(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    ages: np.ndarray,
    slots: list[_Slot],
    legacy: set[str],
    ascii_names: np.ndarray,
) -> tuple[list[_Row], pd.DataFrame]:
    """Pick mothers (women 18-44) and create the children; return rows and new persons."""
    fertile = (ages >= 18) & (ages <= 44) & (persons["sex"].to_numpy() == "female")
    weights = np.exp(-(((ages - 29) / 6.0) ** 2))
    pairs = _draw_for_slots(rng, slots, legacy, fertile, weights, ascii_names, True)
    children = _make_children(rng, persons, pairs)
    pids = persons["personal_id"].tolist()
    names = persons["full_name"].tolist()
    rows = []
    for (slot, key, mother), child in zip(pairs, children.itertuples(index=False), strict=True):
        rows.append(
            _Row(
                slot.province,
                child.date_of_birth,
                {
                    "so_dang_ky": key,
                    "ngay_dang_ky": dmy(slot.day),
                    "so_dinh_danh": child.personal_id,
                    "ho_ten": child.full_name,
                    "ngay_sinh": dmy(child.date_of_birth),
                    "gioi_tinh": SEX_LABEL[child.sex],
                    "noi_sinh_tinh": slot.province,
                    "ho_ten_me": names[mother],
                    "so_dinh_danh_me": pids[mother],
                },
            )
        )
    return rows, children


def _make_children(
    rng: np.random.Generator, persons: pd.DataFrame, pairs: list[tuple[_Slot, str, int]]
) -> pd.DataFrame:
    """Create the ground-truth rows of children registered during the run."""
    k = len(pairs)
    sexes = np.where(rng.random(k) < 0.512, "male", "female")
    dobs = [
        slot.day - timedelta(days=int(d))
        for (slot, _, _), d in zip(pairs, rng.integers(1, 15, size=k), strict=True)
    ]
    years = np.array([d.year for d in dobs], dtype=int)
    names = sample_names(rng, sexes, years)
    provinces = [slot.province for slot, _, _ in pairs]
    pids = assign_personal_ids(
        rng, provinces, sexes.tolist(), years.tolist(), set(persons["personal_id"])
    )
    first_id = int(persons["person_id"].max()) + 1 if len(persons) else 1
    person_ids = persons["person_id"].to_numpy()
    return pd.DataFrame(
        {
            "person_id": np.arange(first_id, first_id + k, dtype=np.int64),
            "personal_id": pids,
            "full_name": names,
            "sex": sexes,
            "date_of_birth": pd.Series(dobs, dtype=object),
            "birth_province_code": provinces,
            "date_of_death": pd.Series([None] * k, dtype=object),
            "in_social_insurance": np.zeros(k, dtype=bool),
            "ma_so_bhxh": pd.Series([None] * k, dtype=object),
            "born_during_run": np.ones(k, dtype=bool),
            "mother_person_id": pd.Series([int(person_ids[m]) for _, _, m in pairs], dtype=object),
        }
    )


def _write_entity(
    rng: np.random.Generator,
    entity: str,
    rows: list[_Row],
    inbox: Path,
    encodings: dict[str, str],
    rates: dict[str, float],
    out: CivilRegistrationOutput,
) -> None:
    """Inject defects into an entity's rows and write one file per province and day."""
    columns, prefix = ENTITY_FILES[entity]
    files: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        defect = _apply_defect(rng, row.values, entity, _quarantine_defect(rng, rates), row.dob)
        if defect is not None:
            out.defects.append(defect)
        day = row.values["so_dang_ky"].split("-")[2]
        files.setdefault((row.province, day), []).append(row.values)
    for (province, day), file_rows in sorted(files.items()):
        path = inbox / f"{prefix}_{province}_{day}.csv"
        _write_csv(path, columns, file_rows, encodings.get(province, "utf-8"))
        out.files.append(path)
    out.rows[entity] = len(rows)


def generate_civil_registration(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    dates: list[date],
    inbox: Path,
    encodings: dict[str, str],
    rates: dict[str, float],
) -> tuple[pd.DataFrame, CivilRegistrationOutput]:
    """Register deaths and births, write the inbox files; return updated persons and output."""
    out = CivilRegistrationOutput()
    birth_slots = _plan(rng, dates, BIRTHS_PER_PERSON_DAY, len(persons), "KS")
    death_slots = _plan(rng, dates, DEATHS_PER_PERSON_DAY, len(persons), "KT")
    persons = persons.copy()
    ages = ages_at(persons["date_of_birth"], BASELINE)
    ascii_names = np.array([s.isascii() for s in persons["full_name"]], dtype=bool)
    legacy = {c for c, e in encodings.items() if e == "cp1258"}
    death_rows, dod = _register_deaths(rng, persons, ages, death_slots, legacy, ascii_names)
    persons["date_of_death"] = dod
    birth_rows, children = _register_births(rng, persons, ages, birth_slots, legacy, ascii_names)
    persons = pd.concat([persons, children], ignore_index=True)
    _write_entity(rng, "birth", birth_rows, inbox, encodings, rates, out)
    _write_entity(rng, "death", death_rows, inbox, encodings, rates, out)
    return persons, out
