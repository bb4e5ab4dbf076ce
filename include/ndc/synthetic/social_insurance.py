"""Social insurance (Vietnam Social Security): `insured_person` and `qua_trinh_dong`
(contribution periods) in an SQL database (SQLite by default, MariaDB/MySQL or PostgreSQL
through a URL)."""

from __future__ import annotations

from datetime import date

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ndc.synthetic import sqlio
from ndc.synthetic.defects import (
    DefectLog,
    conflicting_date,
    international_phone,
    invisible_name,
    lossy_name,
    malform_pid,
    mojibake,
    nfd,
    pick_classes,
    sex_year_mismatch_pid,
    unknown_province_pid,
)
from ndc.synthetic.linkage_cases import ID_LESS, swapped
from ndc.synthetic.names import legacy_upper, strip_marks
from ndc.synthetic.population import BASELINE, MOBILE_PREFIXES, ages_at
from ndc.synthetic.world import DayEvents, World, iso, rng_for, stamps, ts_text

SOURCE = "social_insurance"
ENTITY = "insured_person"
TABLE = "insured_person"
COLUMNS = [
    "ma_so_bhxh",
    "so_dinh_danh",
    "so_cmnd",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "ma_don_vi",
    "ma_so_thue_don_vi",
    "so_dien_thoai",
    "updated_at",
]
PERIOD_COLUMNS = [
    "id",
    "ma_so_bhxh",
    "tu_thang",
    "den_thang",
    "muc_luong",
    "ma_so_thue_don_vi",
    "updated_at",
]
SHARE_INSURED = {(18, 60): 0.55, (61, 65): 0.30}  # by completed age on BASELINE
JOINS_PER_PERSON_DAY = 0.002
SHARE_UPDATED_PER_DAY = 0.02
SHARE_UPDATED_TWICE = 0.1  # of the day's changes: corrected again later the same day
ROW_CLASSES = (
    "pid_missing",
    "pid_malformed",
    "pid_unknown_province",
    "pid_sex_year_mismatch",
    "cmnd_only",
    "dob_conflict",
    "phone_old_11_digit",
    "duplicate_near",
    "phone_international",
)
NAME_CLASSES = (
    "name_upper_no_diacritics",
    "name_nfd",
    "name_invisible",
    "name_mojibake_twice",
    "name_unrepairable",
)
# Name classes that only a name with marks can receive.
MARKED_NAME_CLASSES = ("name_nfd", "name_mojibake_twice", "name_unrepairable")
_SQLITE_DATETIME = sqlite.DATETIME(
    storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
)
_TS = sa.DateTime().with_variant(_SQLITE_DATETIME, "sqlite")


def metadata() -> sa.MetaData:
    """The two tables."""
    md = sa.MetaData()
    sa.Table(
        TABLE,
        md,
        sa.Column("ma_so_bhxh", sa.String(10), primary_key=True),
        sa.Column("so_dinh_danh", sa.String(12)),
        sa.Column("so_cmnd", sa.String(9)),
        sa.Column("ho_ten", sa.String(200)),
        sa.Column("ngay_sinh", sa.Date),
        sa.Column("gioi_tinh", sa.Integer),
        sa.Column("ma_don_vi", sa.String(16)),
        sa.Column("ma_so_thue_don_vi", sa.String(10)),
        sa.Column("so_dien_thoai", sa.String(20)),
        sa.Column("updated_at", _TS),
        sa.Index("ix_insured_person_updated_at", "updated_at"),
    )
    sa.Table(
        "qua_trinh_dong",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ma_so_bhxh", sa.String(10), nullable=False),
        sa.Column("tu_thang", sa.String(7), nullable=False),
        sa.Column("den_thang", sa.String(7)),
        sa.Column("muc_luong", sa.Integer),
        sa.Column("ma_so_thue_don_vi", sa.String(10)),
        sa.Column("updated_at", _TS),
        sa.Index("ix_qua_trinh_dong_updated_at", "updated_at"),
    )
    return md


def month(d: date) -> str:
    """'MM/YYYY'."""
    return f"{d.month:02d}/{d.year}"


