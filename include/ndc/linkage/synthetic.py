"""A synthetic Vietnamese no-ID linkage set: a population, records without a personal ID, truth.

Built from ndc's synthetic country (`ndc.synthetic.population.make_population`: households at
real addresses, names drawn by family-name frequency), plus twins, so that the hard cases a
register sees are all present and labelled:

- ``clean``: the record as the population holds it, without its ID (no other defect);
- ``common_name``: a person whose name (without marks) is shared with others in the population;
- ``twin``: one of two twins (same parents, date of birth, family and middle name, different
  given name);
- ``no_marks``: the name typed without marks, upper case (NGUYEN VAN AN);
- ``dob_swap``: day and month of birth swapped (a day <= 12);
- ``year_only``: only the year of birth known (precision 'year');
- ``reform_commune``: commune given as the legacy ward code (before the 2025 reform);
- ``moved``: an old address: another legacy ward of the same province;
- ``name_typo``: one letter wrong, left out or doubled in a name part;
- ``middle_missing``: the middle name left out;
- ``dob_typo``: one digit of the date of birth wrong;
- ``not_in_population``: a person the population does not hold: must not link.

Every case but ``clean`` may also carry other defects (`EXTRA_DEFECTS`), as real records do.

Deterministic by seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ndc.synthetic import admin
from ndc.synthetic.names import GIVEN_NAMES, legacy_upper
from ndc.synthetic.pid import format_pids, personal_id_ints
from ndc.synthetic.population import make_population, years_of

CASES = {
    "clean": 0.14,
    "common_name": 0.10,
    "twin": 0.08,
    "no_marks": 0.12,
    "dob_swap": 0.07,
    "year_only": 0.08,
    "reform_commune": 0.10,
    "moved": 0.06,
    "name_typo": 0.10,
    "middle_missing": 0.05,
    "dob_typo": 0.05,
    "not_in_population": 0.05,
}
# Besides its case, a record carries each of these defects with this probability, so hard
# cases combine (a twin typed without marks, a year-only date with a legacy commune ...).
EXTRA_DEFECTS = {
    "no_marks": 0.15,
    "reform_commune": 0.15,
    "year_only": 0.04,
    "dob_typo": 0.03,
    "name_typo": 0.04,
    "middle_missing": 0.03,
}
TWIN_SHARE = 0.02  # of persons: one twin added for each
MOTHER_NAME_SHARE = 0.5  # records that name the person's mother, when the population knows her
_LETTERS = "abcdeghiklmnopqrstuvxy"  # a slip of the keyboard: a plain letter


@dataclass
class LinkageSet:
    """A population (with personal IDs), records without them, and which person each names."""

    population: pd.DataFrame  # personal_id, full_name, date_of_birth, sex_code, commune_code ...
    records: pd.DataFrame  # record_id, full_name, date_of_birth, precision, sex_code, commune ...
    truth: dict[str, str | None]  # record_id -> personal_id (None: not in the population)
    seed: int = 0

    @property
    def cases(self) -> pd.Series:
        return self.records.set_index("record_id")["case"]

    @property
    def true_pairs(self) -> set[tuple[str, str]]:
        """(record_id, personal_id) of every record of a person in the population."""
        return {(r, p) for r, p in self.truth.items() if p is not None}


def _mothers(persons: pd.DataFrame) -> pd.Series:
    """The mother's full name of each person, where the household shows her."""
    hh = persons["household_id"]
    role = persons["relationship_to_head"]
    female = persons["sex"] == "female"
    head = persons[role == "01"].set_index("household_id")
    spouse = persons[role == "02"].drop_duplicates("household_id").set_index("household_id")
    head_mother = persons[(role == "04") & female].drop_duplicates("household_id")
    head_mother = head_mother.set_index("household_id")["full_name"]
    child_mother = pd.Series(
        np.where(
            head["sex"] == "female",
            head["full_name"],
            spouse["full_name"]
            .reindex(head.index)
            .where(spouse["sex"].reindex(head.index) == "female"),
        ),
        index=head.index,
    )
    mother = pd.Series(None, index=persons.index, dtype=object)
    child = role == "03"
    mother[child] = child_mother.reindex(hh[child]).to_numpy()
    is_head = role == "01"
    mother[is_head] = head_mother.reindex(hh[is_head]).to_numpy()
    return mother.where(mother.notna(), None)


