"""ndc.synthetic.world: a run of D days repeats the run of D - 1 days and adds day D."""

from __future__ import annotations

import pandas as pd

from ndc.synthetic import GenerationSummary
from tests.unit.synthetic_files import SQL_TABLES, read_defects, read_sql_tables


def text_cells(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), "").astype(str)


def test_days_are_prefix_consistent(
    country11: GenerationSummary, country11_longer: GenerationSummary
) -> None:
    a, b = country11.out, country11_longer.out
    for folder, pattern in (
        ("civil_registration/inbox", "*.csv"),
        ("business_registry/inbox", "*.xlsx"),
    ):
        for path in sorted((a / folder).glob(pattern)):
            assert path.read_bytes() == (b / folder / path.name).read_bytes(), path.name
    assert (a / "population_db" / "baseline.parquet").read_bytes() == (
        b / "population_db" / "baseline.parquet"
    ).read_bytes()
    assert any(p.name.endswith("20250702.csv") for p in (b / "civil_registration/inbox").iterdir())
    ta, tb = read_sql_tables(a), read_sql_tables(b)
    for tables in SQL_TABLES.values():
        for name, key in tables.items():
            old, new = ta[name].set_index(key), tb[name].set_index(key)
            assert old.index.isin(new.index).all(), name  # nothing disappears
            common = new.loc[old.index]
            changed = (text_cells(old) != text_cells(common)).any(axis=1)
            # a row may only change when it was updated on the added day
            assert common.loc[changed, "updated_at"].str.startswith("2025-07-02").all(), name
            added = new.loc[~new.index.isin(old.index), "updated_at"]
            assert added.str.startswith("2025-07-02").all(), name
    da, db = read_defects(a), read_defects(b)
    merged = da.merge(db, how="left", indicator=True)
    late = ("dead_still_active",)  # a row of the first run may be closed later
    assert (merged["_merge"] == "both")[~merged["defect_class"].isin(late)].all()
