"""Tests for the synthetic source-data generator (ndc.synthetic)."""

from __future__ import annotations

import csv
import io
import math
import re
import sqlite3
import unicodedata
import uuid
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from ndc import textcodecs
from ndc.synthetic import DEFAULT_DEFECT_RATES, GenerationSummary, generate
from ndc.synthetic.encodings import decode_cp1258, encode_cp1258
from ndc.synthetic.names import legacy_upper
from ndc.synthetic.pid import build_personal_id, decode_personal_id
from ndc.synthetic.provinces import LEGACY_PROVINCES
from tests.conftest import MYSQL_URL, PG_URL

BIRTH_HEADER = (
    "so_dang_ky,ngay_dang_ky,so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,noi_sinh_tinh,"
    "ho_ten_me,so_dinh_danh_me"
)
DEATH_HEADER = "so_dang_ky,ngay_dang_ky,so_dinh_danh,ho_ten,ngay_sinh,ngay_mat,noi_mat_tinh"
MARRIAGE_HEADER = (
    "so_dang_ky,ngay_dang_ky,so_dinh_danh_chong,ho_ten_chong,ngay_sinh_chong,"
    "so_dinh_danh_vo,ho_ten_vo,ngay_sinh_vo,noi_dang_ky_tinh"
)
HEADERS = {"births": BIRTH_HEADER, "deaths": DEATH_HEADER, "marriages": MARRIAGE_HEADER}
FILE_RE = re.compile(r"^(births|deaths|marriages)_(\d{2})_(\d{8})\.csv$")
DMY_RE = re.compile(r"^([1-9]|[12]\d|3[01])/([1-9]|1[0-2])/\d{4}$")
BASELINE = date(2025, 6, 28)
DATES = {"20250628", "20250629", "20250630", "20250701"}
DUPLICATES = ("duplicate_exact", "duplicate_near")


# --------------------------------------------------------------------------- helpers


def _parse_dmy(value: str) -> date:
    """Parse an unpadded d/m/yyyy date."""
    return datetime.strptime(value, "%d/%m/%Y").date()


def _decode(data: bytes, encoding: str = "utf-8") -> tuple[str, str]:
    """Decode a source file: UTF-8 first, then the province's legacy encoding."""
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        if encoding == "tcvn3":
            textcodecs.register()
            return "tcvn3", data.decode("tcvn3")
        return "cp1258", decode_cp1258(data)


def _inbox(out: Path) -> dict[str, tuple[str, str, list[dict[str, str]]]]:
    """Return file name -> (encoding, raw text, rows) for every inbox file."""
    from ndc.synthetic.civil_registration import encodings_for

    encodings = encodings_for(42)
    result = {}
    for path in sorted((out / "civil_registration" / "inbox").glob("*.csv")):
        province = FILE_RE.match(path.name).group(2)
        encoding, text = _decode(path.read_bytes(), encodings.get(province, "utf-8"))
        result[path.name] = (encoding, text, list(csv.DictReader(io.StringIO(text))))
    return result


def _rows(out: Path, kind: str) -> list[dict[str, str]]:
    """Return all rows of births or deaths files, each with its file name."""
    rows = []
    for name, (_, _, file_rows) in _inbox(out).items():
        if name.startswith(kind):
            rows.extend({**r, "_file": name} for r in file_rows)
    return rows


def _si(out: Path) -> pd.DataFrame:
    """Read the SQLite insured_person table, ordered by key."""
    with sqlite3.connect(out / "social_insurance" / "social_insurance.sqlite") as conn:
        return pd.read_sql_query("SELECT * FROM insured_person ORDER BY ma_so_bhxh", conn)


def _defects(out: Path) -> pd.DataFrame:
    """Read truth/defects.csv with every column as text."""
    return pd.read_csv(out / "truth" / "defects.csv", dtype=str, keep_default_na=False)


def _truth(out: Path) -> pd.DataFrame:
    """Read truth/persons.parquet."""
    return pd.read_parquet(out / "truth" / "persons.parquet")


def _within(count: int, n: int, p: float) -> bool:
    """Is a binomial count within 4 standard deviations (+1) of its expectation?"""
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """One default-sized run (1000 persons, seed 42, 3 following days)."""
    return generate(tmp_path_factory.mktemp("synth_a"), persons=1000, seed=42, days=3)


