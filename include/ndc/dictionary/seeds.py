"""The dbt seeds generated from the dictionary (`ndc dictionary seeds`).

`dbt_project/seeds/*.csv` and `dbt_project/seeds/_code_lists__seeds.yml` are generated and
committed so that `dbt build` needs no Python step; the tests in
`tests/unit/test_dictionary*.py` fail when the committed files drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ndc.dictionary.generated import csv_bytes
from ndc.dictionary.masking import MASKING_COLUMNS, masking_rows
from ndc.dictionary.measures import MEASURE_COLUMNS, quality_measure_rows
from ndc.dictionary.model import (
    CODE_LISTS_DIR,
    REASON_CODE_COLUMNS,
    SEX_CODE_LIST_FILE,
    DictionaryError,
    code_list,
    code_lists,
    crosswalk,
    golden_attributes,
    reason_codes,
    registry_declarations,
    source_mappings,
)
from ndc.settings import DBT_PROJECT_DIR, SOURCES_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
CODE_LIST_SEEDS_YAML = "_code_lists__seeds.yml"
SEX_MAPPING_COLUMNS = ("mapping", "source_value", "sex_code")


def sex_mappings(path: Path = SEX_CODE_LIST_FILE) -> list[dict[str, str]]:
    """Each source's native sex values mapped to the QCVN 109 code, in dictionary order."""
    return [
        {"mapping": r["mapping"], "source_value": r["source_value"], "sex_code": r["code"]}
        for r in source_mappings(path)
    ]


SOURCE_CODE_MAP_COLUMNS = ("source", "code_list", "declared", "source_value", "code")


def _mappable(meta: dict[str, Any]) -> bool:
    # A list of codes a column holds (sex, ethnicity, nationality, ...); administrative units
    # are keyed by ward/commune and converted by their own models, not mapped value by value.
    return "code" in meta["columns"]


def declared_code_map(sources_dir: Path = SOURCES_DIR) -> list[dict[str, str]]:
    """Every source's coded values mapped to the dictionary's canonical code, through the
    code-list version the source declares (include/sources/*.yaml, `code_lists:`).

    A declaration names a source mapping of a list (`sex: civil_registration_sex`: the
    source's own values), or a list by id or version (`ethnicity: ethnicity_1979`: that
    list's codes, carried over its `crosswalk_to` list to the canonical numbering).
    Raises DictionaryError when a declaration names nothing the dictionary has.
    """
    lists = code_lists()
    rows: list[dict[str, str]] = []
    for source, family, declared in registry_declarations(sources_dir):
        family_lists = [meta for meta in lists.values() if meta["code_list"] == family]
        if family_lists and not any(_mappable(meta) for meta in family_lists):
            continue
        pairs: list[tuple[str, str]] | None = None
        for meta in family_lists:
            if declared in meta.get("source_mappings", []):
                pairs = [
                    (row["source_value"], row["code"])
                    for row in source_mappings(CODE_LISTS_DIR / meta["file"])
                    if row["mapping"] == declared
                ]
            elif declared in (meta["id"], meta["version"]):
                pairs = [(row["code"], row["code"]) for row in meta["rows"]]
            else:
                continue
            if "crosswalk_to" in meta:
                to_canonical = crosswalk(meta["id"], meta["crosswalk_to"])
                pairs = [(value, to_canonical[code]) for value, code in pairs]
            break
        if pairs is None:
            raise DictionaryError(
                f"include/sources/{source}.yaml declares code_lists.{family}: {declared!r}, "
                f"which the dictionary lacks (no code list, version or source mapping of that "
                f"name in family {family!r})"
            )
        rows.extend(
            {
                "source": source,
                "code_list": family,
                "declared": declared,
                "source_value": value,
                "code": code,
            }
            for value, code in pairs
        )
    return rows


GOLDEN_ATTRIBUTE_COLUMNS = ("attribute", "authoritative_source", "survivorship", "personal_data")


def golden_attribute_rows() -> list[dict[str, str]]:
    """The golden record's attributes (elements with `survivorship`), in dictionary order: the
    authority and the rules (space-separated, in order) the versions model applies."""
    return [
        {
            "attribute": e["name"],
            "authoritative_source": e["authoritative_source"],
            "survivorship": " ".join(e["survivorship"]),
            "personal_data": e["personal_data"],
        }
        for e in golden_attributes()
    ]


PROVINCE_COLUMNS = ("code_system", "province_code", "province_name")


def provinces() -> list[dict[str, str]]:
    """Provinces of both administrative-unit versions (legacy: 63, 2025: 34), by version and code.

    The personal ID's first three digits are '0' + a province code: the legacy code where the
    birth was registered (docs/domain.md#personal-identification-number), so a code of either
    version is known.
    """
    rows = []
    for list_id in ("admin_units_legacy", "admin_units_2025"):
        meta = code_list(list_id)
        names = {row["province_code"]: row["province_name"] for row in meta["rows"]}
        rows.extend(
            {"code_system": meta["version"], "province_code": code, "province_name": names[code]}
            for code in sorted(names)
        )
    return rows


