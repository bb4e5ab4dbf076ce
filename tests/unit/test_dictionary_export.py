"""`ndc.dictionary.publish.export`: the dictionary for agencies as HTML and CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from ndc.dictionary import model, publish


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def test_export_writes_a_searchable_page_and_csvs(tmp_path: Path) -> None:
    written = publish.export(tmp_path / "out")
    out = tmp_path / "out"

    assert out / "index.html" in written
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<input type="search" id="search"' in html
    assert "<script>" in html and "http" not in html.split("<script>")[1]
    for element in model.elements():
        assert f'id="element-{element["name"]}"' in html
    for list_id in model.code_lists():
        assert f'id="list-{list_id}"' in html
        assert (out / "code_lists" / f"{list_id}.csv").exists()
    assert "Showing the first 200 of 3321 rows" in html
    assert html.count("<tr>") < 6000  # big lists are cut

    assert _header(out / "elements.csv")[:3] == ["group", "name", "qcvn109_name"]
    with (out / "elements.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == len(model.elements())
    assert _header(out / "code_lists" / "admin_units_2025.csv") == [
        "province_code",
        "province_name",
        "commune_code",
        "commune_name",
        "commune_type",
    ]
    assert _header(out / "code_lists" / "sex.csv") == ["code", "label", "label_vi"]
    assert _header(out / "code_lists" / "ethnicity_1979_to_2008.csv") == [
        "code_1979",
        "code_2008",
        "label_vi",
    ]
    with (out / "code_lists" / "admin_units_2025.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 3321


def test_export_is_deterministic(tmp_path: Path) -> None:
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in publish.export(tmp_path / "a")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in publish.export(tmp_path / "b")}

    assert first == second