@pytest.fixture(scope="module")
def run_again(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """The same arguments into another directory."""
    return generate(tmp_path_factory.mktemp("synth_b"), persons=1000, seed=42, days=3)


# --------------------------------------------------------------------------- building blocks


def test_build_personal_id_layout() -> None:
    assert build_personal_id("01", "male", 1990, 123) == "001090000123"
    assert build_personal_id("79", "female", 2003, 5) == "079303000005"
    assert build_personal_id("048", "female", 1955, 999_999) == "048155999999"
    assert build_personal_id("92", "male", 2100, 1)[3] == "4"


@pytest.mark.parametrize(
    "code,sex,year,serial",
    [
        ("01", "male", 1930, 0),
        ("79", "female", 1999, 42),
        ("48", "male", 2000, 7),
        ("96", "female", 2025, 999_999),
        ("31", "female", 2150, 123_456),
    ],
)
def test_decode_inverts_build(code: str, sex: str, year: int, serial: int) -> None:
    decoded = decode_personal_id(build_personal_id(code, sex, year, serial))
    assert decoded["province_code"] == code
    assert decoded["province_prefix"] == "0" + code
    assert decoded["sex"] == sex
    assert decoded["birth_year"] == year
    assert decoded["serial"] == serial


@pytest.mark.parametrize("bad", ["", "00109000012", "0010900001234", "00109000012A", None])
def test_decode_rejects_malformed(bad: object) -> None:
    with pytest.raises(ValueError):
        decode_personal_id(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        ("1", "male", 1990, 1),
        ("01", "x", 1990, 1),
        ("01", "male", 1899, 1),
        ("01", "male", 1990, 10**6),
    ],
)
def test_build_rejects_bad_input(args: tuple) -> None:
    with pytest.raises(ValueError):
        build_personal_id(*args)


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn Thị Hồng Nhung",
        "Đặng Văn Đức",
        "Hà Nội",
        "Huỳnh Thủy Tiên",
        "Võ Ngọc Ánh, Lý Mỹ Ý",
        "Nữ",
    ],
)
def test_cp1258_round_trip(text: str) -> None:
    data = encode_cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert unicodedata.normalize("NFC", data.decode("cp1258")) == text
    assert decode_cp1258(data) == text


def test_cp1258_uses_combining_tone_marks() -> None:
    # ễ = ê (0xEA) + combining tilde (0xDE); ị = i + combining dot below (0xF2)
    assert encode_cp1258("Nguyễn") == b"Nguy\xea\xden"
    assert encode_cp1258("Thị") == b"Thi\xf2"
    assert encode_cp1258("Đà") == b"\xd0\xe0"  # precomposed where cp1258 has the letter
    assert not unicodedata.is_normalized("NFC", encode_cp1258("Nguyễn").decode("cp1258"))


def test_legacy_upper() -> None:
    assert legacy_upper("Đặng Văn Đức") == "DANG VAN DUC"
    assert legacy_upper("Nguyễn Thị Hồng Nhung") == "NGUYEN THI HONG NHUNG"


def test_province_table_matches_vietnamadminunits() -> None:
    import vietnamadminunits

    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT DISTINCT provinceCode, provinceShort FROM admin_units_legacy"
        ).fetchall()
    assert dict(rows) == LEGACY_PROVINCES


def test_defect_rate_overrides_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, persons=10, defect_rates={"civil_registration": {"nope": 0.1}})
    with pytest.raises(ValueError):
        generate(tmp_path, persons=10, defect_rates={"social_insurance": {"pid_malformed": 2}})
    with pytest.raises(ValueError):
        generate(tmp_path, persons=10, targets={"unknown_source": "sqlite://"})


# --------------------------------------------------------------------------- layout


def test_layout_and_headers(run: GenerationSummary) -> None:
    out = run.out
    assert (out / "social_insurance" / "social_insurance.sqlite").is_file()
    assert (out / "truth" / "persons.parquet").is_file()
    assert (out / "truth" / "defects.csv").is_file()
    files = _inbox(out)
    assert len(files) == run.files["civil_registration"]
    assert 20 <= len(files) <= 120
    for name, (_, text, rows) in files.items():
        m = FILE_RE.match(name)
        assert m, name
        kind, province, day = m.groups()
        assert province in run.encodings and day in DATES
        assert rows, f"{name} is empty"
        header = text.split("\n", 1)[0]
        assert header == HEADERS[kind]
        assert "\r" not in text and text.endswith("\n")


