"""Code lists: versioned, counted, and what the source registry declares."""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from ndc.dictionary import generated, model, seeds


@pytest.fixture(scope="module")
def lists() -> dict:
    return model.code_lists()


def test_every_code_list_has_version_source_and_status(lists) -> None:
    expected = {
        "admin_units_2025",
        "admin_units_legacy",
        "admin_units_legacy_to_2025",
        "ethnicity_1979",
        "ethnicity_2008",
        "marital_status",
        "nationality",
        "relationship_to_head",
        "religion",
        "residence_change_type",
        "sex",
    }
    assert expected <= set(lists)
    for meta in lists.values():
        assert meta["version"] and meta["source"] and meta["code_list"]
        assert meta["status"] in {"checked", "reported", "open"}
        for row in meta["rows"]:
            for value in row.values():
                assert value == unicodedata.normalize("NFC", value)


def test_admin_unit_counts_match_the_reform(lists) -> None:
    new = lists["admin_units_2025"]["rows"]
    legacy = lists["admin_units_legacy"]["rows"]

    assert len({r["province_code"] for r in new}) == 34
    assert len(new) == len({r["commune_code"] for r in new}) == 3321
    assert Counter(r["commune_type"] for r in new) == {"Xã": 2621, "Phường": 687, "Đặc khu": 13}
    assert len({r["province_code"] for r in legacy}) == 63
    assert len({r["district_code"] for r in legacy}) == 696
    wards = [r["ward_code"] for r in legacy if r["ward_code"]]
    assert len(wards) == len(set(wards))
    assert 10_000 <= len(wards) <= 10_100


def test_legacy_to_2025_conversion_flags_split_wards(lists) -> None:
    rows = lists["admin_units_legacy_to_2025"]["rows"]
    legacy_wards = {r["ward_code"] for r in lists["admin_units_legacy"]["rows"] if r["ward_code"]}
    new_communes = {r["commune_code"] for r in lists["admin_units_2025"]["rows"]}
    targets: dict[str, set[str]] = {}
    for row in rows:
        targets.setdefault(row["legacy_ward_code"], set()).add(row["new_commune_code"])

    assert set(targets) == legacy_wards
    assert {r["new_commune_code"] for r in rows} <= new_communes
    for row in rows:
        assert row["ambiguous"] == (
            "true" if len(targets[row["legacy_ward_code"]]) > 1 else "false"
        )
    ambiguous = {code for code, found in targets.items() if len(found) > 1}
    assert 400 <= len(ambiguous) <= 500


def test_admin_unit_csvs_are_what_the_package_data_gives(tmp_path: Path) -> None:
    for path in generated.build_admin_units(tmp_path) + generated.build_nationality(tmp_path):
        committed = model.CODE_LISTS_DIR / path.name
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} drifted: run `ndc dictionary build`"
        )


def test_ethnicity_lists_and_their_crosswalk(lists) -> None:
    assert model.codes("ethnicity_2008") == [f"{n:02d}" for n in range(1, 55)]
    by_code = {r["code"]: r["label_vi"] for r in lists["ethnicity_2008"]["rows"]}
    assert (by_code["01"], by_code["04"], by_code["06"], by_code["54"]) == (
        "Kinh",
        "Mường",
        "Hoa",
        "Ơ Đu",
    )
    crosswalk = {r["code_1979"]: r["code_2008"] for r in model.ethnicity_crosswalk()}
    assert crosswalk["01"] == "01"
    assert crosswalk["04"] == "06"  # Hoa
    assert crosswalk["06"] == "04"  # Mường
    assert crosswalk["11"] == "43"  # Ngái
    assert len(crosswalk) == len(lists["ethnicity_1979"]["rows"])


def test_nationality_is_iso_3166_1(lists) -> None:
    rows = {r["code"]: r for r in lists["nationality"]["rows"]}

    assert len(rows) == 249
    assert rows["VN"]["alpha_3"] == "VNM"
    assert rows["LA"]["alpha_3"] == "LAO" and rows["KH"]["alpha_3"] == "KHM"
    assert len({r["alpha_3"] for r in rows.values()}) == 249
    assert all(len(code) == 2 and len(r["alpha_3"]) == 3 for code, r in rows.items())


@pytest.mark.parametrize(
    ("source", "family", "value"), model.registry_declarations(), ids=lambda v: str(v)
)
def test_every_registry_declaration_names_something_in_the_dictionary(
    source, family, value
) -> None:
    assert model.resolve_declaration(family, value), (
        f"include/sources/{source}.yaml declares code_lists.{family}: {value}, "
        "which the dictionary lacks"
    )


def test_registry_declarations_are_scanned() -> None:
    declared = {(family, value) for _, family, value in model.registry_declarations()}

    assert ("administrative_units", "legacy-until-2025-07-01") in declared
    assert ("ethnicity", "ethnicity_2008") in declared
    assert model.resolve_declaration("ethnicity", "ethnicity_1979")
    assert model.resolve_declaration("administrative_units", "2025")
    assert model.resolve_declaration("sex", "no_such_mapping") is None


def test_committed_seed_csvs_parse_with_text_codes() -> None:
    with (seeds.SEEDS_DIR / "relationship_to_head.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0] == {"code": "01", "label_vi": "Chủ hộ", "label": "head of household"}