# Code-list seeds: seed name -> (code list id, columns). Kept small: only these columns.
CODE_LIST_SEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "relationship_to_head": ("relationship_to_head", ("code", "label_vi", "label")),
    "residence_change_type": ("residence_change_type", ("code", "label_vi", "label")),
    "ethnicity_2008": ("ethnicity_2008", ("code", "label_vi")),
    "mobile_prefix_2018": ("mobile_prefix_2018", ("code", "new_prefix", "carrier")),
    "admin_units_2025_communes": (
        "admin_units_2025",
        ("province_code", "commune_code", "commune_name"),
    ),
    "admin_units_legacy_to_2025": (
        "admin_units_legacy_to_2025",
        ("legacy_ward_code", "new_commune_code", "ambiguous"),
    ),
}
SEED_COLUMN_DESCRIPTIONS = {
    "code": "The code as sources write it (text: '01' stays '01').",
    "label_vi": "Vietnamese label.",
    "label": "English label.",
    "province_code": "2025 province code (2 digits).",
    "commune_code": "2025 commune code (5 digits).",
    "commune_name": "2025 commune name.",
    "legacy_ward_code": "Legacy (pre-2025-07-01) ward code (5 digits).",
    "new_commune_code": "A 2025 commune the legacy ward became (part of).",
    "ambiguous": "'true' when the legacy ward was split between several 2025 communes.",
    "new_prefix": "The 10-digit-era mobile prefix that replaced the old one.",
    "carrier": "The mobile network.",
}


def _code_list_seed_rows(list_id: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    meta = code_list(list_id)
    rows = [{column: row[column] for column in columns} for row in meta["rows"]]
    if meta.get("data"):  # big generated lists: sorted by the columns, for stable bytes
        rows.sort(key=lambda row: tuple(row[c] for c in columns))
    return rows


def code_list_seeds_yaml() -> bytes:
    """The dbt properties file of the code-list seeds, from the dictionary's metadata."""
    seeds = []
    for seed, (list_id, columns) in CODE_LIST_SEEDS.items():
        meta = code_list(list_id)
        unique = [column for column in columns if column in ("code", "commune_code")]
        seed_columns = []
        for column in columns:
            entry: dict[str, Any] = {
                "name": column,
                "description": SEED_COLUMN_DESCRIPTIONS[column],
            }
            entry["data_tests"] = ["unique", "not_null"] if column in unique else ["not_null"]
            seed_columns.append(entry)
        seed_entry: dict[str, Any] = {
            "name": seed,
            "description": (
                f"{meta['description']} Code list {meta['id']} version {meta['version']} "
                f"({meta['source']}; status {meta['status']})."
            ),
            "config": {"column_types": {column: "text" for column in columns}},
        }
        if seed == "admin_units_legacy_to_2025":
            seed_entry["data_tests"] = [
                {
                    "unique_combination_of_columns": {
                        "arguments": {"combination_of_columns": list(columns[:2])}
                    }
                }
            ]
        seed_entry["columns"] = seed_columns
        seeds.append(seed_entry)
    header = (
        "# Generated from include/dictionary/code_lists by `ndc dictionary seeds`: edit the\n"
        "# dictionary, regenerate, commit both (tests/unit/test_dictionary.py fails on drift).\n"
        "# Codes are text: '01' must stay '01'.\n"
    )
    body = yaml.safe_dump(
        {"version": 2, "seeds": seeds}, allow_unicode=True, sort_keys=False, width=100
    )
    return (header + body).encode("utf-8")


def seed_contents() -> dict[str, bytes]:
    """Every generated seed file name -> its bytes."""
    outputs = {
        "reason_codes.csv": csv_bytes(REASON_CODE_COLUMNS, reason_codes()),
        "sex_code_map.csv": csv_bytes(SEX_MAPPING_COLUMNS, sex_mappings()),
        "source_code_map.csv": csv_bytes(SOURCE_CODE_MAP_COLUMNS, declared_code_map()),
        "admin_units_provinces.csv": csv_bytes(PROVINCE_COLUMNS, provinces()),
        "golden_attributes.csv": csv_bytes(GOLDEN_ATTRIBUTE_COLUMNS, golden_attribute_rows()),
        "quality_measures.csv": csv_bytes(MEASURE_COLUMNS, quality_measure_rows()),
        "data_element_masking.csv": csv_bytes(MASKING_COLUMNS, masking_rows()),
    }
    for seed, (list_id, columns) in CODE_LIST_SEEDS.items():
        outputs[f"{seed}.csv"] = csv_bytes(columns, _code_list_seed_rows(list_id, columns))
    outputs[CODE_LIST_SEEDS_YAML] = code_list_seeds_yaml()
    return outputs


def write_seeds(seeds_dir: Path = SEEDS_DIR) -> list[Path]:
    """Write the dbt seeds generated from the dictionary into seeds_dir; return their paths."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, content in seed_contents().items():
        path = seeds_dir / name
        path.write_bytes(content)
        written.append(path)
    return written