def test_sizes_are_modest_and_weighted(run: GenerationSummary) -> None:
    births, deaths = _rows(run.out, "births"), _rows(run.out, "deaths")
    marriages = _rows(run.out, "marriages")
    assert run.rows["civil_registration"] == {
        "birth": len(births),
        "death": len(deaths),
        "marriage": len(marriages),
    }
    assert 50 <= len(births) <= 150
    assert 10 <= len(deaths) <= 40
    per_province = pd.Series([r["_file"].split("_")[1] for r in births]).value_counts()
    assert set(per_province.index[:2]) == {"01", "79"}
    assert 14 <= len(run.encodings) <= 16  # 14 legacy office codes and the 2025 codes they become
    insured = run.rows["social_insurance"]["insured_person"]
    adults = (_truth(run.out)["date_of_birth"] <= date(2007, 6, 28)).sum()
    assert 0.35 * adults <= insured <= 0.55 * adults


def test_days_zero_gives_baseline_only(tmp_path: Path) -> None:
    summary = generate(tmp_path, persons=300, days=0)
    assert summary.dates == [BASELINE]
    assert {FILE_RE.match(n).group(3) for n in _inbox(tmp_path)} == {"20250628"}
    assert set(_si(tmp_path)["updated_at"].str[:10]) == {"2025-06-28"}


def test_summary_table(run: GenerationSummary) -> None:
    table = run.as_table()
    for word in ("civil_registration", "social_insurance", "birth", "death", "insured_person"):
        assert word in table
    assert run.defects == len(_defects(run.out))
    assert run.persons == 1000 and run.files["social_insurance"] == 1


# --------------------------------------------------------------------------- determinism


def test_deterministic_outputs(run: GenerationSummary, run_again: GenerationSummary) -> None:
    a, b = run.out, run_again.out
    names_a = sorted(p.name for p in (a / "civil_registration" / "inbox").iterdir())
    names_b = sorted(p.name for p in (b / "civil_registration" / "inbox").iterdir())
    assert names_a == names_b
    for name in names_a:
        rel = Path("civil_registration") / "inbox" / name
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), name
    assert (a / "truth" / "defects.csv").read_bytes() == (b / "truth" / "defects.csv").read_bytes()
    pd.testing.assert_frame_equal(_si(a), _si(b))
    pd.testing.assert_frame_equal(_truth(a), _truth(b))


def test_other_seed_differs(run: GenerationSummary, tmp_path: Path) -> None:
    generate(tmp_path, persons=1000, seed=7)
    assert not _si(tmp_path).equals(_si(run.out))


def test_rewrite_into_existing_directory(tmp_path: Path) -> None:
    generate(tmp_path, persons=300, seed=1)
    first = {p.name: p.read_bytes() for p in (tmp_path / "civil_registration" / "inbox").iterdir()}
    stale = tmp_path / "civil_registration" / "inbox" / "births_01_20991231.csv"
    stale.write_text("stale\n")
    generate(tmp_path, persons=300, seed=1)
    second = {p.name: p.read_bytes() for p in (tmp_path / "civil_registration" / "inbox").iterdir()}
    assert first == second


# --------------------------------------------------------------------------- encodings


def test_file_encodings(run: GenerationSummary) -> None:
    legacy = {c for c, e in run.encodings.items() if e == "cp1258"}
    tcvn3 = {c for c, e in run.encodings.items() if e == "tcvn3"}
    assert 3 <= len(legacy) <= 4 and not (legacy | tcvn3) & {"01", "79"}
    assert 1 <= len(tcvn3) <= 2 and not legacy & tcvn3
    seen_legacy = 0
    for path in sorted((run.out / "civil_registration" / "inbox").glob("*.csv")):
        province = FILE_RE.match(path.name).group(2)
        data = path.read_bytes()
        if province in tcvn3:
            continue  # checked in test_synthetic_country.py
        if province in legacy:
            seen_legacy += 1
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            text = decode_cp1258(data)
            assert encode_cp1258(text) == data  # round trip is exact
        else:
            text = data.decode("utf-8")
            assert unicodedata.is_normalized("NFC", text)
    assert seen_legacy > 0


def test_legacy_provinces_depend_on_seed_only() -> None:
    from ndc.synthetic.provinces import legacy_encoding_provinces

    assert legacy_encoding_provinces(42) == legacy_encoding_provinces(42)
    assert len({legacy_encoding_provinces(s) for s in range(10)}) > 1


# --------------------------------------------------------------------------- content


