"""The ground-truth population: households and persons with IDs, names, addresses and phones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ndc.synthetic import admin
from ndc.synthetic.names import sample_families, sample_name_parts
from ndc.synthetic.pid import format_pids, personal_id_ints
from ndc.synthetic.provinces import POPULATION, birth_province_distribution

# The day the baseline snapshot is taken: three days before the 2025 administrative reform, so
# a run with --days >= 3 straddles 2025-07-01.
BASELINE = date(2025, 6, 28)
REFORM = date(2025, 7, 1)
MAX_AGE = 95

# 54 ethnic groups, Decision 1019/QD-TCTK (2008) numbering, with rough population shares (%).
ETHNICITY_2008: dict[str, tuple[str, float]] = {
    "01": ("Kinh", 85.3), "02": ("Tày", 1.9), "03": ("Thái", 1.9), "04": ("Mường", 1.5),
    "05": ("Khơ Me", 1.4), "06": ("Hoa", 0.8), "07": ("Nùng", 1.1), "08": ("H'Mông", 1.4),
    "09": ("Dao", 0.9), "10": ("Gia Rai", 0.5), "11": ("Ê Đê", 0.4), "12": ("Ba Na", 0.3),
    "13": ("Sán Chay", 0.2), "14": ("Chăm", 0.2), "15": ("Cơ Ho", 0.2), "16": ("Xơ Đăng", 0.2),
    "17": ("Sán Dìu", 0.2), "18": ("Hrê", 0.15), "19": ("Ra Glai", 0.15), "20": ("Mnông", 0.1),
    "21": ("Thổ", 0.1), "22": ("Xtiêng", 0.1), "23": ("Khơ Mú", 0.1), "24": ("Bru Vân Kiều", 0.1),
    "25": ("Cơ Tu", 0.07), "26": ("Giáy", 0.07), "27": ("Tà Ôi", 0.05), "28": ("Mạ", 0.05),
    "29": ("Giẻ Triêng", 0.05), "30": ("Co", 0.04), "31": ("Chơ Ro", 0.03),
    "32": ("Xinh Mun", 0.03), "33": ("Hà Nhì", 0.03), "34": ("Chu Ru", 0.02),
    "35": ("Lào", 0.02), "36": ("La Chí", 0.02), "37": ("Kháng", 0.02), "38": ("Phù Lá", 0.01),
    "39": ("La Hủ", 0.01), "40": ("La Ha", 0.01), "41": ("Pà Thẻn", 0.01), "42": ("Lự", 0.01),
    "43": ("Ngái", 0.01), "44": ("Chứt", 0.01), "45": ("Lô Lô", 0.01), "46": ("Mảng", 0.01),
    "47": ("Cơ Lao", 0.01), "48": ("Bố Y", 0.01), "49": ("Cống", 0.01), "50": ("Si La", 0.01),
    "51": ("Pu Péo", 0.01), "52": ("Rơ Măm", 0.01), "53": ("Brâu", 0.01), "54": ("Ơ Đu", 0.01),
}  # fmt: skip

# Relationship to the head of household (residence registration).
RELATIONSHIPS = {
    "01": "chủ hộ",
    "02": "vợ/chồng",
    "03": "con",
    "04": "bố/mẹ",
    "05": "anh/chị/em",
    "06": "cháu",
    "99": "khác",
}

# Mobile prefixes in use since 2018 and the 11-digit prefix each replaced
# (docs/domain.md#phone-numbers).
MOBILE_PREFIXES = {
    "032": "0162", "033": "0163", "034": "0164", "035": "0165", "036": "0166", "037": "0167",
    "038": "0168", "039": "0169", "070": "0120", "079": "0121", "077": "0122", "076": "0126",
    "078": "0128", "083": "0123", "084": "0124", "085": "0125", "081": "0127", "082": "0129",
    "056": "0186", "058": "0188", "059": "0199", "086": "", "096": "", "097": "", "098": "",
    "088": "", "091": "", "094": "", "089": "", "090": "", "093": "",
}  # fmt: skip

STREETS = [
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Nguyễn Huệ", "Lê Duẩn", "Điện Biên Phủ", "Phan Đình Phùng", "Hùng Vương", "Bà Triệu",
    "Nguyễn Văn Cừ", "Trường Chinh", "Võ Thị Sáu", "Nguyễn Du", "Pasteur", "Cách Mạng Tháng Tám",
    "Lạc Long Quân", "Hoàng Diệu", "Phạm Văn Đồng", "Tôn Đức Thắng", "Nguyễn Thị Minh Khai",
]  # fmt: skip

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
        ("ethnicity_code", pa.string()),
        ("cmnd", pa.string()),
        ("phone", pa.string()),
        ("commune_code_2025", pa.string()),
        ("province_code_2025", pa.string()),
        ("legacy_ward_code", pa.string()),
        ("legacy_district_code", pa.string()),
        ("legacy_province_code", pa.string()),
        ("household_id", pa.string()),
        ("relationship_to_head", pa.string()),
        ("address_detail", pa.string()),
    ]
)


class Frame(dict):
    """Persons as a dict of equally long numpy columns with spare capacity for births.

    pandas 3 would turn object columns into Arrow strings (whose `to_numpy()` copies on every
    access); appending to numpy arrays would copy every column every day. `frame[c]` is a view
    of the live rows, `frame[c] = values` writes into it, `len(frame)` is the row count.
    """

    def __init__(self, cols: dict[str, np.ndarray], capacity: int = 0) -> None:
        super().__init__()
        self.n = len(next(iter(cols.values())))
        cap = max(capacity, self.n)
        for c, a in cols.items():
            a = np.asarray(a)
            store = np.empty(cap, dtype=a.dtype)
            store[: self.n] = a
            dict.__setitem__(self, c, store)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, c: str) -> np.ndarray:
        return dict.__getitem__(self, c)[: self.n]

    def __setitem__(self, c: str, values) -> None:
        dict.__getitem__(self, c)[: self.n] = values

    def append(self, other: dict[str, np.ndarray]) -> Frame:
        """Add other's rows after the live rows (in place, growing when full); return self."""
        k = len(next(iter(other.values())))
        cap = len(next(iter(dict.values(self))))
        if self.n + k > cap:
            new_cap = int((self.n + k) * 1.2) + 16
            for c in list(dict.keys(self)):
                old = dict.__getitem__(self, c)
                store = np.empty(new_cap, dtype=old.dtype)
                store[: self.n] = old[: self.n]
                dict.__setitem__(self, c, store)
        for c in dict.keys(self):
            dict.__getitem__(self, c)[self.n : self.n + k] = other[c]
        self.n += k
        return self


