"""The simulated country between the baseline and the last day: state and daily events.

Every random draw of day k comes from generators seeded with (seed, stream, k), and day k only
reads the state left by days 0..k-1, so a run with `days = D` repeats the run with `D - 1` and
adds day D (prefix consistency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ndc.synthetic import admin
from ndc.synthetic.names import sample_name_parts
from ndc.synthetic.pid import format_pids, personal_id_ints
from ndc.synthetic.population import BASELINE, REFORM, ages_at, make_population
from ndc.synthetic.provinces import REPORTING_PROVINCES

# Events per baseline person per day (deliberately high so small runs have data to test).
BIRTHS_PER_PERSON_DAY = 0.025
DEATHS_PER_PERSON_DAY = 0.006
MARRIAGES_PER_PERSON_DAY = 0.004
MOVES_PER_PERSON_DAY = 0.004
LATE_MOVE_SHARE = 0.2  # moves registered days after they happened (late-arriving records)


def rng_for(seed: int, stream: int, day_index: int | None = None) -> np.random.Generator:
    """The generator of one stream (and day): independent of the number of days."""
    key = [seed, stream] if day_index is None else [seed, stream, day_index]
    return np.random.default_rng(key)


def office_code(legacy_province: np.ndarray | str, day: date):
    """The province code an office writes on a day: legacy before 2025-07-01, 2025 after."""
    if day < REFORM:
        return legacy_province
    conv = admin.load().province_2025
    if isinstance(legacy_province, str):
        return conv[legacy_province]
    return np.array([conv[c] for c in legacy_province], dtype=object)


def stamps(rng: np.random.Generator, day: date, n: int, lo_hour: int = 6, hi_hour: int = 22):
    """n timestamps on a day as datetime64[s]."""
    secs = rng.integers(lo_hour * 3600, hi_hour * 3600, size=n)
    return np.datetime64(day, "s") + secs.astype("timedelta64[s]")


def ts_text(ts: np.ndarray) -> np.ndarray:
    """datetime64[s] -> 'YYYY-MM-DD HH:MM:SS' (object array)."""
    return np.char.replace(np.datetime_as_string(ts, unit="s"), "T", " ").astype(object)


def ts_iso_z(ts: np.ndarray) -> np.ndarray:
    """datetime64[s] -> 'YYYY-MM-DDTHH:MM:SSZ' (object array)."""
    return np.char.add(np.datetime_as_string(ts, unit="s"), "Z").astype(object)


def iso(d: np.ndarray) -> np.ndarray:
    """datetime64[D] -> 'YYYY-MM-DD' (object array)."""
    return np.datetime_as_string(d, unit="D").astype(object)


def to_date(d) -> date:
    """datetime64 -> date."""
    return pd.Timestamp(d).date()


@dataclass
class DayEvents:
    """What happened on one day (indexes into World.persons)."""

    day: date
    index: int
    deaths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    mothers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    children: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    grooms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    brides: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    movers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    move_dates: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="datetime64[D]"))
    old_ward: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    old_commune: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    old_household: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


class World:
    """The ground-truth population and its evolution."""

    def __init__(self, seed: int, n: int, days: int = 3) -> None:
        self.seed = seed
        self.n0 = n
        self.units = admin.load()
        room = int(n * (1 + 1.2 * BIRTHS_PER_PERSON_DAY * (days + 1))) + 64
        self.persons = make_population(rng_for(seed, 1), n, room)
        self.next_household = int(self.persons["household_id"][-1][2:]) + 1
        self.events: list[DayEvents] = []

    # ------------------------------------------------------------------ helpers

    def legacy_province(self, idx: np.ndarray) -> np.ndarray:
        return self.units.legacy_province[self.persons["ward_idx"][idx]]

    def reporting_mask(self) -> np.ndarray:
        """Persons living in a province that sends civil-registration files."""
        prov = self.units.legacy_province[self.persons["ward_idx"]]
        return np.isin(prov, list(REPORTING_PROVINCES))

    def alive_mask(self) -> np.ndarray:
        return np.isnat(self.persons["date_of_death"])

    def ages(self, on: date) -> np.ndarray:
        return ages_at(self.persons["date_of_birth"], on)

    def _draw(self, rng, mask, weights, k, replace=False) -> np.ndarray:
        pool = np.flatnonzero(mask)
        if k == 0 or len(pool) == 0:
            return np.zeros(0, dtype=np.int64)
        w = weights[pool]
        replace = replace and k > len(pool)
        k = k if replace else min(k, len(pool))
        return np.sort(rng.choice(pool, size=k, replace=replace, p=w / w.sum()))

    def new_household_ids(self, k: int) -> np.ndarray:
        ids = np.arange(self.next_household, self.next_household + k)
        self.next_household += k
        return np.array([f"HK{i:010d}" for i in ids], dtype=object)

    # ------------------------------------------------------------------ one day

    def simulate(self, k: int, day: date) -> DayEvents:
        """Draw day k's deaths, births, marriages and moves and apply them to the state."""
        ev = DayEvents(day, k)
        ages = self.ages(BASELINE)
        alive = self.alive_mask()
        report = self.reporting_mask()
        p = self.persons
        female = p["sex"] == "female"
        rng = rng_for(self.seed, 11, k)
        n_deaths = int(rng.poisson(DEATHS_PER_PERSON_DAY * self.n0))
        w = np.exp((np.minimum(ages, 100) - 45) / 12.0)
        ev.deaths = self._draw(rng, alive & report & (ages >= 45), w, n_deaths)
        dod = np.datetime64(day, "D") - rng.integers(0, 4, size=len(ev.deaths)).astype(
            "timedelta64[D]"
        )
        dcol = p["date_of_death"].copy()
        dcol[ev.deaths] = dod
        p["date_of_death"] = dcol
        alive = self.alive_mask()

        rng = rng_for(self.seed, 12, k)
        n_births = int(rng.poisson(BIRTHS_PER_PERSON_DAY * self.n0))
        fertile = alive & report & female & (ages >= 18) & (ages <= 44) & ~p["born_during_run"]
        w = np.exp(-(((ages - 29) / 6.0) ** 2))
        mothers = self._draw(rng, fertile, w, n_births, replace=True)
        ev.mothers = mothers
        ev.children = self._add_children(rng, day, mothers)

        rng = rng_for(self.seed, 13, k)
        n_mar = int(rng.poisson(MARRIAGES_PER_PERSON_DAY * self.n0))
        alive = self.alive_mask()
        ages = self.ages(BASELINE)
        female = self.persons["sex"] == "female"
        report = self.reporting_mask()
        ev.grooms = self._draw(rng, alive & report & ~female & (ages >= 20) & (ages <= 60),
                               np.ones(len(ages)), n_mar)  # fmt: skip
        ev.brides = self._draw(rng, alive & report & female & (ages >= 18) & (ages <= 55),
                               np.ones(len(ages)), len(ev.grooms))  # fmt: skip
        ev.grooms = ev.grooms[: len(ev.brides)]
        ev.brides = rng.permutation(ev.brides)

        rng = rng_for(self.seed, 14, k)
        n_moves = int(rng.poisson(MOVES_PER_PERSON_DAY * self.n0))
        # adults leaving their household (heads stay: a household keeps its head)
        leaving = alive & (ages >= 18) & (self.persons["relationship_to_head"] != "01")
        movers = self._draw(rng, leaving, np.ones(len(ages)), n_moves)
        movers = np.setdiff1d(movers, np.concatenate([ev.grooms, ev.brides, ev.mothers]))
        late = rng.random(len(movers)) < LATE_MOVE_SHARE
        back = np.where(late, rng.integers(3, 21, size=len(movers)), 0)
        ev.movers = movers
        ev.move_dates = np.datetime64(day, "D") - back.astype("timedelta64[D]")
        ev.old_ward = self.persons["ward_idx"][movers].copy()
        ev.old_commune = self.persons["commune_idx"][movers].copy()
        ev.old_household = self.persons["household_id"][movers].copy()
        self._move(rng, movers)
        self.events.append(ev)
        return ev

    def _add_children(self, rng, day: date, mothers: np.ndarray) -> np.ndarray:
        p = self.persons
        k = len(mothers)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        female = rng.random(k) >= 0.512
        dob = np.datetime64(day, "D") - rng.integers(1, 15, size=k).astype("timedelta64[D]")
        years = dob.astype("datetime64[Y]").astype(np.int64) + 1970
        sexes = np.where(female, "female", "male")
        family, middle, given = sample_name_parts(rng, sexes, years)
        # the child takes the family name of the household head's line (the mother's otherwise)
        m_names = p["full_name"][mothers]
        family = np.array([n.split(" ", 1)[0] for n in m_names], dtype=object)
        heads = self._household_family(p["household_id"][mothers])
        family = np.where(heads != None, heads, family)  # noqa: E711
        names = [f"{a} {b} {c}" for a, b, c in zip(family, middle, given, strict=True)]
        legacy = self.legacy_province(mothers)
        prov = office_code(legacy, day)
        pid_int = personal_id_ints(rng, np.asarray(prov), female, years, taken=p["pid_int"])
        rel = p["relationship_to_head"][mothers]
        child_rel = np.where(np.isin(rel, ["01", "02"]), "03", np.where(rel == "03", "06", "99"))
        first = int(p["person_id"].max()) + 1
        kids = dict(
            {
                "person_id": np.arange(first, first + k, dtype=np.int64),
                "personal_id": format_pids(pid_int),
                "pid_int": pid_int,
                "full_name": np.array(names, dtype=object),
                "sex": sexes,
                "date_of_birth": dob,
                "birth_province_code": np.asarray(prov).astype("U3"),
                "date_of_death": np.full(k, np.datetime64("NaT"), dtype="datetime64[D]"),
                "in_social_insurance": np.zeros(k, dtype=bool),
                "ma_so_bhxh": np.full(k, None, dtype=object),
                "born_during_run": np.ones(k, dtype=bool),
                "mother_person_id": p["person_id"][mothers],
                "ethnicity_code": p["ethnicity_code"][mothers],
                "cmnd": np.full(k, None, dtype=object),
                "phone": np.full(k, None, dtype=object),
                "ward_idx": p["ward_idx"][mothers],
                "commune_idx": p["commune_idx"][mothers],
                "household_id": p["household_id"][mothers],
                "relationship_to_head": child_rel.astype("U2"),
                "address_detail": p["address_detail"][mothers],
            }
        )
        first_row = len(p)
        self.persons = p.append(kids)
        return np.arange(first_row, first_row + k, dtype=np.int64)

    def _household_family(self, households: np.ndarray) -> np.ndarray:
        """The family name of each household's male head (None if the head is a woman)."""
        p = self.persons
        heads = np.flatnonzero((p["relationship_to_head"] == "01") & (p["sex"] == "male"))
        wanted = set(households)
        fam = {
            h: name.split(" ", 1)[0]
            for h, name in zip(p["household_id"][heads], p["full_name"][heads], strict=True)
            if h in wanted
        }
        return np.array([fam.get(h) for h in households], dtype=object)

    def _move(self, rng, movers: np.ndarray) -> None:
        """Movers go to another ward (60% in the same province) and head a new household."""
        if len(movers) == 0:
            return
        units = self.units
        p = self.persons
        ward = p["ward_idx"].copy()
        commune = p["commune_idx"].copy()
        prov = units.legacy_province[ward[movers]]
        same = rng.random(len(movers)) < 0.6
        new_ward = rng.integers(0, len(units.legacy_ward), size=len(movers))
        for j in np.flatnonzero(same):
            cand = np.flatnonzero(units.legacy_province == prov[j])
            new_ward[j] = cand[int(rng.integers(0, len(cand)))]
        new_commune = units.legacy_default[new_ward].copy()
        for j in range(len(movers)):
            targets = units.legacy_targets[new_ward[j]]
            if len(targets) > 1:
                new_commune[j] = targets[int(rng.integers(0, len(targets)))]
        ward[movers] = new_ward
        commune[movers] = new_commune
        p["ward_idx"] = ward
        p["commune_idx"] = commune
        hh = p["household_id"].copy()
        hh[movers] = self.new_household_ids(len(movers))
        p["household_id"] = hh
        rel = p["relationship_to_head"].copy()
        rel[movers] = "01"
        p["relationship_to_head"] = rel
        addr = p["address_detail"].copy()
        house = rng.integers(1, 300, size=len(movers))
        from ndc.synthetic.population import STREETS

        street = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), len(movers))]
        addr[movers] = [f"Số {a} đường {b}" for a, b in zip(house, street, strict=True)]
        p["address_detail"] = addr


def days_of(days: int) -> list[date]:
    """The baseline day and the following days."""
    return [BASELINE + timedelta(days=i) for i in range(days + 1)]
