"""Social insurance source: the `insured_person` table in an SQL database (SQLite by default)."""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL, make_url

from ndc.synthetic.defects import Defect, make_defect, malform_pid
from ndc.synthetic.names import legacy_upper
from ndc.synthetic.population import BASELINE, ages_at

SOURCE = "social_insurance"
ENTITY = "insured_person"
TABLE = "insured_person"
COLUMNS = [
    "ma_so_bhxh",
    "so_dinh_danh",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "ma_don_vi",
    "updated_at",
]
SHARE_INSURED = {(18, 60): 0.55, (61, 65): 0.30}  # by completed age on BASELINE
SHARE_JOINING_LATER = 0.05  # insured persons who first appear on a following day
SHARE_UPDATED_PER_DAY = 0.02
_SQLITE_DATETIME = sqlite.DATETIME(
    storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
)


def table_definition(metadata: sa.MetaData) -> sa.Table:
    """Return the insured_person table definition."""
    return sa.Table(
        TABLE,
        metadata,
        sa.Column("ma_so_bhxh", sa.String(10), primary_key=True),
        sa.Column("so_dinh_danh", sa.String(12)),
        sa.Column("ho_ten", sa.String(200)),
        sa.Column("ngay_sinh", sa.Date),
        sa.Column("gioi_tinh", sa.Integer),
        sa.Column("ma_don_vi", sa.String(16)),
        sa.Column("updated_at", sa.DateTime().with_variant(_SQLITE_DATETIME, "sqlite")),
        sa.Index("ix_insured_person_updated_at", "updated_at"),
    )


def _unique_codes(rng: np.random.Generator, prefixes: list[str], taken: set[str]) -> list[str]:
    """Draw unique 10-digit BHXH codes: 2-digit province prefix + 8 random digits."""
    out = []
    for prefix, tail in zip(prefixes, rng.integers(0, 10**8, size=len(prefixes)), strict=True):
        code = f"{prefix}{tail:08d}"
        while code in taken:
            code = f"{prefix}{int(rng.integers(0, 10**8)):08d}"
        taken.add(code)
        out.append(code)
    return out


