"""ndc.synthetic.provinces: the legacy province table and the legacy-encoding offices."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ndc.synthetic.provinces import LEGACY_PROVINCES


def test_province_table_matches_vietnamadminunits() -> None:
    import vietnamadminunits

    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT DISTINCT provinceCode, provinceShort FROM admin_units_legacy"
        ).fetchall()
    assert dict(rows) == LEGACY_PROVINCES


def test_legacy_provinces_depend_on_seed_only() -> None:
    from ndc.synthetic.provinces import legacy_encoding_provinces

    assert legacy_encoding_provinces(42) == legacy_encoding_provinces(42)
    assert len({legacy_encoding_provinces(s) for s in range(10)}) > 1
