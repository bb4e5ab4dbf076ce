"""The sharing registry: its four products load, and a product that breaks the personal-data
rule is refused with an error naming the file and the element."""

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ndc.cli import main
from ndc.sharing.registry import (
    DeliveryKind,
    Level,
    SharingError,
    api_products,
    dictionary_elements,
    load_product,
    load_sharing_registry,
)

IDENTIFIED = {
    "name": "p",
    "title": "A product",
    "consumer": {"agency": "social_insurance", "name": "Vietnam Social Security"},
    "legal_basis": {"instrument": "Law X", "article": "Article 1"},
    "purpose": "A purpose.",
    "level": "identified",
    "reads": "citizens",
    "elements": ["personal_id", "date_of_death"],
    "frequency": "@daily",
    "delivery": {"kind": "files", "target": "folder", "location": "x", "format": "csv"},
    "retention_days": 30,
}
AGGREGATED = {
    **{k: v for k, v in IDENTIFIED.items() if k not in ("legal_basis", "elements")},
    "level": "aggregated",
    "aggregation": {"group_by": [{"element": "commune_code"}, {"element": "sex_code"}]},
}


@pytest.fixture(scope="module")
def elements():
    return dictionary_elements()


def write(tmp_path: Path, body: dict, name: str = "p") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**body, "name": name}), encoding="utf-8")
    return path


def refused(tmp_path: Path, body: dict, elements) -> str:
    path = write(tmp_path, body)
    with pytest.raises(SharingError) as info:
        load_product(path, elements)
    message = str(info.value)
    assert str(path) in message  # the error names the product file
    return message


def test_the_registry_holds_the_three_issue_products_and_an_api_entitlement():
    products = load_sharing_registry()
    assert {n: (p.level, p.delivery.kind) for n, p in products.items()} == {
        "births_by_commune_to_education": (Level.AGGREGATED, DeliveryKind.FILES),
        "citizen_verification_for_social_insurance": (Level.IDENTIFIED, DeliveryKind.API),
        "deaths_to_social_insurance": (Level.IDENTIFIED, DeliveryKind.FILES),
        "population_by_commune_open_data": (Level.AGGREGATED, DeliveryKind.FILES),
    }
    open_data = products["population_by_commune_open_data"]
    assert open_data.open_data and open_data.aggregation.suppress_below == 5
    assert open_data.legal_basis is None
    assert products["deaths_to_social_insurance"].frequency == "@daily"
    assert products["births_by_commune_to_education"].frequency == "@monthly"
    assert list(api_products(products, "social_insurance")) == [
        "citizen_verification_for_social_insurance"
    ]
    assert api_products(products, "education") == {}


def test_a_valid_product_loads(tmp_path, elements):
    product = load_product(write(tmp_path, IDENTIFIED), elements)
    assert product.cite() == "Law X, Article 1"
    assert load_product(write(tmp_path, AGGREGATED), elements).legal_basis is None


def test_an_unknown_element_is_refused(tmp_path, elements):
    message = refused(tmp_path, {**IDENTIFIED, "elements": ["personal_id", "shoe_size"]}, elements)
    assert "'shoe_size' is not in the dictionary" in message


def test_a_personal_element_without_a_legal_basis_is_refused(tmp_path, elements):
    body = {k: v for k, v in IDENTIFIED.items() if k != "legal_basis"}
    message = refused(tmp_path, body, elements)
    assert "'personal_id' is basic personal data: the product needs a legal_basis" in message


def test_a_sensitive_element_needs_a_basis_that_names_it(tmp_path, elements):
    body = {**IDENTIFIED, "elements": ["personal_id", "ethnicity_code"]}
    message = refused(tmp_path, body, elements)
    assert "'ethnicity_code' is sensitive personal data" in message
    assert "sensitive_elements must name it" in message
    basis = {**IDENTIFIED["legal_basis"], "sensitive_elements": ["ethnicity_code"]}
    assert load_product(write(tmp_path, {**body, "legal_basis": basis}), elements)


def test_an_aggregated_product_with_a_personal_element_is_refused(tmp_path, elements):
    message = refused(tmp_path, {**AGGREGATED, "elements": ["full_name"]}, elements)
    assert "'full_name' is basic personal data, and an aggregated product carries none" in message


def test_an_aggregated_product_cannot_group_by_an_identifier_or_a_raw_date(tmp_path, elements):
    body = {**AGGREGATED, "aggregation": {"group_by": [{"element": "personal_id"}]}}
    assert "'personal_id' identifies a person" in refused(tmp_path, body, elements)
    body = {**AGGREGATED, "aggregation": {"group_by": [{"element": "date_of_birth"}]}}
    assert "is a date: group it by a period or in bands" in refused(tmp_path, body, elements)


def test_a_row_filter_compares_dictionary_elements_only(tmp_path, elements):
    body = {**IDENTIFIED, "row_filter": "date_of_deth is not null and full_name <> 'x or y'"}
    message = refused(tmp_path, body, elements)
    assert "row_filter: 'date_of_deth' is not in the dictionary" in message
    assert "'y'" not in message  # a quoted literal is not a name
    fine = {
        **IDENTIFIED,
        "row_filter": "date_of_death >= date '2025-07-01' and sex_code in ('1', '2')",
    }
    assert load_product(write(tmp_path, fine), elements).row_filter.startswith("date_of_death")


def test_open_data_suppresses_counts_under_five(tmp_path, elements):
    body = {**AGGREGATED, "open_data": True}
    body["aggregation"] = {**body["aggregation"], "suppress_below": 3}
    assert "open data suppresses counts under 5, got 3" in refused(tmp_path, body, elements)


def test_an_api_product_serves_only_facts_of_the_population_database(tmp_path, elements):
    body = {
        **{k: v for k, v in IDENTIFIED.items() if k not in ("reads", "frequency")},
        "elements": ["full_name", "monthly_salary_vnd"],
        "delivery": {"kind": "api"},
    }
    message = refused(tmp_path, body, elements)
    assert "'monthly_salary_vnd' is not a fact the lookup service serves" in message


def test_the_file_name_is_the_product_name(tmp_path, elements):
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(IDENTIFIED), encoding="utf-8")
    with pytest.raises(SharingError, match="must match the file name 'other'"):
        load_product(path, elements)


def test_ndc_sharing_check_and_list():
    runner = CliRunner()
    checked = runner.invoke(main, ["sharing", "check"])
    assert checked.exit_code == 0, checked.output
    assert "deaths_to_social_insurance: identified, files, social_insurance - ok" in checked.output
    listed = runner.invoke(main, ["sharing", "list"])
    assert listed.exit_code == 0, listed.output
    assert "commune_code, sex_code, age_group" in listed.output
