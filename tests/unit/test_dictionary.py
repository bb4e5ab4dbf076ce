"""The dbt seeds, models and tests agree with the shared data dictionary."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ndc import settings
from ndc.cli import main
from ndc.dictionary import model, seeds

DBT_PROJECT = settings.DBT_PROJECT_DIR
SOURCES_DIR = settings.SOURCES_DIR
# Upper snake case tokens such as PID_MALFORMED: reason codes, as dbt SQL is lower case.
REASON_CODE_TOKEN = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def _dbt_files() -> list[Path]:
    return sorted(
        path
        for folder in ("models", "macros", "tests", "seeds")
        for path in (DBT_PROJECT / folder).rglob("*")
        if path.suffix in {".sql", ".yml", ".yaml"}
    )


def test_committed_seeds_are_what_the_dictionary_generates(tmp_path: Path) -> None:
    written = seeds.write_seeds(tmp_path)

    assert [path.name for path in written] == [
        "reason_codes.csv",
        "sex_code_map.csv",
        "source_code_map.csv",
        "admin_units_provinces.csv",
        "golden_attributes.csv",
        "quality_measures.csv",
        "data_element_masking.csv",
        "relationship_to_head.csv",
        "residence_change_type.csv",
        "ethnicity_2008.csv",
        "mobile_prefix_2018.csv",
        "admin_units_2025_communes.csv",
        "admin_units_legacy_to_2025.csv",
        "_code_lists__seeds.yml",
    ]
    for path in written:
        committed = seeds.SEEDS_DIR / path.name
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} drifted from include/dictionary: run `ndc dictionary seeds`"
        )


def test_every_reason_code_in_the_dbt_project_is_in_the_dictionary() -> None:
    known = {row["code"] for row in model.reason_codes()}
    # A code of a code list (a residence change type such as DK_THUONG_TRU) is no reason code.
    known |= {
        row["code"]
        for meta in model.code_lists().values()
        if "code" in meta["columns"]
        for row in meta["rows"]
    }
    used: dict[str, set[str]] = {}
    for path in _dbt_files():
        for token in REASON_CODE_TOKEN.findall(path.read_text(encoding="utf-8")):
            used.setdefault(token, set()).add(str(path.relative_to(DBT_PROJECT)))

    assert used, "no reason code found in dbt_project: the scan is broken"
    unknown = {code: sorted(files) for code, files in used.items() if code not in known}
    assert not unknown, f"reason codes missing from reason_codes.yaml: {unknown}"


def test_quarantine_accepts_every_dictionary_reason_code() -> None:
    models = yaml.safe_load(
        (DBT_PROJECT / "models" / "quarantine" / "_quarantine__models.yml").read_text("utf-8")
    )
    (quarantined_rows,) = [m for m in models["models"] if m["name"] == "quarantined_rows"]
    (reason_code,) = [c for c in quarantined_rows["columns"] if c["name"] == "reason_code"]
    (accepted,) = [
        t["accepted_values"]["arguments"]["values"]
        for t in reason_code["data_tests"]
        if isinstance(t, dict) and "accepted_values" in t
    ]

    assert set(accepted) == model.quarantine_reason_codes()
    # A code that is not a quarantine's is marked so in the dictionary, not left out of it.
    assert model.quarantine_reason_codes() < {row["code"] for row in model.reason_codes()}


DECLARED_CODE_MAP_CALL = re.compile(r"declared_code_map\('([a-z0-9_]+)', '([a-z0-9_]+)'\)")


@pytest.mark.parametrize("registry_file", sorted(SOURCES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_staging_models_map_codes_through_the_lists_their_source_declares(
    registry_file: Path,
) -> None:
    source = yaml.safe_load(registry_file.read_text(encoding="utf-8"))
    staging = DBT_PROJECT / "models" / "staging" / source["name"]
    used = {
        match
        for path in staging.glob("stg_*.sql")
        for match in DECLARED_CODE_MAP_CALL.findall(path.read_text(encoding="utf-8"))
    }
    mapped = {
        (row["source"], row["code_list"])
        for row in seeds.declared_code_map()
        if row["source"] == source["name"]
    }

    # A model may only map through a list its source declares, and every declared list of
    # codes is used by some model of that source.
    assert used == mapped


def test_a_source_declaring_a_list_the_dictionary_lacks_fails(tmp_path: Path) -> None:
    (tmp_path / "old_school_registry.yaml").write_text(
        "name: old_school_registry\ncode_lists:\n  sex: education_sex\n"
        "  ethnicity: ethnicity_1989\n",
        encoding="utf-8",
    )

    with pytest.raises(model.DictionaryError, match="ethnicity: 'ethnicity_1989'"):
        seeds.declared_code_map(tmp_path)


def test_a_source_declaring_an_unknown_sex_mapping_fails(tmp_path: Path) -> None:
    (tmp_path / "clinic.yaml").write_text(
        "name: clinic\ncode_lists:\n  sex: clinic_sex\n", encoding="utf-8"
    )

    with pytest.raises(model.DictionaryError, match="clinic.yaml declares code_lists.sex"):
        seeds.declared_code_map(tmp_path)


def test_codes_are_mapped_through_the_declared_version(tmp_path: Path) -> None:
    (tmp_path / "old_census.yaml").write_text(
        "name: old_census\ncode_lists:\n  ethnicity: ethnicity_1979\n"
        "  administrative_units: legacy\n",
        encoding="utf-8",
    )
    (tmp_path / "new_census.yaml").write_text(
        'name: new_census\ncode_lists:\n  ethnicity: "2008"\n', encoding="utf-8"
    )

    rows = seeds.declared_code_map(tmp_path)
    old = {r["source_value"]: r["code"] for r in rows if r["source"] == "old_census"}
    new = {r["source_value"]: r["code"] for r in rows if r["source"] == "new_census"}

    # Hoa is 04 in 1979 and 06 in 2008; E-de 12 and 11; Kinh 01 in both.
    assert (old["04"], old["12"], old["01"]) == ("06", "11", "01")
    assert (new["04"], new["06"], new["54"]) == ("04", "06", "54")
    # The open 1979 list has 12 codes: '13' is unknown there, known in 2008.
    assert "13" not in old and "13" in new
    # Administrative units are converted by their own models, not mapped value by value.
    assert {r["code_list"] for r in rows} == {"ethnicity"}


def test_committed_code_map_follows_the_registry() -> None:
    rows = seeds.declared_code_map()
    by_source: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        mapping = by_source.setdefault((row["source"], row["code_list"]), {})
        mapping[row["source_value"]] = row["code"]

    assert by_source[("civil_registration", "sex")] == {"Nam": "1", "Nữ": "2"}
    assert by_source[("social_insurance", "sex")] == {"1": "1", "0": "2"}
    assert by_source[("education", "ethnicity")]["05"] == "05"
    assert len(by_source[("education", "ethnicity")]) == 54
    assert by_source[("residence", "relationship_to_head")]["99"] == "99"
    assert set(by_source[("residence", "residence_change_type")]) == {
        "DK_THUONG_TRU",
        "XOA_THUONG_TRU",
        "DK_TAM_TRU",
    }


def test_provinces_of_both_versions_give_the_personal_id_prefixes() -> None:
    rows = seeds.provinces()
    prefixes = {"0" + row["province_code"] for row in rows}

    assert sum(row["code_system"] == "legacy" for row in rows) == 63
    assert sum(row["code_system"] == "2025" for row in rows) == 34
    assert {"001", "079", "048", "092", "031", "044", "096"} <= prefixes
    # Codes the statistics office never gave a province (the legacy list skips them).
    assert not {"003", "005", "013", "057", "059", "063", "090", "099"} & prefixes
    assert all(len(prefix) == 3 for prefix in prefixes)


def test_sex_mappings_are_nfc_and_map_to_qcvn_109_codes() -> None:
    rows = seeds.sex_mappings()

    assert {"mapping": "civil_registration_sex", "source_value": "Nữ", "sex_code": "2"} in rows
    assert {"mapping": "social_insurance_sex", "source_value": "0", "sex_code": "2"} in rows
    for row in rows:
        assert row["source_value"] == unicodedata.normalize("NFC", row["source_value"])
        assert row["sex_code"] in {"0", "1", "2"}


def test_an_unquoted_code_in_the_dictionary_is_an_error(tmp_path: Path) -> None:
    code_list = tmp_path / "sex.yaml"
    code_list.write_text(
        'codes:\n  - {code: "1"}\nsource_mappings:\n  some_source_sex:\n    M: 1\n',
        encoding="utf-8",
    )

    with pytest.raises(model.DictionaryError, match="some_source_sex"):
        seeds.sex_mappings(code_list)


def test_ndc_dictionary_seeds_writes_the_seeds(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", tmp_path)

    result = CliRunner().invoke(main, ["dictionary", "seeds"])

    assert result.exit_code == 0, result.output
    assert {"reason_codes.csv", "sex_code_map.csv", "ethnicity_2008.csv"} <= {
        p.name for p in (tmp_path / "seeds").iterdir()
    }
    assert f"wrote {tmp_path / 'seeds' / 'reason_codes.csv'}" in result.output