class SocialInsurance:
    """Insured persons and contribution periods, evolving day by day (numpy columns)."""

    def __init__(
        self, seed: int, world: World, employers, rates: dict[str, float], log: DefectLog
    ) -> None:
        self.seed = seed
        self.rates = rates
        self.log = log
        self.mst, self.units, self.weights = employers
        self.r: dict[str, np.ndarray] = {}  # insured_person rows
        self.q: dict[str, np.ndarray] = {}  # qua_trinh_dong rows
        self.taken = np.zeros(0, dtype=np.int64)
        self.cur = np.full(len(world.persons), -1, dtype=np.int64)  # person -> open period
        self.row_of = np.full(len(world.persons), -1, dtype=np.int64)  # person -> row
        rng = rng_for(seed, 40)
        p = world.persons
        ages = ages_at(p["date_of_birth"], BASELINE)
        prob = np.zeros(len(p))
        for (lo, hi), share in SHARE_INSURED.items():
            prob[(ages >= lo) & (ages <= hi)] = share
        idx = np.flatnonzero(rng.random(len(p)) < prob)
        self._enrol(rng, world, idx, BASELINE, history=True)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _append(store: dict[str, np.ndarray], cols: dict[str, np.ndarray]) -> int:
        first = len(next(iter(store.values()))) if store else 0
        for c, v in cols.items():
            store[c] = np.concatenate([store[c], v]) if c in store else np.asarray(v)
        return first

    def _codes(self, rng, prefixes: np.ndarray) -> np.ndarray:
        """Unique 10-digit BHXH codes: 2-digit province prefix + 8 random digits."""
        base = np.asarray(prefixes, dtype=np.int64) * 10**8
        codes = base + rng.integers(0, 10**8, size=len(base))
        while True:
            _, first = np.unique(codes, return_index=True)
            dup = np.ones(len(codes), dtype=bool)
            dup[first] = False
            dup |= np.isin(codes, self.taken)
            if not dup.any():
                break
            codes[dup] = base[dup] + rng.integers(0, 10**8, size=int(dup.sum()))
        self.taken = np.concatenate([self.taken, codes])
        return np.char.zfill(codes.astype(str), 10).astype(object)

    def _employer(self, rng, k: int) -> np.ndarray:
        return rng.choice(len(self.mst), size=k, p=self.weights)

    def _grow(self, n: int) -> None:
        if n > len(self.cur):
            pad = np.full(n - len(self.cur), -1, dtype=np.int64)
            self.cur = np.concatenate([self.cur, pad])
            self.row_of = np.concatenate([self.row_of, pad])

    def _hard_case(self, rng, key, personal_id, name, dob, j, day, world, unnamed) -> None:
        """Make an insured person without a usable personal ID harder to link, labelled in
        truth/linkage_cases.parquet (ndc.synthetic.linkage_cases): the date of birth with day
        and month swapped, or the name without marks (proper case: the upper case of the
        source's legacy style is a defect class of its own, name_upper_no_diacritics) when the
        row carries no name defect."""
        d = date.fromisoformat(dob[j])
        case = self.log.cases.pick(
            rng,
            name[j],
            d,
            world.persons["full_name"],
            can_strip=unnamed,
            can_swap=d.year < day.year - 1,
        )
        if case == "dob_swap":
            dob[j] = swapped(d).isoformat()
        elif case == "no_marks":
            name[j] = strip_marks(name[j])
        if case is not None:
            self.log.cases.add(SOURCE, ENTITY, key, case, personal_id)

    def _enrol(self, rng, world: World, idx: np.ndarray, day: date, history: bool) -> None:
        """New insured persons (with their defects) and their open contribution periods."""
        p = world.persons
        self._grow(len(p))
        n = len(idx)
        if n == 0:
            return
        codes = self._codes(rng, p["birth_province_code"][idx].astype(np.int64))
        emp = self._employer(rng, n)
        ts = stamps(rng, day, n)
        pid = p["personal_id"][idx].astype(object)
        name = p["full_name"][idx].astype(object)
        dob_d = p["date_of_birth"][idx]
        dob = iso(dob_d)
        sex = np.where(p["sex"][idx] == "male", 1, 0).astype(np.int8)
        cmnd = p["cmnd"][idx]
        phone = p["phone"][idx].astype(object)
        has_cmnd = np.array([isinstance(c, str) for c in cmnd], dtype=bool)
        so_cmnd = np.where(has_cmnd & (rng.random(n) < 0.5), cmnd, None)
        salary = np.round(rng.lognormal(np.log(8e6), 0.5, size=n), -3).astype(np.int64)
        has_old_phone = np.array(
            [isinstance(x, str) and bool(MOBILE_PREFIXES.get(x[:3])) for x in phone], dtype=bool
        )
        ascii_name = np.array([nm.isascii() for nm in name], dtype=bool)
        has_phone = np.array([isinstance(x, str) for x in phone], dtype=bool)
        eligible = {
            "cmnd_only": has_cmnd,
            "phone_old_11_digit": has_old_phone,
            "phone_international": has_phone,
        }
        for cls in ROW_CLASSES:
            if cls in self.rates:
                self.log.count_eligible(SOURCE, cls, int(eligible.get(cls, np.ones(n, bool)).sum()))
        picked = pick_classes(rng, n, ROW_CLASSES, self.rates, eligible)
        # A name quarantined as unrepairable would hide the row's other defect.
        name_eligible = {c: ~ascii_name for c in MARKED_NAME_CLASSES}
        name_eligible["name_unrepairable"] = ~ascii_name & (picked < 0)
        for cls in NAME_CLASSES:
            if cls in self.rates:
                e = name_eligible.get(cls, np.ones(n, bool))
                self.log.count_eligible(SOURCE, cls, int(e.sum()))
        named = pick_classes(rng, n, NAME_CLASSES, self.rates, name_eligible)
        # Hard linkage cases: their own stream, so nothing else changes with them.
        case_rng = np.random.default_rng([self.seed, 42, day.toordinal()])
        dup_rows = []
        for j in np.flatnonzero(picked >= 0):
            cls = ROW_CLASSES[picked[j]]
            key = codes[j]
            if cls.startswith("pid_"):
                raw = {
                    "pid_missing": lambda c: None,
                    "pid_malformed": lambda c: malform_pid(rng, c),
                    "pid_unknown_province": lambda c: unknown_province_pid(rng, c),
                    "pid_sex_year_mismatch": lambda c: sex_year_mismatch_pid(rng, c),
                }[cls](pid[j])
                self.log.add(SOURCE, ENTITY, [key], "so_dinh_danh", cls, [pid[j]], [raw])
                if cls in ID_LESS:
                    self._hard_case(case_rng, key, pid[j], name, dob, j, day, world, named[j] < 0)
                pid[j] = raw
                if cls == "pid_missing":
                    so_cmnd[j] = None  # no identifier at all (with a CMND it is cmnd_only)
            elif cls == "cmnd_only":
                self.log.add(SOURCE, ENTITY, [key], "so_dinh_danh", cls, [pid[j]], [None])
                pid[j] = None
                so_cmnd[j] = cmnd[j]
            elif cls == "dob_conflict":
                clean = dob[j]
                raw = conflicting_date(rng, date.fromisoformat(clean)).isoformat()
                dob[j] = raw
                self.log.add(SOURCE, ENTITY, [key], "ngay_sinh", cls, [clean], [raw])
            elif cls == "phone_old_11_digit":
                clean = "+84" + phone[j][1:]
                raw = MOBILE_PREFIXES[phone[j][:3]] + phone[j][3:]
                phone[j] = raw
                self.log.add(SOURCE, ENTITY, [key], "so_dien_thoai", cls, [clean], [raw])
            elif cls == "phone_international":
                clean = "+84" + phone[j][1:]
                old = MOBILE_PREFIXES.get(phone[j][:3])
                number = old if old and rng.random() < 0.3 else phone[j][:3]
                raw = international_phone(rng, number[1:] + phone[j][3:])
                phone[j] = raw
                self.log.add(SOURCE, ENTITY, [key], "so_dien_thoai", cls, [clean], [raw])
            elif cls == "duplicate_near":
                dup_rows.append(j)
        for j in np.flatnonzero(named >= 0):
            cls = NAME_CLASSES[named[j]]
            raw = {
                "name_upper_no_diacritics": legacy_upper,
                "name_nfd": nfd,
                "name_invisible": lambda v: invisible_name(rng, v),
                "name_mojibake_twice": lambda v: mojibake(mojibake(v)),
                "name_unrepairable": lossy_name,
            }[cls](name[j])
            self.log.add(SOURCE, ENTITY, [codes[j]], "ho_ten", cls, [name[j]], [raw])
            name[j] = raw
        first = self._append(
            self.r,
            {"code": codes, "pid": pid, "cmnd": so_cmnd, "name": name, "dob": dob, "sex": sex,
             "emp": emp, "phone": phone, "ts": ts, "person": idx.astype(np.int64)},
        )  # fmt: skip
        self.row_of[idx] = np.arange(first, first + n)
        rows = np.arange(first, first + n)
        if history:  # the period in force since a past month, some with an earlier one
            y0 = np.maximum(
                dob_d.astype("datetime64[Y]").astype(np.int64) + 1970 + 18,
                day.year - rng.integers(0, 15, size=n),
            )
            start = np.minimum(y0 * 12 + rng.integers(0, 12, size=n), day.year * 12 + day.month - 2)
            old = np.flatnonzero(rng.random(n) < 0.4)
            self._append(
                self.q,
                {"row": rows[old], "tu": start[old] - rng.integers(12, 60, size=len(old)),
                 "den": start[old] - 1, "salary": (salary[old] * 0.8).round(-3).astype(np.int64),
                 "emp": self._employer(rng, len(old)), "ts": ts[old]},
            )  # fmt: skip
        else:
            start = np.full(n, day.year * 12 + day.month - 1, dtype=np.int64)
        pfirst = self._append(
            self.q,
            {"row": rows, "tu": start, "den": np.full(n, -1, dtype=np.int64), "salary": salary,
             "emp": emp, "ts": ts},
        )  # fmt: skip
        self.cur[idx] = np.arange(pfirst, pfirst + n)
        if dup_rows:
            d = np.array(dup_rows)
            dcodes = self._codes(rng, np.array([int(codes[j][:2]) for j in d]))
            self._append(
                self.r,
                {"code": dcodes, "pid": p["personal_id"][idx[d]].astype(object),
                 "cmnd": np.full(len(d), None, dtype=object),
                 "name": np.array([legacy_upper(x) for x in name[d]], dtype=object),
                 "dob": dob[d], "sex": sex[d], "emp": emp[d],
                 "phone": np.full(len(d), None, dtype=object), "ts": ts[d],
                 "person": np.full(len(d), -1, dtype=np.int64)},
            )  # fmt: skip
            self.log.add(SOURCE, ENTITY, list(dcodes), "ma_so_bhxh", "duplicate_near",
                         list(codes[d]), list(dcodes))  # fmt: skip
        ins = world.persons["in_social_insurance"]
        ins[idx] = True
        bh = world.persons["ma_so_bhxh"]
        bh[idx] = codes

    # ------------------------------------------------------------------ one day

    def apply_day(self, world: World, ev: DayEvents) -> None:
        """Deaths close periods, employers change, new persons join."""
        if ev.index == 0:
            # The baseline day's state is the baseline table: a person whose death is
            # registered that day keeps the open period the table holds, which is exactly a
            # dead person still active, so it is labelled as one.
            dod = world.persons["date_of_death"]
            dead = [i for i in ev.deaths if self.cur[i] >= 0]
            self.log.count_eligible(SOURCE, "dead_still_active", len(dead))
            for i in dead:
                d = dod[i].astype(object)
                self.log.add(SOURCE, "contribution_period", [str(self.cur[i] + 1)], "den_thang",
                             "dead_still_active", [f"{d.month:02d}/{d.year}"], [None])  # fmt: skip
            return
        self._grow(len(world.persons))
        rng = rng_for(self.seed, 41, ev.index)
        day = ev.day
        this_month = day.year * 12 + day.month - 1
        dod = world.persons["date_of_death"]
        dead = np.array([i for i in ev.deaths if self.cur[i] >= 0], dtype=np.int64)
        self.log.count_eligible(SOURCE, "dead_still_active", len(dead))
        still = rng.random(len(dead)) < self.rates.get("dead_still_active", 0.0)
        ts = stamps(rng, day, len(dead))
        q, r = self.q, self.r
        for i, active, t in zip(dead, still, ts, strict=True):
            pr = self.cur[i]
            self.cur[i] = -1
            d = dod[i].astype(object)
            if active:
                self.log.add(SOURCE, "contribution_period", [str(pr + 1)], "den_thang",
                             "dead_still_active", [f"{d.month:02d}/{d.year}"], [None])  # fmt: skip
                continue
            q["den"][pr] = d.year * 12 + d.month - 1
            q["ts"][pr] = t
            r["ts"][self.row_of[i]] = t
        # employer changes among living insured persons with an open period
        active = np.flatnonzero((self.cur >= 0)[: len(dod)] & np.isnat(dod[: len(self.cur)]))
        changed = active[rng.random(len(active)) < SHARE_UPDATED_PER_DAY]
        new_emp = self._employer(rng, len(changed))
        ts = stamps(rng, day, len(changed), 6, 18)
        twice = rng.random(len(changed)) < SHARE_UPDATED_TWICE
        ts = np.where(
            twice, ts + rng.integers(600, 4 * 3600, len(changed)).astype("timedelta64[s]"), ts
        )
        rows = self.row_of[changed]
        same = new_emp == r["emp"][rows]
        new_emp[same] = (new_emp[same] + 1) % len(self.mst)
        old = self.cur[changed]
        q["den"][old] = this_month
        q["ts"][old] = ts
        raise_ = rng.uniform(0.95, 1.3, len(changed))
        pfirst = self._append(
            q,
            {"row": rows, "tu": np.full(len(changed), this_month, dtype=np.int64),
             "den": np.full(len(changed), -1, dtype=np.int64),
             "salary": (q["salary"][old] * raise_).round(-3).astype(np.int64), "emp": new_emp,
             "ts": ts},
        )  # fmt: skip
        self.cur[changed] = np.arange(pfirst, pfirst + len(changed))
        r["emp"][rows] = new_emp
        r["ts"][rows] = ts
        # new employments
        p = world.persons
        ages = world.ages(BASELINE)
        cand = np.flatnonzero(
            world.alive_mask() & ~p["in_social_insurance"] & (ages >= 18) & (ages <= 60)
        )
        k = min(len(cand), int(rng.poisson(JOINS_PER_PERSON_DAY * world.n0)))
        joiners = np.sort(rng.choice(cand, size=k, replace=False)) if k else cand[:0]
        self._enrol(rng, world, joiners, day, history=False)

    # ------------------------------------------------------------------ output

    def _insured_rows(self, chunk: int = 50_000):
        r = self.r
        order = np.argsort(r["code"].astype("U10"), kind="stable")
        for s in range(0, len(order), chunk):
            o = order[s : s + chunk]
            ts = ts_text(r["ts"][o])
            emp = r["emp"][o]
            yield from zip(
                r["code"][o], r["pid"][o], r["cmnd"][o], r["name"][o], r["dob"][o],
                r["sex"][o].tolist(), self.units[emp], self.mst[emp], r["phone"][o], ts,
                strict=True,
            )  # fmt: skip

    def _period_rows(self, chunk: int = 50_000):
        q = self.q
        for s in range(0, self.n_periods, chunk):
            sl = slice(s, s + chunk)
            ts = ts_text(q["ts"][sl])
            code = self.r["code"][q["row"][sl]]
            yield from zip(
                range(s + 1, s + 1 + len(ts)), code, _months(q["tu"][sl]), _months(q["den"][sl]),
                q["salary"][sl].tolist(), self.mst[q["emp"][sl]], ts, strict=True,
            )  # fmt: skip

    def write(self, url: str) -> str:
        return sqlio.write_tables(
            url,
            metadata(),
            {TABLE: (COLUMNS, self._insured_rows()),
             "qua_trinh_dong": (PERIOD_COLUMNS, self._period_rows())},
        )  # fmt: skip

    @property
    def n_rows(self) -> int:
        return len(self.r["code"])

    @property
    def n_periods(self) -> int:
        return len(self.q["row"])


def _months(m: np.ndarray) -> list:
    """year*12 + month-1 -> 'MM/YYYY' (None for -1)."""
    return [None if v < 0 else f"{v % 12 + 1:02d}/{v // 12}" for v in m.tolist()]


def pd_date(d) -> date:
    """numpy datetime64 -> date."""
    return date.fromisoformat(str(np.datetime64(d, "D")))
