"""The quality measures of the scorecard: read from the dictionary, checked, seeded to dbt."""

from __future__ import annotations

import pytest
import yaml

from ndc.dictionary.measures import PROPERTIES, quality_measure_rows, quality_measures
from ndc.dictionary.model import DictionaryError
from ndc.dictionary.seeds import SEEDS_DIR, seed_contents


def test_every_property_has_a_measure_with_a_target_and_both_definitions():
    measures = quality_measures()
    assert {m["property"] for m in measures} == set(PROPERTIES)
    for m in measures:
        assert m["definition"] and m["definition_vi"] and m["formula"], m["name"]
        assert m["direction"] in ("at_least", "at_most")
    # The shared measures hold the data products' deliveries, per product and period.
    shared = [m for m in measures if m["property"] == "shared"]
    assert shared and all(m["measured"] and m["applies_to"] == "sharing_products" for m in shared)
    # What the platform cannot measure says why instead of a number.
    assert all(m["not_measured_reason"] for m in measures if not m["measured"])


def test_the_committed_seed_is_the_dictionary():
    assert (SEEDS_DIR / "quality_measures.csv").read_bytes() == seed_contents()[
        "quality_measures.csv"
    ]
    assert [r["measure"] for r in quality_measure_rows()] == [m["name"] for m in quality_measures()]


def _write(tmp_path, **change):
    entry = {
        "name": "conformed_share",
        "property": "clean",
        "definition": "d",
        "definition_vi": "d",
        "formula": "f",
        "unit": "share",
        "target": 0.95,
        "direction": "at_least",
        "applies_to": "all_entities",
        "measured": True,
        **change,
    }
    entries = [entry] + [
        {**entry, "name": f"m_{p}", "property": p} for p in PROPERTIES if p != "clean"
    ]
    path = tmp_path / "quality_measures.yaml"
    path.write_text(yaml.safe_dump({"quality_measures": entries}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"property": "pretty"}, "property"),
        ({"target": 1.5}, "is a share"),
        ({"target": "98%"}, "must be a number"),
        ({"measured": False}, "not_measured_reason"),
        ({"direction": "up"}, "direction"),
    ],
)
def test_a_malformed_measure_names_the_file_and_the_field(tmp_path, change, message):
    path = _write(tmp_path, **change)
    with pytest.raises(DictionaryError, match=message) as raised:
        quality_measures(path)
    assert str(path) in str(raised.value)


def test_a_well_formed_file_reads(tmp_path):
    assert len(quality_measures(_write(tmp_path))) == len(PROPERTIES)