def _persons(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """n persons of the synthetic country, plus a twin for some children."""
    units = admin.load()
    frame = make_population(rng, n)
    p = pd.DataFrame(
        {
            "person_id": frame["person_id"],
            "personal_id": frame["personal_id"],
            "pid_int": frame["pid_int"],
            "full_name": frame["full_name"],
            "sex": frame["sex"],
            "date_of_birth": frame["date_of_birth"],
            "birth_province_code": frame["birth_province_code"],
            "ward_idx": frame["ward_idx"],
            "commune_idx": frame["commune_idx"],
            "household_id": frame["household_id"],
            "relationship_to_head": frame["relationship_to_head"],
        }
    )
    children = np.flatnonzero(p["relationship_to_head"].to_numpy() == "03")
    k = min(len(children), int(round(n * TWIN_SHARE)))
    first = np.sort(rng.choice(children, size=k, replace=False))
    twins = p.iloc[first].copy()
    same_sex = rng.random(k) < 0.6
    twins["sex"] = np.where(
        same_sex, twins["sex"], np.where(twins["sex"] == "male", "female", "male")
    )
    names = []
    for name, sex in zip(p["full_name"].to_numpy()[first], twins["sex"], strict=True):
        words = name.split(" ")
        options = [g for g in GIVEN_NAMES[sex] if g != words[-1]]
        names.append(" ".join([*words[:-1], options[int(rng.integers(len(options)))]]))
    twins["full_name"] = names
    twins["person_id"] = np.arange(n + 1, n + 1 + k)
    years = years_of(twins["date_of_birth"].to_numpy())
    twins["pid_int"] = personal_id_ints(
        rng,
        twins["birth_province_code"].to_numpy(),
        (twins["sex"] == "female").to_numpy(),
        years,
        taken=p["pid_int"].to_numpy(),
    )
    twins["personal_id"] = format_pids(twins["pid_int"].to_numpy())
    twins["twin_of"] = p["personal_id"].to_numpy()[first]
    p["twin_of"] = None
    p.loc[first, "twin_of"] = twins["personal_id"].to_numpy()
    p = pd.concat([p, twins], ignore_index=True)
    p["mother_name"] = _mothers(p)
    p["commune_code"] = units.commune[p["commune_idx"].to_numpy()]
    p["legacy_ward_code"] = units.legacy_ward[p["ward_idx"].to_numpy()]
    p["legacy_province"] = units.legacy_province[p["ward_idx"].to_numpy()]
    p["sex_code"] = np.where(p["sex"] == "male", "1", "2")
    return p


def _typo(rng: np.random.Generator, word: str) -> str:
    """One letter wrong, left out or doubled."""
    if len(word) < 3:
        return word + word[-1]
    i = int(rng.integers(1, len(word)))
    kind = int(rng.integers(3))
    if kind == 0:
        letter = _LETTERS[int(rng.integers(len(_LETTERS)))]
        return word[:i] + letter + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _record(rng: np.random.Generator, person: pd.Series, defects: list[str], wards: dict) -> dict:
    """One record of a person, with the given defects applied in order."""
    name = person["full_name"]
    dob = pd.Timestamp(person["date_of_birth"])
    precision = "day"
    commune, system = person["commune_code"], "2025"
    for defect in defects:
        if defect == "no_marks":
            name = legacy_upper(name)
        elif defect == "dob_swap" and precision == "day":
            if dob.day <= 12 and dob.day != dob.month:
                dob = pd.Timestamp(year=dob.year, month=dob.day, day=dob.month)
            else:
                defects = [*defects, "dob_typo"]
        elif defect == "year_only":
            dob, precision = pd.Timestamp(year=dob.year, month=1, day=1), "year"
        elif defect == "reform_commune" and system == "2025":
            commune, system = person["legacy_ward_code"], "legacy"
        elif defect == "moved":
            options = wards[person["legacy_province"]]
            commune, system = options[int(rng.integers(len(options)))], "legacy"
        elif defect == "name_typo":
            words = name.split(" ")
            i = int(rng.integers(len(words)))
            words[i] = _typo(rng, words[i])
            name = " ".join(words)
        elif defect == "middle_missing":
            words = name.split(" ")
            if len(words) > 2:
                name = f"{words[0]} {words[-1]}"
        elif defect == "dob_typo" and precision == "day":
            dob = _dob_typo(rng, dob)
    mother = person["mother_name"] if rng.random() < MOTHER_NAME_SHARE else None
    return {
        "full_name": name,
        "date_of_birth": dob.date(),
        "date_of_birth_precision": precision,
        "sex_code": person["sex_code"] if rng.random() > 0.02 else "0",
        "commune_code": commune,
        "commune_code_system": system,
        "mother_name": mother,
        "defects": ",".join(defects),
    }


def _dob_typo(rng: np.random.Generator, dob: pd.Timestamp) -> pd.Timestamp:
    """One digit of the year's last two, the month or the day wrong (still a real date)."""
    text = dob.strftime("%Y%m%d")
    for _ in range(50):
        i = int(rng.choice([2, 3, 5, 6, 7]))
        candidate = text[:i] + str(int(rng.integers(10))) + text[i + 1 :]
        parsed = pd.to_datetime(candidate, format="%Y%m%d", errors="coerce")
        if candidate != text and not pd.isna(parsed) and parsed.year >= 1900:
            return parsed
    return dob


def _defects(rng: np.random.Generator, case: str) -> list[str]:
    """The case's own defect first, then the extra ones this record happens to carry."""
    own = [] if case in ("clean", "common_name", "twin", "not_in_population") else [case]
    extra = [d for d, p in EXTRA_DEFECTS.items() if d != case and rng.random() < p]
    if case == "clean":
        return []
    return own + extra


def make_linkage_set(
    persons: int = 20_000, records: int | None = None, seed: int = 7
) -> LinkageSet:
    """A population of about `persons` (plus twins) and `records` records to link (default
    persons / 10), each labelled with the person it names. Deterministic by seed."""
    rng = np.random.default_rng([seed, 1010])
    pop = _persons(rng, persons)
    outsiders = _persons(np.random.default_rng([seed, 2020]), max(persons // 10, 200))
    outsiders = outsiders[~outsiders["personal_id"].isin(pop["personal_id"])]
    n_records = records if records is not None else max(persons // 10, 100)
    wards = (
        pd.DataFrame({"p": admin.load().legacy_province, "w": admin.load().legacy_ward})
        .groupby("p")["w"]
        .agg(list)
        .to_dict()
    )
    key_counts = pop["full_name"].map(legacy_upper).value_counts()
    common = np.flatnonzero(pop["full_name"].map(legacy_upper).map(key_counts).to_numpy() >= 3)
    twins = np.flatnonzero(pop["twin_of"].notna().to_numpy())
    names = list(CASES)
    weights = np.array(list(CASES.values()))
    cases = rng.choice(names, size=n_records, p=weights / weights.sum())
    rows, truth = [], {}
    for i, case in enumerate(cases):
        if case == "not_in_population":
            person = outsiders.iloc[int(rng.integers(len(outsiders)))]
            pid = None
        else:
            pool = common if case == "common_name" else twins if case == "twin" else None
            if pool is not None and len(pool):
                person = pop.iloc[int(rng.choice(pool))]
            else:
                person = pop.iloc[int(rng.integers(len(pop)))]
            pid = person["personal_id"]
        row = _record(rng, person, _defects(rng, case), wards)
        record_id = f"R{seed:04d}-{i:06d}"
        rows.append({"record_id": record_id, "case": case, **row})
        truth[record_id] = pid
    population = pop[
        [
            "personal_id",
            "full_name",
            "date_of_birth",
            "sex_code",
            "commune_code",
            "mother_name",
            "twin_of",
        ]
    ].copy()
    population["date_of_birth"] = pd.to_datetime(population["date_of_birth"]).dt.date
    return LinkageSet(population=population, records=pd.DataFrame(rows), truth=truth, seed=seed)