def age_weights() -> np.ndarray:
    """Return the probability of each age 0..MAX_AGE (flat to 45, then a falling tail)."""
    ages = np.arange(MAX_AGE + 1)
    w = np.where(ages <= 45, 1.0, np.exp(-(((ages - 45) / 25.0) ** 2)))
    return w / w.sum()


def ages_at(dobs, on: date) -> np.ndarray:
    """Return completed years of age on a date (dobs: datetime64[D] array or date series)."""
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dobs)))
    before = (d.month > on.month) | ((d.month == on.month) & (d.day > on.day))
    return (on.year - d.year - before.astype(int)).to_numpy()


def _dob(rng: np.random.Generator, ages: np.ndarray) -> np.ndarray:
    """A date of birth for each completed age on BASELINE (datetime64[D])."""
    offset = np.round(ages * 365.2425).astype(np.int64) + rng.integers(1, 366, size=len(ages))
    return np.datetime64(BASELINE, "D") - offset.astype("timedelta64[D]")


def years_of(dobs: np.ndarray) -> np.ndarray:
    """Calendar years of datetime64[D] dates."""
    return dobs.astype("datetime64[Y]").astype(np.int64) + 1970


def _households(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw households and their members: (household, role, sex, age), head first."""
    h = n // 3 + 20
    head_w = age_weights()[20:] * np.clip((np.arange(20, MAX_AGE + 1) - 18) / 12.0, 0, 1)
    head_age = 20 + rng.choice(len(head_w), size=h, p=head_w / head_w.sum())
    spouse = rng.random(h) < np.where((head_age >= 25) & (head_age <= 70), 0.82, 0.5)
    head_female = rng.random(h) < np.where(spouse, 0.2, 0.5)
    parts = []  # (household, role, female, age)

    def add(idx: np.ndarray, role: str, female: np.ndarray, age: np.ndarray) -> None:
        parts.append(pd.DataFrame({"hh": idx, "role": role, "female": female, "age": age}))

    idx = np.arange(h)
    add(idx, "01", head_female, head_age)
    s = idx[spouse]
    s_age = np.clip(
        head_age[s] + np.where(head_female[s], 2, -2) + rng.integers(-3, 4, len(s)), 18, 95
    )
    add(s, "02", ~head_female[s], s_age)
    mother_age = head_age.copy()
    mother_age[s] = np.where(head_female[s], head_age[s], s_age)
    n_kids = rng.choice(4, size=h, p=[0.2, 0.3, 0.35, 0.15])
    n_kids[head_age > 60] = (rng.random(int((head_age > 60).sum())) < 0.3).astype(int)
    k_idx = np.repeat(idx, n_kids)
    k_age = mother_age[k_idx] - rng.integers(20, 38, size=len(k_idx))
    ok = k_age >= 0
    add(k_idx[ok], "03", rng.random(int(ok.sum())) < 0.49, k_age[ok])
    par = idx[(head_age < 55) & (rng.random(h) < 0.15)]
    p_age = head_age[par] + rng.integers(22, 33, size=len(par))
    ok = p_age <= MAX_AGE
    add(par[ok], "04", rng.random(int(ok.sum())) < 0.6, p_age[ok])
    gc = idx[(head_age >= 50) & (rng.random(h) < 0.35)]
    g_age = head_age[gc] - rng.integers(45, 60, size=len(gc))
    ok = g_age >= 0
    add(gc[ok], "06", rng.random(int(ok.sum())) < 0.49, g_age[ok])
    sib = idx[rng.random(h) < 0.03]
    add(
        sib,
        "05",
        rng.random(len(sib)) < 0.5,
        np.clip(head_age[sib] + rng.integers(-8, 9, len(sib)), 15, 90),
    )
    oth = idx[rng.random(h) < 0.02]
    add(oth, "99", rng.random(len(oth)) < 0.5, rng.integers(15, 70, size=len(oth)))
    members = pd.concat(parts, ignore_index=True).sort_values(["hh", "role"], kind="stable")
    if len(members) < n:  # extremely unlikely; top up with one-person households
        extra = n - len(members)
        top = pd.DataFrame(
            {
                "hh": np.arange(h, h + extra),
                "role": "01",
                "female": rng.random(extra) < 0.5,
                "age": rng.integers(20, 60, size=extra),
            }
        )
        members = pd.concat([members, top], ignore_index=True)
    members = members.iloc[:n].reset_index(drop=True)
    members["head_female"] = np.concatenate([head_female, np.zeros(n, dtype=bool)])[members["hh"]]
    return members


def make_population(rng: np.random.Generator, n: int, capacity: int = 0) -> Frame:
    """Draw n persons alive on BASELINE, in households at real addresses."""
    units = admin.load()
    m = _households(rng, n)
    hh_codes, hh = np.unique(m["hh"].to_numpy(), return_inverse=True)
    n_hh = len(hh_codes)
    female = m["female"].to_numpy()
    ages = m["age"].to_numpy().astype(np.int64)
    role = m["role"].to_numpy().astype("U2")
    dob = _dob(rng, ages)
    years = years_of(dob)
    sexes = np.where(female, "female", "male")

    # names: the household's family name passes to the head's children and grandchildren
    family, middle, given = sample_name_parts(rng, sexes, years)
    hh_family = sample_families(rng, n_hh)
    inherit = np.isin(role, ["01", "03", "05", "06"]) & ~m["head_female"].to_numpy()
    inherit |= (role == "04") & ~female & ~m["head_female"].to_numpy()
    inherit |= (role == "02") & ~female  # a male spouse: the children's father
    family = np.where(inherit, hh_family[hh], family)
    names = np.array(
        [f"{a} {b} {c}" for a, b, c in zip(family, middle, given, strict=True)], dtype=object
    )
    del family, middle, given

    # address: a legacy ward drawn by province population, uniform within the province
    codes = np.array(sorted(POPULATION))
    pw = np.array([POPULATION[c] for c in codes])
    hh_prov = codes[rng.choice(len(codes), size=n_hh, p=pw / pw.sum())]
    order = np.argsort(units.legacy_province, kind="stable")
    sorted_prov = units.legacy_province[order]
    lo = np.searchsorted(sorted_prov, hh_prov, side="left")
    hi = np.searchsorted(sorted_prov, hh_prov, side="right")
    hh_ward = order[lo + (rng.random(n_hh) * (hi - lo)).astype(np.int64)]
    hh_commune = units.legacy_default[hh_ward].copy()
    amb = np.flatnonzero(units.ambiguous[hh_ward])
    u = rng.random(len(amb))
    for j, i in enumerate(amb):
        targets = units.legacy_targets[hh_ward[i]]
        hh_commune[i] = targets[int(u[j] * len(targets))]
    house = rng.integers(1, 300, size=n_hh)
    street = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), size=n_hh)]
    hh_address = np.array(
        [f"Số {a} đường {b}" for a, b in zip(house, street, strict=True)], dtype=object
    )
    hh_ids = np.array([f"HK{i:010d}" for i in range(n_hh)], dtype=object)
    eth_codes = np.array(list(ETHNICITY_2008))
    ew = np.array([v[1] for v in ETHNICITY_2008.values()])
    hh_eth = eth_codes[rng.choice(len(eth_codes), size=n_hh, p=ew / ew.sum())]

    # birth province: mostly the province of residence
    bcodes, bprobs = birth_province_distribution()
    born_here = rng.random(n) < 0.7
    birth_prov = np.where(
        born_here,
        units.legacy_province[hh_ward[hh]],
        np.asarray(bcodes)[rng.choice(len(bcodes), size=n, p=bprobs)],
    )
    pid_int = personal_id_ints(rng, birth_prov, female, years)

    # old 9-digit CMND for some adults born before 2000 (unique)
    has_cmnd = (years < 2000) & (rng.random(n) < 0.6)
    cmnd = np.full(n, None, dtype=object)
    k = int(has_cmnd.sum())
    cm = np.unique(rng.integers(10_000_000, 400_000_000, size=k * 2))
    cm = rng.permutation(cm)[:k]
    cmnd[has_cmnd] = np.char.zfill(cm.astype(str), 9).astype(object)

    # mobile phones for most persons aged 16+
    has_phone = (ages >= 16) & (rng.random(n) < 0.92)
    prefixes = np.array(list(MOBILE_PREFIXES))
    pref = prefixes[rng.integers(0, len(prefixes), size=n)]
    tail = np.char.zfill(rng.integers(0, 10_000_000, size=n).astype(str), 7)
    phone = np.where(has_phone, np.char.add(pref, tail).astype(object), None)

    return Frame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "personal_id": format_pids(pid_int),
            "pid_int": pid_int,
            "full_name": names,
            "sex": sexes,
            "date_of_birth": dob,
            "birth_province_code": birth_prov.astype("U3"),
            "date_of_death": np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
            "in_social_insurance": np.zeros(n, dtype=bool),
            "ma_so_bhxh": np.full(n, None, dtype=object),
            "born_during_run": np.zeros(n, dtype=bool),
            "mother_person_id": np.full(n, -1, dtype=np.int64),
            "ethnicity_code": hh_eth[hh],
            "cmnd": cmnd,
            "phone": phone,
            "ward_idx": hh_ward[hh],
            "commune_idx": hh_commune[hh],
            "household_id": hh_ids[hh],
            "relationship_to_head": role,
            "address_detail": hh_address[hh],
        },
        capacity,
    )


def _arr(values, type_: pa.DataType) -> pa.Array:
    """An Arrow array from a pandas/numpy column; None and NaN become null."""
    return pa.array(np.asarray(values, dtype=object), type=type_, from_pandas=True)


def truth_table(persons: Frame) -> pa.Table:
    """The ground-truth persons as an Arrow table (fixed schema)."""
    units = admin.load()
    ward = persons["ward_idx"]
    commune = persons["commune_idx"]
    mother = persons["mother_person_id"]
    cols = {
        "person_id": pa.array(persons["person_id"], pa.int64()),
        "personal_id": _arr(persons["personal_id"], pa.string()),
        "full_name": _arr(persons["full_name"], pa.string()),
        "sex": _arr(persons["sex"], pa.string()),
        "date_of_birth": pa.array(persons["date_of_birth"], pa.date32()),
        "birth_province_code": _arr(persons["birth_province_code"], pa.string()),
        "date_of_death": pa.array(persons["date_of_death"], pa.date32()),
        "in_social_insurance": pa.array(persons["in_social_insurance"], pa.bool_()),
        "ma_so_bhxh": _arr(persons["ma_so_bhxh"], pa.string()),
        "born_during_run": pa.array(persons["born_during_run"], pa.bool_()),
        "mother_person_id": pa.array(mother, pa.int64(), mask=mother < 0),
        "ethnicity_code": _arr(persons["ethnicity_code"], pa.string()),
        "cmnd": _arr(persons["cmnd"], pa.string()),
        "phone": _arr(persons["phone"], pa.string()),
        "commune_code_2025": pa.array(units.commune[commune], pa.string()),
        "province_code_2025": pa.array(units.province[commune], pa.string()),
        "legacy_ward_code": pa.array(units.legacy_ward[ward], pa.string()),
        "legacy_district_code": pa.array(units.legacy_district[ward], pa.string()),
        "legacy_province_code": pa.array(units.legacy_province[ward], pa.string()),
        "household_id": _arr(persons["household_id"], pa.string()),
        "relationship_to_head": _arr(persons["relationship_to_head"], pa.string()),
        "address_detail": _arr(persons["address_detail"], pa.string()),
    }
    return pa.table(cols, schema=TRUTH_SCHEMA)


def write_truth(path: Path, persons: Frame) -> None:
    """Write the ground-truth persons to parquet (fixed schema)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(truth_table(persons), path)


BASELINE_SCHEMA = pa.schema(
    [
        ("personal_id", pa.string()),
        ("full_name", pa.string()),
        ("date_of_birth", pa.date32()),
        ("sex_code", pa.string()),
        ("date_of_death", pa.date32()),
        ("ethnicity_code", pa.string()),
        ("province_code", pa.string()),
        ("commune_code", pa.string()),
        ("household_id", pa.string()),
        ("cmnd", pa.string()),
        ("updated_at", pa.timestamp("s")),
    ]
)


def write_baseline(rng: np.random.Generator, out: Path, persons: Frame) -> tuple[int, pd.DataFrame]:
    """Write population_db/baseline.parquet: the population DB before ndc ran.

    All persons alive at the baseline, minus about 30% of the babies under one year (birth not
    yet registered in the population DB), with about 1% stale communes (a move the DB missed).
    Returns the row count and the differences (written to truth/baseline_differences.parquet).
    """
    units = admin.load()
    n = len(persons)
    ages = ages_at(persons["date_of_birth"], BASELINE)
    missing = (ages < 1) & (rng.random(n) < 0.3)
    stale = ~missing & (rng.random(n) < 0.01)
    commune = persons["commune_idx"].copy()
    true_commune = commune.copy()
    commune[stale] = rng.integers(0, len(units.commune), size=int(stale.sum()))
    stale &= commune != true_commune
    keep = ~missing
    stamp = np.datetime64("2016-01-01T00:00:00", "s") + rng.integers(
        0, int((np.datetime64(BASELINE, "s") - np.datetime64("2016-01-01", "s")).astype(int)), n
    ).astype("timedelta64[s]")
    dob = persons["date_of_birth"]
    stamp = np.maximum(stamp, dob.astype("datetime64[s]") + np.timedelta64(86400, "s"))
    stamp = np.minimum(stamp, np.datetime64(BASELINE, "s") - np.timedelta64(1, "s"))
    table = pa.table(
        {
            "personal_id": _arr(persons["personal_id"][keep], pa.string()),
            "full_name": _arr(persons["full_name"][keep], pa.string()),
            "date_of_birth": pa.array(dob[keep], pa.date32()),
            "sex_code": pa.array(np.where(persons["sex"][keep] == "male", "1", "2"), pa.string()),
            "date_of_death": pa.nulls(int(keep.sum()), pa.date32()),
            "ethnicity_code": _arr(persons["ethnicity_code"][keep], pa.string()),
            "province_code": pa.array(units.province[commune[keep]], pa.string()),
            "commune_code": pa.array(units.commune[commune[keep]], pa.string()),
            "household_id": _arr(persons["household_id"][keep], pa.string()),
            "cmnd": _arr(persons["cmnd"][keep], pa.string()),
            "updated_at": pa.array(stamp[keep], pa.timestamp("s")),
        },
        schema=BASELINE_SCHEMA,
    )
    path = out / "population_db" / "baseline.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    pids = persons["personal_id"]
    diffs = pd.concat(
        [
            pd.DataFrame(
                {
                    "personal_id": pids[missing],
                    "field": "",
                    "kind": "missing",
                    "baseline_value": "",
                    "true_value": "",
                }
            ),
            pd.DataFrame(
                {
                    "personal_id": pids[stale],
                    "field": "commune_code",
                    "kind": "stale",
                    "baseline_value": units.commune[commune[stale]],
                    "true_value": units.commune[true_commune[stale]],
                }
            ),
        ],
        ignore_index=True,
    )
    return int(keep.sum()), diffs.sort_values(["personal_id", "field"], ignore_index=True)
