"""Education (Ministry of Education and Training): students, enrolments and graduations in the
SQLite store behind the REST API (`ndc.synthetic.education_api`)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import numpy as np

from ndc.synthetic.defects import (
    DefectLog,
    conflicting_date,
    future_date,
    mojibake,
    nfd,
    pick_classes,
    unparseable_date,
)
from ndc.synthetic.names import strip_marks
from ndc.synthetic.population import BASELINE, ages_at
from ndc.synthetic.world import DayEvents, World, iso, rng_for, stamps, ts_iso_z

SOURCE = "education"
TABLES = {
    "students": [
        "student_id",
        "citizen_id",
        "full_name",
        "date_of_birth",
        "gender",
        "ethnicity_code",
        "updated_at",
    ],
    "enrolments": [
        "enrolment_id",
        "student_id",
        "school_code",
        "school_year",
        "grade",
        "enrolled_on",
        "updated_at",
    ],
    "graduations": ["graduation_id", "student_id", "level", "year", "classification", "updated_at"],
}
ENTITY_OF_TABLE = {"students": "student", "enrolments": "enrolment", "graduations": "graduation"}
ROW_CLASSES = (
    "pid_missing",
    "date_unparseable",
    "date_in_future",
    "date_text_dmy",
    "dob_conflict",
    "code_unknown",
)
NAME_CLASSES = ("name_no_diacritics", "name_nfd", "name_mojibake")
CLASSIFICATIONS = (("Giỏi", 0.3), ("Khá", 0.45), ("Trung bình", 0.25))
ENROL_SHARE_PER_DAY = 0.04
GRADUATE_SHARE_PER_DAY = 0.15
CORRECTED_PER_DAY = 0.005
SCHOOL_YEAR_START = date(2024, 9, 5)


class Education:
    """The education store, built from the baseline and changed day by day."""

    def __init__(self, seed: int, world: World, rates: dict[str, float], log: DefectLog):
        self.seed = seed
        self.rates = rates
        self.log = log
        self.tables: dict[str, dict[str, list]] = {
            t: {c: [] for c in cols} for t, cols in TABLES.items()
        }
        rng = rng_for(seed, 70)
        p = world.persons
        ages = ages_at(p["date_of_birth"], BASELINE)
        idx = np.flatnonzero((ages >= 6) & (ages <= 17) & (rng.random(len(p)) < 0.95))
        self.person = idx
        n = len(idx)
        dob = p["date_of_birth"][idx]
        grade = np.clip(ages_at(dob, SCHOOL_YEAR_START) - 5, 1, 12)
        self.grade = grade
        prov = world.units.legacy_province[p["ward_idx"][idx]]
        serial = rng.integers(0, 10**8, size=n)
        ids = [f"HS{pr}{s:08d}" for pr, s in zip(prov, serial, strict=True)]
        seen: set[str] = set()
        for j, sid in enumerate(ids):
            while sid in seen:
                sid = f"HS{prov[j]}{int(rng.integers(0, 10**8)):08d}"
            seen.add(sid)
            ids[j] = sid
        self.student_id = np.array(ids, dtype=object)
        span = int((np.datetime64(BASELINE, "s") - np.datetime64("2024-08-15", "s")).astype(int))
        ts = np.datetime64("2024-08-15", "s") + rng.integers(0, span, n).astype("timedelta64[s]")
        ts_s = ts_iso_z(ts)
        self._students(rng, world, np.arange(n), ts_s)
        commune = world.units.commune[p["commune_idx"][idx]]
        self.school = np.array(
            [
                f"TR{c}{1 if g <= 5 else 2 if g <= 9 else 3}"
                for c, g in zip(commune, grade, strict=True)
            ],
            dtype=object,
        )
        enrolled = np.datetime64(SCHOOL_YEAR_START, "D") + rng.integers(-3, 4, n).astype(
            "timedelta64[D]"
        )
        self._enrol(np.arange(n), "2024-2025", grade, iso(enrolled), ts_s)
        self.enrolled_next = np.zeros(n, dtype=bool)
        self.finalist = np.flatnonzero(np.isin(grade, [9, 12]))
        self.graduated = np.zeros(n, dtype=bool)
        done = self.finalist[rng.random(len(self.finalist)) < 0.5]
        g_ts = np.datetime64("2025-06-10", "s") + rng.integers(0, 17 * 86400, len(done)).astype(
            "timedelta64[s]"
        )
        self._graduate(rng, done, ts_iso_z(g_ts))

    # ------------------------------------------------------------------ rows

    def _students(self, rng, world: World, js: np.ndarray, ts) -> None:
        p = world.persons
        idx = self.person[js]
        n = len(js)
        pid = p["personal_id"][idx].copy()
        name = p["full_name"][idx].copy()
        dob_d = p["date_of_birth"][idx]
        dob = iso(dob_d)
        gender = np.where(p["sex"][idx] == "male", "M", "F").astype(object)
        eth = p["ethnicity_code"][idx].copy()
        ascii_name = np.array([x.isascii() for x in name])
        for cls in ROW_CLASSES:
            if cls in self.rates:
                self.log.count_eligible(SOURCE, cls, n)
        for cls in NAME_CLASSES:
            if cls in self.rates:
                self.log.count_eligible(SOURCE, cls, int((~ascii_name).sum()))
        picked = pick_classes(rng, n, ROW_CLASSES, self.rates)
        elig = {c: ~ascii_name for c in NAME_CLASSES}
        named = pick_classes(rng, n, NAME_CLASSES, self.rates, elig)
        keys = self.student_id[js]
        for j in np.flatnonzero(picked >= 0):
            cls = ROW_CLASSES[picked[j]]
            d = date.fromisoformat(dob[j])
            if cls == "pid_missing":
                self.log.add(SOURCE, "student", [keys[j]], "citizen_id", cls, [pid[j]], [None])
                pid[j] = None
                continue
            if cls == "code_unknown":
                raw = str(rng.choice(["99", "60", "00"]))
                self.log.add(SOURCE, "student", [keys[j]], "ethnicity_code", cls, [eth[j]], [raw])
                eth[j] = raw
                continue
            if cls == "date_unparseable":
                raw = unparseable_date(rng, d)
            elif cls == "date_in_future":
                raw = future_date(rng, d).isoformat()
            elif cls == "date_text_dmy":
                raw = f"{d.day:02d}/{d.month:02d}/{d.year}"
            else:
                raw = conflicting_date(rng, d).isoformat()
            self.log.add(SOURCE, "student", [keys[j]], "date_of_birth", cls, [dob[j]], [raw])
            dob[j] = raw
        for j in np.flatnonzero(named >= 0):
            cls = NAME_CLASSES[named[j]]
            raw = {"name_no_diacritics": strip_marks, "name_nfd": nfd, "name_mojibake": mojibake}[
                cls
            ](name[j])
            self.log.add(SOURCE, "student", [keys[j]], "full_name", cls, [name[j]], [raw])
            name[j] = raw
        t = self.tables["students"]
        for c, v in zip(TABLES["students"], (keys, pid, name, dob, gender, eth, ts), strict=True):
            t[c].extend(v)
        self.student_row = {sid: r for r, sid in enumerate(t["student_id"])}

    def _enrol(self, js, school_year: str, grade, enrolled_on, ts) -> None:
        t = self.tables["enrolments"]
        first = len(t["enrolment_id"]) + 1
        t["enrolment_id"].extend(f"GD{i:010d}" for i in range(first, first + len(js)))
        t["student_id"].extend(self.student_id[js])
        t["school_code"].extend(self.school[js])
        t["school_year"].extend([school_year] * len(js))
        t["grade"].extend(int(g) for g in grade)
        t["enrolled_on"].extend(enrolled_on)
        t["updated_at"].extend(ts)

    def _graduate(self, rng, js, ts) -> None:
        t = self.tables["graduations"]
        first = len(t["graduation_id"]) + 1
        labels = [c for c, _ in CLASSIFICATIONS]
        w = np.array([p for _, p in CLASSIFICATIONS])
        t["graduation_id"].extend(f"TN{i:010d}" for i in range(first, first + len(js)))
        t["student_id"].extend(self.student_id[js])
        t["level"].extend("THCS" if self.grade[j] == 9 else "THPT" for j in js)
        t["year"].extend([2025] * len(js))
        t["classification"].extend(np.array(labels)[rng.choice(3, size=len(js), p=w)])
        t["updated_at"].extend(ts)
        self.graduated[js] = True

    # ------------------------------------------------------------------ one day

    def apply_day(self, world: World, ev: DayEvents) -> None:
        if ev.index == 0:
            return
        rng = rng_for(self.seed, 71, ev.index)
        day = ev.day
        n = len(self.person)
        alive = np.isnat(world.persons["date_of_death"][self.person])
        cand = np.flatnonzero(~self.enrolled_next & alive & (self.grade < 12))
        js = cand[rng.random(len(cand)) < ENROL_SHARE_PER_DAY]
        late = rng.integers(0, 10, len(js)) * (rng.random(len(js)) < 0.2)
        on = np.datetime64(day, "D") - late.astype("timedelta64[D]")
        self._enrol(
            js, "2025-2026", self.grade[js] + 1, iso(on), ts_iso_z(stamps(rng, day, len(js)))
        )
        self.enrolled_next[js] = True
        todo = self.finalist[~self.graduated[self.finalist]]
        js = todo[rng.random(len(todo)) < GRADUATE_SHARE_PER_DAY]
        self._graduate(rng, js, ts_iso_z(stamps(rng, day, len(js))))
        fixed = np.flatnonzero(rng.random(n) < CORRECTED_PER_DAY)  # re-saved records
        ts = ts_iso_z(stamps(rng, day, len(fixed)))
        col = self.tables["students"]["updated_at"]
        for j, t in zip(fixed, ts, strict=True):
            col[j] = t

    # ------------------------------------------------------------------ output

    def write(self, path: Path) -> dict[str, int]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=OFF")
            for table, cols in TABLES.items():
                types = {"grade": "INTEGER", "year": "INTEGER"}
                ddl = ", ".join(
                    f"{c} {types.get(c, 'TEXT')}" + (" PRIMARY KEY" if i == 0 else "")
                    for i, c in enumerate(cols)
                )
                conn.execute(f"CREATE TABLE {table} ({ddl})")
                conn.execute(
                    f"CREATE INDEX ix_{table}_updated_at ON {table} (updated_at, {cols[0]})"
                )
                data = self.tables[table]
                conn.executemany(
                    f"INSERT INTO {table} VALUES ({', '.join('?' * len(cols))})",
                    zip(*[data[c] for c in cols], strict=True),
                )
        return {ENTITY_OF_TABLE[t]: len(self.tables[t][TABLES[t][0]]) for t in TABLES}
