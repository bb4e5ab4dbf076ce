"""Every registry entity reaches every fan-in that must hold it, read off dbt's graph.

Adding a source entity (include/sources/*.yaml) needs a staging model, its rows in the
quarantine and, for duplicates and persons, in the merged rows and the discrepancies, and a
per-agency discrepancy mart for its source. Left out of a fan-in, nothing failed until a batch
with a quarantined row stopped balancing at run time; these tests fail first, naming the
entity, the fan-in and where it is declared. They read `dbt_project/target/manifest.json`
(written by `make install`): each staging model's raw source, its declared columns, and the
models each fan-in model depends on.
"""

from __future__ import annotations

import json

import pytest

from ndc.registry import load_registry, raw_table
from ndc.settings import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"

# Person-carrying entities the discrepancy marts do not compare, and why.
NOT_COMPARED = {
    # Two persons per row (husband and wife), no date of birth or sex to compare beyond
    # what the births and the population database already hold.
    ("civil_registration", "marriage"): "two spouses per record",
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    if not MANIFEST.exists():
        pytest.fail(f"{MANIFEST} is missing: `make install` parses the dbt project")
    return json.loads(MANIFEST.read_text())


def _entities() -> list[tuple[str, str]]:
    return [(s.name, e.name) for s in load_registry().values() for e in s.entities]


def staging_models(manifest: dict) -> dict[tuple[str, str], dict]:
    """Each registry entity's staging model: the staging model that reads its raw table."""
    found: dict[tuple[str, str], dict] = {}
    for source, entity in _entities():
        raw = f"source.ndc.raw.{raw_table(source, entity)}"
        readers = [
            n
            for n in manifest["nodes"].values()
            if n["resource_type"] == "model"
            and n["schema"] == "staging"
            and raw in n["depends_on"]["nodes"]
        ]
        if len(readers) == 1:
            found[(source, entity)] = readers[0]
    return found


def _depends_on(manifest: dict, model: str) -> set[str]:
    return set(manifest["nodes"][f"model.ndc.{model}"]["depends_on"]["nodes"])


def _person_columns(node: dict) -> list[str]:
    return [c for c in node["columns"] if c == "personal_id" or c.endswith("_personal_id")]


@pytest.mark.parametrize(("source", "entity"), _entities())
def test_every_entity_has_a_raw_source_and_one_staging_model(manifest, source, entity):
    registry = load_registry()[source].entity(entity)
    raw = manifest["sources"].get(f"source.ndc.raw.{raw_table(source, entity)}")
    assert raw is not None, (
        f"{source}.{entity}: no dbt source raw.{raw_table(source, entity)} "
        f"(dbt_project/models/staging/{source}/_{source}__sources.yml)"
    )
    declared = [c for c in raw["columns"] if not c.startswith("_")]
    assert declared == registry.raw_columns, (
        f"{source}.{entity}: the dbt source's columns {declared} are not the registry's "
        f"{registry.raw_columns} (include/sources/{source}.yaml; the load adds <phone>_e164)"
    )
    assert (source, entity) in staging_models(manifest), (
        f"{source}.{entity}: no single staging model reads raw.{raw_table(source, entity)}"
    )


@pytest.mark.parametrize(("source", "entity"), _entities())
def test_every_entity_is_in_the_quarantine(manifest, source, entity):
    model = staging_models(manifest)[(source, entity)]
    assert model["unique_id"] in _depends_on(manifest, "quarantined_rows"), (
        f"{source}.{entity}: {model['name']} is not in quarantine.quarantined_rows "
        "(quarantine_entities(), from the generated dbt_project/macros/registry.sql: run make "
        "install); its rejected rows would be counted nowhere and its batches would not balance"
    )


def test_merged_duplicates_hold_every_model_that_finds_duplicates(manifest):
    merged = _depends_on(manifest, "merged_duplicates")
    for (source, entity), model in staging_models(manifest).items():
        finds = "duplicate_of_record_key" in model["columns"]
        assert finds == (model["unique_id"] in merged), f"{source}.{entity}: {model['name']} " + (
            "finds duplicates but is not in quarantine.merged_duplicates "
            "(duplicate_entities() in dbt_project/macros/duplicates.sql)"
            if finds
            else "is in quarantine.merged_duplicates but declares no duplicate columns"
        )


def test_every_person_carrying_entity_is_compared_and_has_its_agency_mart(manifest):
    detected = _depends_on(manifest, "int_discrepancies_detected")
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for (source, entity), model in staging_models(manifest).items():
        if not _person_columns(model) or (source, entity) in NOT_COMPARED:
            continue
        assert model["unique_id"] in detected, (
            f"{source}.{entity}: {model['name']} carries persons "
            f"({', '.join(_person_columns(model))}) but is not in "
            f"intermediate.int_discrepancies_detected: declare `discrepancies:` in "
            f"include/sources/{source}.yaml (then make install), or name it in NOT_COMPARED "
            "with a reason"
        )
        assert f"discrepancies_{source}" in marts, (
            f"{source}: no marts.discrepancies_{source} for the agency "
            "(dbt_project/models/marts/discrepancies)"
        )


def test_every_conformed_column_the_registry_declares_is_in_its_staging_model(manifest):
    """`conform` (source column -> staging column) is what the evaluation scores repairs in."""
    models = staging_models(manifest)
    for source in load_registry().values():
        for entity in source.entities:
            staged = models[(source.name, entity.name)]["columns"]
            missing = {c.to for c in entity.conform.values()} - set(staged)
            assert not missing, (
                f"{source.name}.{entity.name}: conform names {sorted(missing)}, which "
                f"{source.staging_model(entity)} does not declare (its _models.yml)"
            )