def test_clean_birth_rows_are_consistent(run: GenerationSummary) -> None:
    flagged = set(_defects(run.out)["record_key"])
    keys = set()
    for row in _rows(run.out, "births"):
        key = row["so_dang_ky"]
        assert key not in keys or key in flagged  # an exact duplicate repeats its key
        keys.add(key)
        _, province, day = FILE_RE.match(row["_file"]).groups()
        assert re.fullmatch(rf"KS-{province}-{day}-\d{{6}}", key)
        registered = _parse_dmy(row["ngay_dang_ky"])
        assert DMY_RE.match(row["ngay_dang_ky"]) and f"{registered:%Y%m%d}" == day
        assert row["noi_sinh_tinh"] == province
        mother = decode_personal_id(row["so_dinh_danh_me"])
        assert mother["sex"] == "female" and 1975 <= mother["birth_year"] <= 2007
        assert unicodedata.is_normalized("NFC", row["ho_ten"]) and len(row["ho_ten"].split()) >= 3
        if key in flagged:
            continue
        assert row["gioi_tinh"] in ("Nam", "Nữ")
        born = _parse_dmy(row["ngay_sinh"])
        assert DMY_RE.match(row["ngay_sinh"]) and 0 < (registered - born).days <= 14
        decoded = decode_personal_id(row["so_dinh_danh"])
        assert decoded["sex"] == ("male" if row["gioi_tinh"] == "Nam" else "female")
        assert decoded["birth_year"] == born.year
        assert decoded["province_code"] == province


def test_clean_death_rows_are_consistent(run: GenerationSummary) -> None:
    flagged = set(_defects(run.out)["record_key"])
    truth = _truth(run.out).set_index("personal_id")
    for row in _rows(run.out, "deaths"):
        _, province, day = FILE_RE.match(row["_file"]).groups()
        assert re.fullmatch(rf"KT-{province}-{day}-\d{{6}}", row["so_dang_ky"])
        assert row["noi_mat_tinh"] == province
        if row["so_dang_ky"] in flagged:
            continue
        registered = _parse_dmy(row["ngay_dang_ky"])
        died = _parse_dmy(row["ngay_mat"])
        assert 0 <= (registered - died).days <= 3
        person = truth.loc[row["so_dinh_danh"]]
        born = _parse_dmy(row["ngay_sinh"])
        decoded = decode_personal_id(row["so_dinh_danh"])
        assert decoded["birth_year"] == born.year == person["date_of_birth"].year
        assert decoded["sex"] == person["sex"]
        assert person["full_name"] == row["ho_ten"] and person["date_of_death"] == died
        assert (registered - born).days >= 45 * 365


