"""ndc.synthetic.generator: one run's layout, summary, determinism and memory."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd

from ndc.synthetic import GenerationSummary, generate
from tests.unit.synthetic_files import (
    BASELINE,
    FILE_RE,
    read_defects_csv,
    read_inbox,
    read_si,
    read_sql_tables,
    read_truth,
)


def test_summary_table(country42: GenerationSummary) -> None:
    table = country42.as_table()
    for word in ("civil_registration", "social_insurance", "birth", "death", "insured_person"):
        assert word in table
    assert country42.defects == len(read_defects_csv(country42.out))
    assert country42.persons == 1000 and country42.files["social_insurance"] == 1


def test_layout(country11: GenerationSummary) -> None:
    out = country11.out
    for rel in (
        "social_insurance/social_insurance.sqlite",
        "residence/residence.sqlite",
        "education/education.sqlite",
        "population_db/baseline.parquet",
        "truth/persons.parquet",
        "truth/defects.parquet",
        "truth/defects.csv",
        "truth/code_systems.parquet",
        "truth/baseline_differences.parquet",
    ):
        assert (out / rel).is_file(), rel
    names = {p.name for p in (out / "civil_registration" / "inbox").iterdir()}
    assert any(n.startswith("marriages_") for n in names)
    with (out / "civil_registration" / "inbox" / sorted(n for n in names if "marr" in n)[0]).open(
        "rb"
    ) as fh:
        header = fh.readline().decode("ascii").strip()
    assert header == (
        "so_dang_ky,ngay_dang_ky,so_dinh_danh_chong,ho_ten_chong,ngay_sinh_chong,"
        "so_dinh_danh_vo,ho_ten_vo,ngay_sinh_vo,noi_dang_ky_tinh"
    )
    xlsx = sorted(p.name for p in (out / "business_registry" / "inbox").iterdir())
    assert xlsx == ["enterprises_2025W26.xlsx", "enterprises_2025W27.xlsx"]
    tables = read_sql_tables(out)
    assert list(tables["cu_tru_bien_dong"].columns) == [
        "id", "so_dinh_danh", "loai_bien_dong", "ma_tinh", "ma_huyen", "ma_xa",
        "dia_chi_chi_tiet", "ngay_bien_dong", "updated_at",
    ]  # fmt: skip
    assert list(tables["thanh_vien_ho"].columns) == [
        "id", "ma_ho", "so_dinh_danh", "quan_he_chu_ho", "tu_ngay", "den_ngay", "updated_at"
    ]  # fmt: skip
    assert list(tables["qua_trinh_dong"].columns) == [
        "id", "ma_so_bhxh", "tu_thang", "den_thang", "muc_luong", "ma_so_thue_don_vi", "updated_at"
    ]  # fmt: skip
    for source, tabs in (("residence", ("cu_tru_bien_dong", "thanh_vien_ho")),
                         ("social_insurance", ("insured_person", "qua_trinh_dong"))):  # fmt: skip
        with sqlite3.connect(out / source / f"{source}.sqlite") as conn:
            for t in tabs:
                idx = [r[1] for r in conn.execute(f"PRAGMA index_list({t})")]
                cols = {conn.execute(f"PRAGMA index_info({i})").fetchone()[2] for i in idx}
                assert "updated_at" in cols, t
    for t in ("students", "enrolments", "graduations"):
        assert tables[t]["updated_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
        assert tables[t].iloc[:, 0].is_unique
    assert "business_registry" in country11.as_table() and "residence" in country11.as_table()


def test_days_zero_gives_baseline_only(tmp_path: Path) -> None:
    summary = generate(tmp_path, persons=300, days=0)
    assert summary.dates == [BASELINE]
    assert {FILE_RE.match(n).group(3) for n in read_inbox(tmp_path)} == {"20250628"}
    assert set(read_si(tmp_path)["updated_at"].str[:10]) == {"2025-06-28"}


def test_deterministic_outputs(
    country42: GenerationSummary, country42_again: GenerationSummary
) -> None:
    a, b = country42.out, country42_again.out
    names_a = sorted(p.name for p in (a / "civil_registration" / "inbox").iterdir())
    names_b = sorted(p.name for p in (b / "civil_registration" / "inbox").iterdir())
    assert names_a == names_b
    for name in names_a:
        rel = Path("civil_registration") / "inbox" / name
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), name
    assert (a / "truth" / "defects.csv").read_bytes() == (b / "truth" / "defects.csv").read_bytes()
    pd.testing.assert_frame_equal(read_si(a), read_si(b))
    pd.testing.assert_frame_equal(read_truth(a), read_truth(b))


def test_deterministic_bytes(
    country11: GenerationSummary, country11_again: GenerationSummary
) -> None:
    a, b = country11.out, country11_again.out
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        if rel.suffix != ".sqlite":
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    ta, tb = read_sql_tables(a), read_sql_tables(b)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name])


def test_other_seed_gives_other_insured_persons(
    country42: GenerationSummary, tmp_path: Path
) -> None:
    generate(tmp_path, persons=1000, seed=7)
    assert not read_si(tmp_path).equals(read_si(country42.out))


def test_other_seed_gives_another_baseline(country11: GenerationSummary, tmp_path: Path) -> None:
    generate(tmp_path, persons=1000, seed=12, days=0)
    a = pd.read_parquet(country11.out / "population_db" / "baseline.parquet")
    b = pd.read_parquet(tmp_path / "population_db" / "baseline.parquet")
    assert not a["personal_id"].equals(b["personal_id"])


def test_rewrite_into_existing_directory(tmp_path: Path) -> None:
    generate(tmp_path, persons=300, seed=1)
    first = {p.name: p.read_bytes() for p in (tmp_path / "civil_registration" / "inbox").iterdir()}
    stale = tmp_path / "civil_registration" / "inbox" / "births_01_20991231.csv"
    stale.write_text("stale\n")
    generate(tmp_path, persons=300, seed=1)
    second = {p.name: p.read_bytes() for p in (tmp_path / "civil_registration" / "inbox").iterdir()}
    assert first == second


_CHILD = """
import resource, sys
from pathlib import Path
from ndc.synthetic import generate
generate(Path(sys.argv[1]), persons=int(sys.argv[2]), seed=1, days=3)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kb(out: Path, persons: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), str(persons)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


def test_memory_bounded(tmp_path: Path) -> None:
    small = _peak_kb(tmp_path / "s", 5_000)
    large = _peak_kb(tmp_path / "l", 20_000)
    # 4x the persons: the peak grows by the data (~2.5 KB a person), not by a multiple
    assert large - small < 80_000, (small, large)
    assert large < 1.5 * small, (small, large)
