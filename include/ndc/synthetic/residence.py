"""Residence registration (Ministry of Public Security): residence changes (`cu_tru_bien_dong`)
and household membership (`thanh_vien_ho`) in an SQL database (SQLite by default, PostgreSQL
through a URL). Changes dated before 2025-07-01 carry legacy province/district/ward codes;
later changes 2025 province and commune codes (district NULL)."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ndc.synthetic import sqlio
from ndc.synthetic.defects import DefectLog
from ndc.synthetic.population import BASELINE, REFORM
from ndc.synthetic.world import DayEvents, World, iso, rng_for, stamps, ts_text

SOURCE = "residence"
CHANGE_COLUMNS = [
    "id",
    "so_dinh_danh",
    "loai_bien_dong",
    "ma_tinh",
    "ma_huyen",
    "ma_xa",
    "dia_chi_chi_tiet",
    "ngay_bien_dong",
    "updated_at",
]
MEMBER_COLUMNS = [
    "id",
    "ma_ho",
    "so_dinh_danh",
    "quan_he_chu_ho",
    "tu_ngay",
    "den_ngay",
    "updated_at",
]
TEMPORARY_SHARE = 0.03
CORRECTED_SHARE = 0.05  # of a day's new changes: address corrected later the same day
_TS = sa.DateTime().with_variant(
    sqlite.DATETIME(
        storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
    ),
    "sqlite",
)


def metadata() -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "cu_tru_bien_dong",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("so_dinh_danh", sa.String(12)),
        sa.Column("loai_bien_dong", sa.String(20), nullable=False),
        sa.Column("ma_tinh", sa.String(2)),
        sa.Column("ma_huyen", sa.String(3)),
        sa.Column("ma_xa", sa.String(5)),
        sa.Column("dia_chi_chi_tiet", sa.String(200)),
        sa.Column("ngay_bien_dong", sa.Date),
        sa.Column("updated_at", _TS),
        sa.Index("ix_cu_tru_bien_dong_updated_at", "updated_at"),
    )
    sa.Table(
        "thanh_vien_ho",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ma_ho", sa.String(12), nullable=False),
        sa.Column("so_dinh_danh", sa.String(12)),
        sa.Column("quan_he_chu_ho", sa.String(2)),
        sa.Column("tu_ngay", sa.Date),
        sa.Column("den_ngay", sa.Date),
        sa.Column("updated_at", _TS),
        sa.Index("ix_thanh_vien_ho_updated_at", "updated_at"),
    )
    return md


def _append(store: dict[str, np.ndarray], cols: dict[str, np.ndarray]) -> int:
    first = len(next(iter(store.values()))) if store else 0
    for c, v in cols.items():
        store[c] = np.concatenate([store[c], v]) if c in store else np.asarray(v)
    return first


class Residence:
    """The residence database, built from the baseline and changed day by day (numpy columns).

    Rows reference persons by index; personal ID numbers never change, so they are looked up
    when the tables are written.
    """

    def __init__(self, seed: int, world: World, rates: dict[str, float], log: DefectLog):
        self.seed = seed
        self.rates = rates
        self.log = log
        self.units = world.units
        self.c: dict[str, np.ndarray] = {}  # cu_tru_bien_dong
        self.m: dict[str, np.ndarray] = {}  # thanh_vien_ho
        self.code_systems: list[tuple] = []
        rng = rng_for(seed, 50)
        p = world.persons
        n = len(p)
        dob = p["date_of_birth"]
        lo = np.maximum(dob, np.datetime64("2005-01-01"))
        span = (np.datetime64(BASELINE, "D") - lo).astype(np.int64)
        reg = lo + (rng.random(n) * np.maximum(span, 1)).astype("timedelta64[D]")
        reg = np.minimum(reg, np.datetime64(BASELINE, "D") - np.timedelta64(1, "D"))
        ts = reg.astype("datetime64[s]") + rng.integers(7 * 3600, 17 * 3600, n).astype(
            "timedelta64[s]"
        )
        order = np.lexsort((np.arange(n), ts))  # ids follow time
        ward = p["ward_idx"]
        addr = p["address_detail"]
        self._changes(order, "DK_THUONG_TRU", ward[order], p["commune_idx"][order],
                      addr[order], reg[order], ts[order], np.ones(n, bool))  # fmt: skip
        temp = order[rng.random(n)[order] < TEMPORARY_SHARE]
        other = rng.integers(0, len(self.units.legacy_ward), size=len(temp))
        self._changes(temp, "DK_TAM_TRU", other, self.units.legacy_default[other],
                      addr[temp], reg[temp], ts[temp], np.ones(len(temp), bool))  # fmt: skip
        first = self._members(order, p["household_id"][order], p["relationship_to_head"][order],
                              reg[order], ts[order])  # fmt: skip
        self.member_row = np.full(n, -1, dtype=np.int64)  # person -> open membership row
        self.member_row[order] = np.arange(first, first + n)
        self._first_today = 0

    # ------------------------------------------------------------------ rows

    def _changes(self, persons, kind, ward, commune, addr, when, ts, legacy) -> int:
        k = len(persons)
        return _append(
            self.c,
            {"person": np.asarray(persons, dtype=np.int64), "kind": np.full(k, kind, dtype="U14"),
             "ward": np.asarray(ward, dtype=np.int64), "commune": np.asarray(commune, np.int64),
             "addr": np.asarray(addr, dtype=object), "when": np.asarray(when, "datetime64[D]"),
             "ts": np.asarray(ts, "datetime64[s]"), "legacy": np.asarray(legacy, dtype=bool)},
        )  # fmt: skip

    def _members(self, persons, hh, rel, tu, ts) -> int:
        k = len(persons)
        return _append(
            self.m,
            {"person": np.asarray(persons, dtype=np.int64), "hh": np.asarray(hh, dtype=object),
             "rel": np.asarray(rel, dtype="U2"), "tu": np.asarray(tu, "datetime64[D]"),
             "den": np.full(k, np.datetime64("NaT"), dtype="datetime64[D]"),
             "ts": np.asarray(ts, "datetime64[s]")},
        )  # fmt: skip

    def _grow(self, n: int) -> None:
        if n > len(self.member_row):
            pad = np.full(n - len(self.member_row), -1, dtype=np.int64)
            self.member_row = np.concatenate([self.member_row, pad])

    def _register(self, rng, world: World, persons, when: np.ndarray, ts: np.ndarray) -> None:
        """DK_THUONG_TRU rows at the persons' current addresses, in the code system of the date,
        with legacy-unit defects on changes dated on or after 2025-07-01."""
        if len(persons) == 0:
            return
        p = world.persons
        u = self.units
        ward = p["ward_idx"][persons]
        commune = p["commune_idx"][persons]
        post = when >= np.datetime64(REFORM, "D")
        amb = u.ambiguous[ward]
        r_un = self.rates.get("admin_legacy_unambiguous", 0.0)
        r_amb = self.rates.get("admin_legacy_ambiguous", 0.0)
        self.log.count_eligible(SOURCE, "admin_legacy_unambiguous", int((post & ~amb).sum()))
        self.log.count_eligible(SOURCE, "admin_legacy_ambiguous", int((post & amb).sum()))
        draw = rng.random(len(persons))
        stale = post & (((draw < r_un) & ~amb) | ((draw >= r_un) & (draw < r_un + r_amb) & amb))
        legacy = ~post | stale
        first = self._changes(persons, "DK_THUONG_TRU", ward, commune, p["address_detail"][persons],
                              when, ts, legacy)  # fmt: skip
        ids = np.arange(first + 1, first + 1 + len(persons)).astype(str)
        for j in range(len(persons)):
            self.code_systems.append(
                (SOURCE, "residence_change", ids[j], "ma_xa", "cu_tru_bien_dong",
                 "legacy" if legacy[j] else "2025",
                 u.legacy_ward[ward[j]] if legacy[j] else u.commune[commune[j]],
                 u.commune[commune[j]])
            )  # fmt: skip
            if stale[j]:
                cls = "admin_legacy_ambiguous" if amb[j] else "admin_legacy_unambiguous"
                self.log.add(SOURCE, "residence_change", [ids[j]], "ma_xa", cls,
                             [u.commune[commune[j]]], [u.legacy_ward[ward[j]]])  # fmt: skip

    def _remove(self, persons, when, ts, ward, commune) -> None:
        """XOA_THUONG_TRU rows (code system of the change date) and memberships closed."""
        if len(persons) == 0:
            return
        legacy = when < np.datetime64(REFORM, "D")
        self._changes(persons, "XOA_THUONG_TRU", ward, commune, np.full(len(persons), None),
                      when, ts, legacy)  # fmt: skip
        rows = self.member_row[persons]
        self.m["den"][rows] = when
        self.m["ts"][rows] = ts
        self.member_row[persons] = -1

    # ------------------------------------------------------------------ one day

    def apply_day(self, world: World, ev: DayEvents) -> None:
        rng = rng_for(self.seed, 51, ev.index)
        day = ev.day
        p = world.persons
        self._grow(len(p))
        # deaths: removal and the membership closed, unless the death never reached residence
        dod = p["date_of_death"]
        dead = ev.deaths[self.member_row[ev.deaths] >= 0]
        self.log.count_eligible(SOURCE, "dead_still_active", len(dead))
        still = rng.random(len(dead)) < self.rates.get("dead_still_active", 0.0)
        ts = stamps(rng, day, len(dead))
        for i in dead[still]:
            r = self.member_row[i]
            self.log.add(SOURCE, "household_member", [str(r + 1)], "den_ngay",
                         "dead_still_active", [str(dod[i])], [None])  # fmt: skip
            self.member_row[i] = -1
        gone = dead[~still]
        self._remove(gone, dod[gone], ts[~still], p["ward_idx"][gone], p["commune_idx"][gone])
        # births: registered at the mother's address, member of her household
        kids = ev.children
        ts = stamps(rng, day, len(kids))
        when = np.full(len(kids), np.datetime64(day, "D"))
        self._register(rng, world, kids, when, ts)
        first = self._members(kids, p["household_id"][kids], p["relationship_to_head"][kids],
                              when, ts)  # fmt: skip
        self.member_row[kids] = np.arange(first, first + len(kids))
        # moves: removal at the old address, registration at the new one, a new household
        movers = ev.movers
        ts = stamps(rng, day, len(movers))
        self._remove(movers, ev.move_dates, ts, ev.old_ward, ev.old_commune)
        self._register(rng, world, movers, ev.move_dates, ts)
        first = self._members(movers, p["household_id"][movers], np.full(len(movers), "01"),
                              ev.move_dates, ts)  # fmt: skip
        self.member_row[movers] = np.arange(first, first + len(movers))
        # corrections: some of today's new rows are saved again later today (updated twice)
        rows = np.arange(self._first_today, len(self.c["ts"]))
        fix = rows[rng.random(len(rows)) < CORRECTED_SHARE]
        later = self.c["ts"][fix] + rng.integers(600, 3600, len(fix)).astype("timedelta64[s]")
        same_day = later < np.datetime64(day, "s") + np.timedelta64(86400, "s")
        self.c["ts"][fix[same_day]] = later[same_day]
        self._first_today = len(self.c["ts"])

    def start(self) -> None:
        """Mark the end of the baseline rows (corrections only touch rows of the same day)."""
        self._first_today = len(self.c["ts"])

    # ------------------------------------------------------------------ output

    def _change_rows(self, pid: np.ndarray, chunk: int = 50_000):
        c, u = self.c, self.units
        n = len(c["ts"])
        for s in range(0, n, chunk):
            sl = slice(s, s + chunk)
            leg = c["legacy"][sl]
            ward, commune = c["ward"][sl], c["commune"][sl]
            tinh = np.where(leg, u.legacy_province[ward], u.province[commune])
            huyen = np.where(leg, u.legacy_district[ward].astype(object), None)
            xa = np.where(leg, u.legacy_ward[ward], u.commune[commune])
            yield from zip(
                range(s + 1, s + 1 + len(leg)), pid[c["person"][sl]], c["kind"][sl].tolist(),
                tinh.tolist(), huyen, xa.tolist(), c["addr"][sl], iso(c["when"][sl]),
                ts_text(c["ts"][sl]), strict=True,
            )  # fmt: skip

    def _member_rows(self, pid: np.ndarray, chunk: int = 50_000):
        m = self.m
        n = len(m["ts"])
        for s in range(0, n, chunk):
            sl = slice(s, s + chunk)
            den = m["den"][sl]
            den_s = np.where(np.isnat(den), None, iso(den))
            yield from zip(
                range(s + 1, s + 1 + len(den)), m["hh"][sl], pid[m["person"][sl]],
                m["rel"][sl].tolist(), iso(m["tu"][sl]), den_s, ts_text(m["ts"][sl]),
                strict=True,
            )  # fmt: skip

    def write(self, url: str, persons) -> str:
        pid = persons["personal_id"]
        return sqlio.write_tables(
            url,
            metadata(),
            {"cu_tru_bien_dong": (CHANGE_COLUMNS, self._change_rows(pid)),
             "thanh_vien_ho": (MEMBER_COLUMNS, self._member_rows(pid))},
        )  # fmt: skip

    @property
    def n_changes(self) -> int:
        return len(self.c["ts"])

    @property
    def n_members(self) -> int:
        return len(self.m["ts"])