def test_clean_social_insurance_rows_are_consistent(run: GenerationSummary) -> None:
    si = _si(run.out)
    defects = _defects(run.out)
    flagged = set(defects.query("not defect_class.str.startswith('name_')")["record_key"])
    assert si["ma_so_bhxh"].is_unique and si["ma_so_bhxh"].str.fullmatch(r"\d{10}").all()
    assert si["ma_don_vi"].str.fullmatch(r"[A-Z]{2}\d{4}[A-Z]").all()
    assert si["updated_at"].str.fullmatch(r"2025-(06-2[89]|06-30|07-01) \d{2}:\d{2}:\d{2}").all()
    assert si["ngay_sinh"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(si["gioi_tinh"]) <= {0, 1}
    assert si["updated_at"].str[:10].nunique() == 4  # baseline plus changes on each day
    clean = si[~si["ma_so_bhxh"].isin(flagged)]
    assert clean["so_dinh_danh"].is_unique
    for pid, sex, born in zip(
        clean["so_dinh_danh"], clean["gioi_tinh"], clean["ngay_sinh"], strict=True
    ):
        decoded = decode_personal_id(pid)
        assert decoded["sex"] == ("male" if sex == 1 else "female")
        assert decoded["birth_year"] == int(born[:4])


def test_social_insurance_schema(run: GenerationSummary) -> None:
    path = run.out / "social_insurance" / "social_insurance.sqlite"
    with sqlite3.connect(path) as conn:
        cols = conn.execute("PRAGMA table_info(insured_person)").fetchall()
        indexes = conn.execute("PRAGMA index_list(insured_person)").fetchall()
        index_cols = {conn.execute(f"PRAGMA index_info({i[1]})").fetchone()[2] for i in indexes}
        types = conn.execute(
            "SELECT DISTINCT typeof(ngay_sinh), typeof(updated_at), "
            "typeof(gioi_tinh) FROM insured_person"
        ).fetchall()
    assert [c[1] for c in cols] == [
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
    assert [c[1] for c in cols if c[5]] == ["ma_so_bhxh"]
    assert "updated_at" in index_cols
    assert types == [("text", "text", "integer")]


def test_ground_truth(run: GenerationSummary) -> None:
    truth = _truth(run.out)
    defects = _defects(run.out)
    dups = defects[defects["defect_class"].isin(DUPLICATES)]
    n_dup = dups.groupby("entity").size()
    births = _rows(run.out, "births")[: -int(n_dup.get("birth", 0)) or None]
    deaths = _rows(run.out, "deaths")[: -int(n_dup.get("death", 0)) or None]
    si = _si(run.out)
    si = si[~si["ma_so_bhxh"].isin(dups.query("source == 'social_insurance'")["record_key"])]
    assert list(truth.columns[:9]) == [
        "person_id",
        "personal_id",
        "full_name",
        "sex",
        "date_of_birth",
        "birth_province_code",
        "date_of_death",
        "in_social_insurance",
        "ma_so_bhxh",
    ]
    assert len(truth) == 1000 + len(births)
    assert truth["born_during_run"].sum() == len(births) == run.born_during_run
    assert truth["person_id"].is_unique and truth["personal_id"].is_unique
    assert truth["personal_id"].str.fullmatch(r"\d{12}").all()
    assert truth["full_name"].map(lambda s: unicodedata.is_normalized("NFC", s)).all()
    assert set(truth["sex"]) == {"male", "female"}
    assert set(truth["birth_province_code"]) <= set(LEGACY_PROVINCES)
    assert truth["date_of_death"].notna().sum() == len(deaths)
    ages = truth["date_of_birth"].map(lambda d: (BASELINE - d).days / 365.25)
    assert ages.min() >= -0.1 and ages.max() < 96
    young, old = ((ages >= 20) & (ages < 40)).sum(), ((ages >= 60) & (ages < 80)).sum()
    assert young > 1.5 * old > 0
    insured = truth[truth["in_social_insurance"]]
    assert len(insured) == len(si)
    assert set(insured["ma_so_bhxh"]) == set(si["ma_so_bhxh"])
    assert truth.loc[~truth["in_social_insurance"], "ma_so_bhxh"].isna().all()
    for person in truth.itertuples():
        decoded = decode_personal_id(person.personal_id)
        assert decoded["sex"] == person.sex
        assert decoded["birth_year"] == person.date_of_birth.year
    kids = truth[truth["born_during_run"]]
    mothers = truth.set_index("person_id").loc[kids["mother_person_id"].astype(int)]
    assert (mothers["sex"] == "female").all()


def test_every_defect_is_present(run: GenerationSummary) -> None:
    defects = _defects(run.out)
    assert set(defects.columns) >= {
        "source",
        "entity",
        "record_key",
        "field",
        "defect_class",
        "expected_handling",
        "reason_code",
        "clean_value",
        "raw_value",
    }
    civil = {r["so_dang_ky"]: r for r in _rows(run.out, "births") + _rows(run.out, "deaths")}
    si = _si(run.out).set_index("ma_so_bhxh")
    old_classes = ("pid_malformed", "pid_missing", "date_unparseable", "name_upper_no_diacritics")
    defects = defects[
        defects["defect_class"].isin(old_classes)
        & defects["entity"].isin(["birth", "death", "insured_person"])
    ]  # every class and source: tests/unit/test_synthetic_country.py
    for d in defects.itertuples():
        if d.source == "civil_registration":
            assert civil[d.record_key][d.field] == d.raw_value
        else:
            value = si.loc[d.record_key, d.field]
            assert ("" if pd.isna(value) else value) == d.raw_value
        assert d.raw_value != d.clean_value
        if d.defect_class == "pid_malformed":
            assert not re.fullmatch(r"\d{12}", d.raw_value) and re.fullmatch(
                r"\d{12}", d.clean_value
            )
            assert (d.expected_handling, d.reason_code) == ("quarantine", "PID_MALFORMED")
        elif d.defect_class == "pid_missing":
            assert d.raw_value == "" and d.reason_code == "PID_MISSING"
        elif d.defect_class == "date_unparseable":
            with pytest.raises(ValueError):
                _parse_dmy(d.raw_value)
            assert d.reason_code == "DATE_UNPARSEABLE"
        else:
            assert d.defect_class == "name_upper_no_diacritics"
            assert d.expected_handling == "normalise" and d.reason_code == ""
            assert d.raw_value == legacy_upper(d.clean_value) and d.raw_value.isascii()
    quarantine = defects[defects["expected_handling"] == "quarantine"]
    assert quarantine.duplicated(["source", "entity", "record_key"]).sum() == 0


def test_unflagged_names_keep_diacritics(run: GenerationSummary) -> None:
    si = _si(run.out)
    upper = set(
        _defects(run.out).query("defect_class in ('name_upper_no_diacritics', 'duplicate_near')")[
            "record_key"
        ]
    )
    proper = si[~si["ma_so_bhxh"].isin(upper)]
    assert (proper["ho_ten"] != proper["ho_ten"].str.upper()).all()


def _check_rates(summary: GenerationSummary, rates: dict[str, dict[str, float]]) -> None:
    """Each class's count is within binomial tolerance of (eligible rows) x (rate)."""
    counts = _defects(summary.out).groupby(["source", "defect_class"]).size()
    for source, by_class in rates.items():
        for cls, rate in by_class.items():
            n = summary.defect_eligible.get(f"{source}.{cls}", 0)
            k = int(counts.get((source, cls), 0))
            assert _within(k, n, rate), (source, cls, k, n, rate)


def test_defect_rates_default(tmp_path: Path) -> None:
    summary = generate(tmp_path, persons=3000, seed=3)
    _check_rates(summary, DEFAULT_DEFECT_RATES)


def test_defect_rates_configurable(tmp_path: Path) -> None:
    rates = {
        "civil_registration": {"pid_malformed": 0.1, "pid_missing": 0.05, "date_unparseable": 0.15},
        "social_insurance": {
            "name_upper_no_diacritics": 0.0,
            "pid_malformed": 0.1,
            "duplicate_near": 0.0,
        },
    }
    summary = generate(tmp_path, persons=3000, seed=5, defect_rates=rates)
    _check_rates(summary, rates)
    assert (_si(tmp_path)["ho_ten"] != _si(tmp_path)["ho_ten"].str.upper()).all()


# --------------------------------------------------------------------------- SQL targets


def _drop_database(server_url: str, name: str) -> None:
    """Drop a test database (server-level connection, autocommit)."""
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        engine.dispose()


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Render a table's values as text so SQLite and server results compare equal."""
    frame = frame.sort_values("ma_so_bhxh", ignore_index=True)
    return frame.apply(lambda col: col.map(str))


def _server_urls(kind: str, name: str) -> tuple[str, str]:
    """(server URL to create and drop databases from, the database's URL) for the test
    servers of tests/conftest.py."""
    if kind == "mysql":
        return f"{MYSQL_URL}/", f"{MYSQL_URL}/{name}"
    pg = PG_URL.replace("postgresql://", "postgresql+psycopg2://")
    return f"{pg}/postgres", f"{pg}/{name}"


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_social_insurance_target(run: GenerationSummary, tmp_path: Path, kind: str) -> None:
    # A name of this run's own: a concurrent run of the suite must not drop it under us.
    name = f"ndc_test_synth_{uuid.uuid4().hex[:8]}"
    server, database_url = _server_urls(kind, name)
    try:
        summary = generate(
            tmp_path, persons=1000, seed=42, days=3, targets={"social_insurance": database_url}
        )
        assert not (tmp_path / "social_insurance" / "social_insurance.sqlite").exists()
        assert summary.files["social_insurance"] == 0
        # a second run drops and recreates the table
        generate(
            tmp_path, persons=1000, seed=42, days=3, targets={"social_insurance": database_url}
        )
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as conn:
                remote = pd.read_sql_query(sa.text("SELECT * FROM insured_person"), conn)
            index_names = {i["name"] for i in sa.inspect(engine).get_indexes("insured_person")}
        finally:
            engine.dispose()
        assert "ix_insured_person_updated_at" in index_names
        assert summary.rows["social_insurance"]["insured_person"] == len(remote)
        local = _si(run.out)
        remote["ngay_sinh"] = remote["ngay_sinh"].map(lambda d: d.isoformat())
        remote["updated_at"] = remote["updated_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M:%S}")
        pd.testing.assert_frame_equal(_normalised(remote), _normalised(local))
        # inbox and truth are unaffected by the target
        assert (tmp_path / "truth" / "defects.csv").read_bytes() == (
            run.out / "truth" / "defects.csv"
        ).read_bytes()
    finally:
        _drop_database(server, name)
