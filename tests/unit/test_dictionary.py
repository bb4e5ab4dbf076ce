"""The dbt seeds, models and tests agree with the shared data dictionary."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from ndc import dictionary

DBT_PROJECT = dictionary.REPO_ROOT / "dbt_project"
SOURCES_DIR = dictionary.REPO_ROOT / "include" / "sources"
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
    written = dictionary.write_seeds(tmp_path)

    assert [path.name for path in written] == [
        "reason_codes.csv",
        "sex_code_map.csv",
        "relationship_to_head.csv",
        "residence_change_type.csv",
        "ethnicity_2008.csv",
        "mobile_prefix_2018.csv",
        "admin_units_2025_communes.csv",
        "admin_units_legacy_to_2025.csv",
        "_code_lists__seeds.yml",
    ]
    for path in written:
        committed = dictionary.SEEDS_DIR / path.name
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} drifted from include/dictionary: run `python -m ndc.dictionary`"
        )


def test_every_reason_code_in_the_dbt_project_is_in_the_dictionary() -> None:
    known = {row["code"] for row in dictionary.reason_codes()}
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

    assert set(accepted) == {row["code"] for row in dictionary.reason_codes()}


@pytest.mark.parametrize("registry_file", sorted(SOURCES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_staging_models_map_sex_with_the_mapping_their_source_declares(
    registry_file: Path,
) -> None:
    source = yaml.safe_load(registry_file.read_text(encoding="utf-8"))
    declared = (source.get("code_lists") or {}).get("sex")
    if declared is None:
        pytest.skip(f"{source['name']} declares no sex code list")
    staging = DBT_PROJECT / "models" / "staging" / source["name"]
    used = {
        match
        for path in staging.glob("stg_*.sql")
        for match in re.findall(r"mapping = '([a-z0-9_]+)'", path.read_text(encoding="utf-8"))
    }

    assert declared in {row["mapping"] for row in dictionary.sex_mappings()}
    assert used == {declared}


def test_sex_mappings_are_nfc_and_map_to_qcvn_109_codes() -> None:
    rows = dictionary.sex_mappings()

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

    with pytest.raises(dictionary.DictionaryError, match="some_source_sex"):
        dictionary.sex_mappings(code_list)


def test_module_entry_point_writes_the_seeds(tmp_path: Path, capsys) -> None:
    assert dictionary.main([str(tmp_path)]) == 0

    assert {"reason_codes.csv", "sex_code_map.csv", "ethnicity_2008.csv"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert str(tmp_path / "reason_codes.csv") in capsys.readouterr().out