def _employers(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return n employer unit codes like TA0123A and Zipf-like size weights."""
    letters = np.array(list(string.ascii_uppercase))
    codes: set[str] = set()
    ordered: list[str] = []
    while len(ordered) < n:
        code = (
            f"{rng.choice(list('TYZ'))}{rng.choice(letters)}"
            f"{int(rng.integers(0, 10_000)):04d}{rng.choice(letters)}"
        )
        if code not in codes:
            codes.add(code)
            ordered.append(code)
    w = 1.0 / np.arange(1, n + 1) ** 0.8
    return np.array(ordered), w / w.sum()


def _stamp(rng: np.random.Generator, day: date) -> datetime:
    """Return a time on the given day between 06:00 and 22:00."""
    return datetime(day.year, day.month, day.day) + timedelta(
        seconds=int(rng.integers(6 * 3600, 22 * 3600))
    )


def enrol(
    rng: np.random.Generator, persons: pd.DataFrame, dates: list[date]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pick insured persons and build the table's final state; mark them in the truth."""
    persons = persons.copy()
    ages = ages_at(persons["date_of_birth"], BASELINE)
    p = np.zeros(len(persons))
    for (lo, hi), share in SHARE_INSURED.items():
        p[(ages >= lo) & (ages <= hi)] = share
    idx = np.flatnonzero(rng.random(len(persons)) < p)
    n = len(idx)
    codes = _unique_codes(rng, persons["birth_province_code"].to_numpy()[idx].tolist(), set())
    emp_codes, emp_w = _employers(rng, max(20, n // 30))
    employer = emp_codes[rng.choice(len(emp_codes), size=n, p=emp_w)]
    join_day = np.zeros(n, dtype=int)
    if len(dates) > 1:
        later = rng.random(n) < SHARE_JOINING_LATER
        join_day[later] = rng.integers(1, len(dates), size=int(later.sum()))
    updated = [_stamp(rng, dates[d]) for d in join_day]
    for k in range(1, len(dates)):
        present = np.flatnonzero(join_day < k)
        changed = present[rng.random(len(present)) < SHARE_UPDATED_PER_DAY]
        for i in changed:
            new = employer[i]
            while new == employer[i]:
                new = emp_codes[rng.choice(len(emp_codes), p=emp_w)]
            employer[i] = new
            updated[i] = _stamp(rng, dates[k])
    sel = persons.iloc[idx]
    frame = pd.DataFrame(
        {
            "ma_so_bhxh": codes,
            "so_dinh_danh": sel["personal_id"].tolist(),
            "ho_ten": sel["full_name"].tolist(),
            "ngay_sinh": pd.Series(sel["date_of_birth"].tolist(), dtype=object),
            "gioi_tinh": np.where(sel["sex"].to_numpy() == "male", 1, 0),
            "ma_don_vi": employer.tolist(),
            "updated_at": pd.Series(updated, dtype=object),
        }
    )
    in_si = np.zeros(len(persons), dtype=bool)
    in_si[idx] = True
    bhxh = persons["ma_so_bhxh"].to_numpy(dtype=object).copy()
    bhxh[idx] = codes
    persons["in_social_insurance"] = in_si
    persons["ma_so_bhxh"] = bhxh
    return persons, frame.sort_values("ma_so_bhxh", ignore_index=True)


def inject_defects(
    rng: np.random.Generator, frame: pd.DataFrame, rates: dict[str, float]
) -> tuple[pd.DataFrame, list[Defect]]:
    """Upper-case ~30% of names (legacy style) and malform a few personal IDs."""
    frame = frame.copy()
    n = len(frame)
    upper = rng.random(n) < rates.get("name_upper_no_diacritics", 0.0)
    bad_pid = rng.random(n) < rates.get("pid_malformed", 0.0)
    names = frame["ho_ten"].tolist()
    pids = frame["so_dinh_danh"].tolist()
    keys = frame["ma_so_bhxh"].tolist()
    defects: list[Defect] = []
    for i in np.flatnonzero(upper):
        raw = legacy_upper(names[i])
        defects.append(
            make_defect(
                SOURCE, ENTITY, keys[i], "ho_ten", "name_upper_no_diacritics", names[i], raw
            )
        )
        names[i] = raw
    for i in np.flatnonzero(bad_pid):
        raw = malform_pid(rng, pids[i])
        defects.append(
            make_defect(SOURCE, ENTITY, keys[i], "so_dinh_danh", "pid_malformed", pids[i], raw)
        )
        pids[i] = raw
    frame["ho_ten"] = names
    frame["so_dinh_danh"] = pids
    return frame, defects


def _ensure_database(url: URL) -> None:
    """Create the URL's database on MySQL/MariaDB or PostgreSQL if it does not exist."""
    backend = url.get_backend_name()
    if not url.database or backend not in ("mysql", "mariadb", "postgresql"):
        return
    server_url = url._replace(database="postgres" if backend == "postgresql" else None)
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        quoted = engine.dialect.identifier_preparer.quote(url.database)
        with engine.connect() as conn:
            if backend == "postgresql":
                exists = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}
                ).first()
                if exists is None:
                    conn.execute(sa.text(f"CREATE DATABASE {quoted} ENCODING 'UTF8'"))
            else:
                conn.execute(
                    sa.text(
                        f"CREATE DATABASE IF NOT EXISTS {quoted} "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    )
                )
    finally:
        engine.dispose()


def write_table(frame: pd.DataFrame, url: str | URL, chunk: int = 5000) -> str:
    """Drop, recreate and fill insured_person at the URL; return the URL without password."""
    url = make_url(url)
    if url.get_backend_name() in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    _ensure_database(url)
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        table = table_definition(metadata)
        columns = [frame[c].tolist() for c in COLUMNS]
        records = [dict(zip(COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)]
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
            table.create(conn)
            for start in range(0, len(records), chunk):
                conn.execute(table.insert(), records[start : start + chunk])
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=True)
