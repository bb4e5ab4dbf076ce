"""The ground-truth population: persons with IDs, names, births and deaths."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ndc.synthetic.names import sample_names
from ndc.synthetic.pid import assign_personal_ids
from ndc.synthetic.provinces import birth_province_distribution

BASELINE = date(2025, 6, 1)
MAX_AGE = 95

TRUTH_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("personal_id", pa.string()),
        ("full_name", pa.string()),
        ("sex", pa.string()),
        ("date_of_birth", pa.date32()),
        ("birth_province_code", pa.string()),
        ("date_of_death", pa.date32()),
        ("in_social_insurance", pa.bool_()),
        ("ma_so_bhxh", pa.string()),
        ("born_during_run", pa.bool_()),
        ("mother_person_id", pa.int64()),
    ]
)


def age_weights() -> np.ndarray:
    """Return the probability of each age 0..MAX_AGE (flat to 45, then a falling tail)."""
    ages = np.arange(MAX_AGE + 1)
    w = np.where(ages <= 45, 1.0, np.exp(-(((ages - 45) / 25.0) ** 2)))
    return w / w.sum()


def ages_at(dobs: pd.Series, on: date) -> np.ndarray:
    """Return completed years of age on a date."""
    d = pd.to_datetime(dobs)
    before = (d.dt.month > on.month) | ((d.dt.month == on.month) & (d.dt.day > on.day))
    return (on.year - d.dt.year - before.astype(int)).to_numpy()


def make_population(rng: np.random.Generator, n: int, taken_pids: set[str]) -> pd.DataFrame:
    """Draw n persons alive on BASELINE with a plausible age pyramid."""
    ages = rng.choice(MAX_AGE + 1, size=n, p=age_weights())
    offset = np.round(ages * 365.2425).astype(int) + rng.integers(1, 366, size=n)
    dob = np.datetime64(BASELINE, "D") - offset.astype("timedelta64[D]")
    sexes = np.where(rng.random(n) < 0.5, "male", "female")
    years = dob.astype("datetime64[Y]").astype(int) + 1970
    codes, probs = birth_province_distribution()
    provinces = np.asarray(codes)[rng.choice(len(codes), size=n, p=probs)]
    names = sample_names(rng, sexes, years)
    pids = assign_personal_ids(rng, provinces.tolist(), sexes.tolist(), years.tolist(), taken_pids)
    return pd.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "personal_id": pids,
            "full_name": names,
            "sex": sexes,
            "date_of_birth": pd.to_datetime(dob).date,
            "birth_province_code": provinces,
            "date_of_death": pd.Series([None] * n, dtype=object),
            "in_social_insurance": np.zeros(n, dtype=bool),
            "ma_so_bhxh": pd.Series([None] * n, dtype=object),
            "born_during_run": np.zeros(n, dtype=bool),
            "mother_person_id": pd.Series([None] * n, dtype=object),
        }
    )


def write_truth(path: Path, persons: pd.DataFrame) -> None:
    """Write the ground-truth persons to parquet (fixed schema)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {}
    for name in TRUTH_SCHEMA.names:
        values = persons[name].tolist()
        cols[name] = pa.array(
            [None if pd.isna(v) else v for v in values],
            type=TRUTH_SCHEMA.field(name).type,
        )
    pq.write_table(pa.table(cols, schema=TRUTH_SCHEMA), path)
