"""Data elements: complete, well-formed, and what the dbt models document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ndc.cli import main
from ndc.dictionary import checks, model, seeds
from ndc.settings import REPO_ROOT

DBT_MODELS = REPO_ROOT / "dbt_project" / "models"
CITIZENS_YML = DBT_MODELS / "marts" / "population" / "_population__models.yml"


def _citizens_columns() -> list[dict]:
    document = yaml.safe_load(CITIZENS_YML.read_text(encoding="utf-8"))
    (citizens,) = [m for m in document["models"] if m["name"] == "citizens"]
    return citizens["columns"]


def test_every_group_has_elements_with_every_field() -> None:
    elements = model.elements()

    assert {e["group"] for e in elements} == set(model.ELEMENT_GROUPS)
    for element in elements:
        for field in ("name", "type", "definition", "definition_vi", "validation"):
            assert element[field], (element["name"], field)
        assert element["personal_data"] in {"none", "basic", "sensitive"}
        assert "qcvn109_name" in element


def test_sensitive_and_basic_personal_data_follow_law_91() -> None:
    by_name = {e["name"]: e for e in model.elements()}

    for name in ("ethnicity_code", "religion_code"):
        assert by_name[name]["personal_data"] == "sensitive"
    for name in ("personal_id", "full_name", "date_of_birth"):
        assert by_name[name]["personal_data"] == "basic"


def test_qcvn_109_names_where_known() -> None:
    by_name = {e["name"]: e["qcvn109_name"] for e in model.elements()}

    assert by_name["personal_id"] == "SoDinhDanh"
    assert by_name["full_name"] == "HoVaTen"
    assert by_name["ethnicity_code"] == "DanToc"
    assert by_name["record_count"] is None


def test_every_citizens_mart_column_is_an_element_with_its_type_and_description() -> None:
    by_name = {e["name"]: e for e in model.elements()}

    columns = _citizens_columns()
    # The pipeline's bookkeeping (the sync's change marker, when the row was built) is not a
    # dictionary element.
    assert {c["name"] for c in columns if c["name"].startswith("_")} == {
        "_row_hash",
        "_changed_at",
        "_built_at",
    }
    for column in (c for c in columns if not c["name"].startswith("_")):
        element = by_name.get(column["name"])
        assert element is not None, f"citizens.{column['name']} is not a dictionary element"
        assert column["data_type"] == model.dbt_data_type(element), column["name"]
        assert " ".join(column["description"].split()) == element["dbt_description"]
    assert checks.check_dbt_docs() == []


def test_ndc_dictionary_check_prints_each_drift_and_fails(monkeypatch) -> None:
    clean = CliRunner().invoke(main, ["dictionary", "check"])
    assert (clean.exit_code, clean.output) == (0, "")

    drift = ["citizens.shoe_size: not a dictionary element"]
    monkeypatch.setattr(checks, "check_dbt_docs", lambda: drift)
    drifted = CliRunner().invoke(main, ["dictionary", "check"])
    assert (drifted.exit_code, drifted.output) == (1, drift[0] + "\n")


def test_check_dbt_docs_reports_a_drifted_description(tmp_path: Path) -> None:
    document = yaml.safe_load(CITIZENS_YML.read_text(encoding="utf-8"))
    document["models"][0]["columns"][1]["description"] = "Something else."
    document["models"][0]["columns"].append({"name": "shoe_size", "data_type": "integer"})
    (tmp_path / "_population__models.yml").write_text(yaml.safe_dump(document), encoding="utf-8")

    problems = checks.check_dbt_docs(models_dir=tmp_path)

    assert any(p.startswith("citizens.full_name: description") for p in problems)
    assert "citizens.shoe_size: not a dictionary element" in problems


def test_accepted_values_in_the_models_are_the_dictionary_codes() -> None:
    # Every accepted_values test on a column that is a coded element lists exactly its codes.
    lists = model.code_lists()
    by_name = {e["name"]: e for e in model.elements()}
    checked = 0
    for path in sorted(DBT_MODELS.rglob("_*__models.yml")):
        for dbt_model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            for column in dbt_model.get("columns") or []:
                element = by_name.get(column["name"])
                if element is None or element["code_list"] not in lists:
                    continue
                for test in column.get("data_tests") or []:
                    if isinstance(test, dict) and "accepted_values" in test:
                        values = test["accepted_values"]["arguments"]["values"]
                        expected = model.codes(element["code_list"])
                        assert sorted(values) == sorted(expected), (
                            dbt_model["name"],
                            column["name"],
                        )
                        checked += 1
    assert checked >= 5


def test_students_accept_the_ethnicity_codes_of_the_declared_list() -> None:
    sql = (
        REPO_ROOT / "dbt_project/models/staging/education/stg_education__students.sql"
    ).read_text("utf-8")
    mapped = [
        row["source_value"]
        for row in seeds.declared_code_map()
        if (row["source"], row["code_list"]) == ("education", "ethnicity")
    ]

    assert "declared_code_map('education', 'ethnicity')" in sql
    assert mapped == model.codes("ethnicity_2008") == [f"{n:02d}" for n in range(1, 55)]


def test_an_element_with_an_unknown_authority_is_an_error(tmp_path: Path) -> None:
    for group in model.ELEMENT_GROUPS:
        (tmp_path / f"{group}.yaml").write_text(
            (model.ELEMENTS_DIR / f"{group}.yaml").read_text("utf-8"), encoding="utf-8"
        )
    citizen = tmp_path / "citizen.yaml"
    citizen.write_text(
        citizen.read_text("utf-8").replace(
            "authoritative_source: population_db", "authoritative_source: somewhere", 1
        ),
        encoding="utf-8",
    )

    with pytest.raises(model.DictionaryError, match="somewhere"):
        model.elements(tmp_path)


def test_golden_record_attributes_name_their_authority_and_rules() -> None:
    golden = {e["name"]: e for e in model.golden_attributes()}

    assert {
        "commune_code": "residence",
        "province_code": "residence",
        "date_of_death": "civil_registration",
        "marital_status_code": "civil_registration",
        "is_insured": "social_insurance",
        "education_level_code": "education",
    } == {name: e["authoritative_source"] for name, e in golden.items()}
    for element in golden.values():
        assert set(element["survivorship"]) <= set(model.SURVIVORSHIP_RULES)
    # Identity is the population database's: never a survivorship attribute.
    assert not {"full_name", "date_of_birth", "sex_code", "personal_id"} & set(golden)


@pytest.mark.parametrize("rules", ["[authoritative, newest]", "[most_recent, most_recent]", "[]"])
def test_an_unknown_or_repeated_survivorship_rule_is_an_error(tmp_path: Path, rules) -> None:
    for group in model.ELEMENT_GROUPS:
        (tmp_path / f"{group}.yaml").write_text(
            (model.ELEMENTS_DIR / f"{group}.yaml").read_text("utf-8"), encoding="utf-8"
        )
    address = tmp_path / "address.yaml"
    address.write_text(
        address.read_text("utf-8").replace(
            "survivorship: [authoritative, most_recent, most_complete]",
            f"survivorship: {rules}",
            1,
        ),
        encoding="utf-8",
    )

    with pytest.raises(model.DictionaryError, match="survivorship"):
        model.elements(tmp_path)
