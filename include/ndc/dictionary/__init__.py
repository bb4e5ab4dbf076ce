"""The shared data dictionary as plain values, the dbt seeds generated from it, and its export.

`include/dictionary/` is the single source of truth:
- `elements/<group>.yaml`: data elements (name, QCVN 109 name, type, definition, authoritative
  source, personal-data class, validation rule);
- `code_lists/*.yaml`: versioned code lists, small ones inline (`codes:`), big ones as a CSV
  named by `data:` and generated from package data (`python -m ndc.dictionary build`);
- `reason_codes.yaml`, `defect_classes.yaml`.

`dbt_project/seeds/*.csv` and `dbt_project/seeds/_code_lists__seeds.yml` are generated from it
(`python -m ndc.dictionary`) and committed so that `dbt build` needs no Python step; the tests
in `tests/unit/test_dictionary*.py` fail when the committed files or the dbt docs drift.
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from ndc.dictionary.generated import build_admin_units, build_nationality, csv_bytes

REPO_ROOT = Path(__file__).resolve().parents[3]
DICTIONARY_DIR = REPO_ROOT / "include" / "dictionary"
ELEMENTS_DIR = DICTIONARY_DIR / "elements"
CODE_LISTS_DIR = DICTIONARY_DIR / "code_lists"
TEMPLATES_DIR = DICTIONARY_DIR / "templates"
REASON_CODES_FILE = DICTIONARY_DIR / "reason_codes.yaml"
SEX_CODE_LIST_FILE = CODE_LISTS_DIR / "sex.yaml"
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"
SOURCES_DIR = REPO_ROOT / "include" / "sources"
CODE_LIST_SEEDS_YAML = "_code_lists__seeds.yml"

REASON_CODE_COLUMNS = ("code", "field_kind", "description")
SEX_MAPPING_COLUMNS = ("mapping", "source_value", "sex_code")

ELEMENT_GROUPS = (
    "citizen",
    "address",
    "household",
    "civil_event",
    "insurance_participation",
    "student_enrolment",
    "enterprise",
)
ELEMENT_FIELDS = (
    "name",
    "qcvn109_name",
    "type",
    "length",
    "definition",
    "definition_vi",
    "authoritative_source",
    "personal_data",
    "validation",
    "code_list",
)
ELEMENT_TYPES = ("text", "identifier", "code", "date", "timestamp", "integer", "boolean")
PERSONAL_DATA_CLASSES = ("none", "basic", "sensitive")
STATUSES = ("checked", "reported", "open")
# Authorities an element may name besides a registry source: the population database (master
# of identity) and `derived` (computed by the warehouse from other elements).
EXTRA_AUTHORITIES = ("population_db", "derived")


class DictionaryError(ValueError):
    """The dictionary file is malformed: names the file and the offending entry."""


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise DictionaryError(f"{path}: expected a mapping at the top level")
    return document


def _text(value: Any, path: Path, where: str) -> str:
    # Quoting matters in YAML: an unquoted 01 or yes would silently become 1 or True.
    if not isinstance(value, str) or not value.strip():
        raise DictionaryError(f"{path}: {where} must be a non-empty quoted string, got {value!r}")
    # Sources are conformed to NFC before lookup, so the dictionary must be NFC too.
    return unicodedata.normalize("NFC", value.strip())


def reason_codes(path: Path = REASON_CODES_FILE) -> list[dict[str, str]]:
    """Reason codes for quarantined rows, in dictionary order."""
    entries = _load(path).get("reason_codes")
    if not isinstance(entries, list) or not entries:
        raise DictionaryError(f"{path}: `reason_codes` must be a non-empty list")
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise DictionaryError(f"{path}: reason_codes[{index}] must be a mapping")
        row = {
            column: _text(entry.get(column), path, f"reason_codes[{index}].{column}")
            for column in REASON_CODE_COLUMNS
        }
        if row["code"] in seen:
            raise DictionaryError(f"{path}: reason code {row['code']!r} is listed twice")
        seen.add(row["code"])
        rows.append(row)
    return rows


def source_mappings(path: Path) -> list[dict[str, str]]:
    """A code list's `source_mappings` as rows (mapping, source_value, code), in file order."""
    document = _load(path)
    codes = {
        _text(entry.get("code"), path, f"codes[{index}].code")
        for index, entry in enumerate(document.get("codes") or [])
    }
    mappings = document.get("source_mappings")
    if not isinstance(mappings, dict) or not mappings:
        raise DictionaryError(f"{path}: `source_mappings` must be a non-empty mapping")
    rows: list[dict[str, str]] = []
    for mapping, values in mappings.items():
        mapping_name = _text(mapping, path, "a source_mappings key")
        if not isinstance(values, dict) or not values:
            raise DictionaryError(f"{path}: source_mappings.{mapping_name} must be a mapping")
        for source_value, code in values.items():
            where = f"source_mappings.{mapping_name}[{source_value!r}]"
            row = {
                "mapping": mapping_name,
                "source_value": _text(source_value, path, f"{where} key"),
                "code": _text(code, path, where),
            }
            if row["code"] not in codes:
                raise DictionaryError(
                    f"{path}: {where} maps to {row['code']!r}, not in codes {sorted(codes)}"
                )
            rows.append(row)
    return rows


def sex_mappings(path: Path = SEX_CODE_LIST_FILE) -> list[dict[str, str]]:
    """Each source's native sex values mapped to the QCVN 109 code, in dictionary order."""
    return [
        {"mapping": r["mapping"], "source_value": r["source_value"], "sex_code": r["code"]}
        for r in source_mappings(path)
    ]


# --- code lists -------------------------------------------------------------------------------


def code_lists(directory: Path = CODE_LISTS_DIR) -> dict[str, dict[str, Any]]:
    """Every code list by id (file stem): metadata, `columns` and `rows` (all values text).

    Metadata: code_list (the family a source's registry key names), id, version, source,
    status, description, and optionally data (CSV file), key, source_mappings, transitions.
    """
    lists: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        document = _load(path)
        meta: dict[str, Any] = {"id": path.stem, "file": path.name}
        for field in ("code_list", "version", "source", "status", "description"):
            meta[field] = _text(document.get(field), path, field)
        if meta["status"] not in STATUSES:
            raise DictionaryError(f"{path}: status must be one of {STATUSES}")
        if document.get("id", path.stem) != path.stem:
            raise DictionaryError(f"{path}: id {document['id']!r} differs from the file name")
        if "data" in document:
            data_path = directory / _text(document["data"], path, "data")
            with data_path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                columns = list(reader.fieldnames or [])
            meta["data"] = data_path.name
        else:
            entries = document.get("codes")
            if not isinstance(entries, list) or not entries:
                raise DictionaryError(f"{path}: `codes` must be a non-empty list (or `data`)")
            columns = []
            rows = []
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    raise DictionaryError(f"{path}: codes[{index}] must be a mapping")
                row = {
                    key: _text(value, path, f"codes[{index}].{key}") for key, value in entry.items()
                }
                for key in row:
                    if key not in columns:
                        columns.append(key)
                rows.append(row)
            codes = [row["code"] for row in rows]
            if len(set(codes)) != len(codes):
                raise DictionaryError(f"{path}: a code is listed twice")
            rows = [{column: row.get(column, "") for column in columns} for row in rows]
        if "source_mappings" in document:
            meta["source_mappings"] = sorted({r["mapping"] for r in source_mappings(path)})
        meta["transitions"] = dict(document.get("transitions") or {})
        if "crosswalk_to" in document:
            meta["crosswalk_to"] = _text(document["crosswalk_to"], path, "crosswalk_to")
        meta["columns"] = columns
        meta["rows"] = rows
        lists[path.stem] = meta
    return lists


def code_list(list_id: str) -> dict[str, Any]:
    """One code list by id (e.g. `ethnicity_2008`, `admin_units_2025`, `sex`)."""
    lists = code_lists()
    if list_id not in lists:
        raise DictionaryError(f"no code list {list_id!r}; known: {sorted(lists)}")
    return lists[list_id]


def codes(list_id: str) -> list[str]:
    """The codes of a small code list, in dictionary order."""
    return [row["code"] for row in code_list(list_id)["rows"]]


def crosswalk(from_id: str, to_id: str) -> dict[str, str]:
    """Each code of list `from_id` -> the code of list `to_id` naming the same thing (label_vi)."""
    lists = code_lists()
    by_name = {row["label_vi"]: row["code"] for row in lists[to_id]["rows"]}
    mapped = {}
    for row in lists[from_id]["rows"]:
        if row["label_vi"] not in by_name:
            raise DictionaryError(f"{from_id} {row['code']}: {row['label_vi']!r} not in {to_id}")
        mapped[row["code"]] = by_name[row["label_vi"]]
    return mapped


def ethnicity_crosswalk() -> list[dict[str, str]]:
    """Ethnic groups in both numberings, joined on the group's name (label_vi)."""
    labels = {row["code"]: row["label_vi"] for row in code_list("ethnicity_1979")["rows"]}
    return [
        {"code_1979": code_1979, "code_2008": code_2008, "label_vi": labels[code_1979]}
        for code_1979, code_2008 in crosswalk("ethnicity_1979", "ethnicity_2008").items()
    ]


def resolve_declaration(family: str, value: str) -> str | None:
    """What a registry's `code_lists: {family: value}` names, or None when nothing.

    `value` may be a code list id or version of that family, one of its source mappings, or
    one of its transitions (e.g. `legacy-until-2025-07-01`). Returns a short description.
    """
    for meta in code_lists().values():
        if meta["code_list"] != family:
            continue
        if value in (meta["id"], meta["version"]):
            return f"code list {meta['id']} (version {meta['version']})"
        if value in meta.get("source_mappings", []):
            return f"source mapping {value} of code list {meta['id']}"
        if value in meta["transitions"]:
            return f"transition {value} of {family}"
    return None


def registry_declarations(sources_dir: Path = SOURCES_DIR) -> list[tuple[str, str, str]]:
    """(source, family, value) for every `code_lists:` entry in include/sources/*.yaml."""
    found = []
    for path in sorted(sources_dir.glob("*.yaml")):
        source = _load(path)
        for family, value in (source.get("code_lists") or {}).items():
            found.append((str(source.get("name", path.stem)), str(family), str(value)))
    return found


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


# --- elements ---------------------------------------------------------------------------------


def elements(directory: Path = ELEMENTS_DIR) -> list[dict[str, Any]]:
    """Every data element, group by group in ELEMENT_GROUPS order, with its `group`."""
    all_lists = code_lists().values()
    known_lists = {meta["id"] for meta in all_lists} | {meta["code_list"] for meta in all_lists}
    sources = {path.stem for path in SOURCES_DIR.glob("*.yaml")}
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for group in ELEMENT_GROUPS:
        path = directory / f"{group}.yaml"
        document = _load(path)
        entries = document.get("elements")
        if not isinstance(entries, list) or not entries:
            raise DictionaryError(f"{path}: `elements` must be a non-empty list")
        for index, entry in enumerate(entries):
            where = f"elements[{index}]"
            if not isinstance(entry, dict):
                raise DictionaryError(f"{path}: {where} must be a mapping")
            unknown = set(entry) - set(ELEMENT_FIELDS) - {"dbt_description"}
            if unknown:
                raise DictionaryError(f"{path}: {where} has unknown fields {sorted(unknown)}")
            element: dict[str, Any] = {"group": group}
            for field in ("name", "type", "definition", "definition_vi", "validation"):
                element[field] = _text(entry.get(field), path, f"{where}.{field}")
            for field in ("authoritative_source", "personal_data"):
                element[field] = _text(entry.get(field), path, f"{where}.{field}")
            name = element["name"]
            if name in seen:
                raise DictionaryError(f"{path}: element {name!r} is defined twice")
            seen.add(name)
            if "qcvn109_name" not in entry:
                raise DictionaryError(f"{path}: {name}: qcvn109_name missing (null when none)")
            qcvn = entry["qcvn109_name"]
            element["qcvn109_name"] = None if qcvn is None else _text(qcvn, path, name)
            if element["type"] not in ELEMENT_TYPES:
                raise DictionaryError(f"{path}: {name}: type must be one of {ELEMENT_TYPES}")
            if element["personal_data"] not in PERSONAL_DATA_CLASSES:
                raise DictionaryError(
                    f"{path}: {name}: personal_data not in {PERSONAL_DATA_CLASSES}"
                )
            if element["authoritative_source"] not in sources | set(EXTRA_AUTHORITIES):
                raise DictionaryError(
                    f"{path}: {name}: authoritative_source {element['authoritative_source']!r} "
                    f"is neither a registry source nor one of {EXTRA_AUTHORITIES}"
                )
            length = entry.get("length")
            if length is not None and (not isinstance(length, int) or length < 1):
                raise DictionaryError(f"{path}: {name}: length must be a positive integer")
            element["length"] = length
            list_name = entry.get("code_list")
            if element["type"] == "code" and list_name is None:
                raise DictionaryError(f"{path}: {name}: a code element needs a code_list")
            if list_name is not None and _text(list_name, path, name) not in known_lists:
                raise DictionaryError(f"{path}: {name}: code_list {list_name!r} is not defined")
            element["code_list"] = list_name
            description = entry.get("dbt_description")
            element["dbt_description"] = (
                element["definition"] if description is None else _text(description, path, name)
            )
            result.append(element)
    return result


def dbt_data_type(element: dict[str, Any]) -> str:
    """The PostgreSQL type a model contract uses for the element."""
    if element["type"] in ("text", "identifier", "code"):
        return f"varchar({element['length']})" if element["length"] else "text"
    return {"timestamp": "timestamp", "date": "date", "integer": "integer", "boolean": "boolean"}[
        element["type"]
    ]


def _dbt_model_columns(models_dir: Path) -> dict[str, list[dict[str, Any]]]:
    columns: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(models_dir.rglob("_*__models.yml")):
        for model in _load(path).get("models") or []:
            columns[model["name"]] = list(model.get("columns") or [])
    return columns


def check_dbt_docs(
    models: tuple[str, ...] = ("citizens",),
    models_dir: Path = REPO_ROOT / "dbt_project" / "models",
) -> list[str]:
    """Columns of the given dbt models that drift from the dictionary, one line each.

    A column must be a dictionary element, its description must be the element's
    (`dbt_description`, else `definition`) and a declared data_type must match the element's.
    Columns named with a leading underscore (`_row_hash`, `_changed_at`) are the pipeline's
    bookkeeping, not data the dictionary defines, and are left out.
    """
    by_name = {element["name"]: element for element in elements()}
    model_columns = _dbt_model_columns(models_dir)
    problems = []
    for model in models:
        if model not in model_columns:
            problems.append(f"{model}: no such model in {models_dir}")
            continue
        for column in model_columns[model]:
            name = column["name"]
            if name.startswith("_"):
                continue
            element = by_name.get(name)
            if element is None:
                problems.append(f"{model}.{name}: not a dictionary element")
                continue
            description = " ".join(str(column.get("description") or "").split())
            if description != element["dbt_description"]:
                problems.append(
                    f"{model}.{name}: description {description!r} differs from the "
                    f"dictionary's {element['dbt_description']!r}"
                )
            declared = column.get("data_type")
            if declared is not None and declared != dbt_data_type(element):
                problems.append(
                    f"{model}.{name}: data_type {declared} differs from the dictionary's "
                    f"{dbt_data_type(element)}"
                )
    return problems


def _accepted_values_tests(models_dir: Path):
    """(yml file, model, column, values) of every accepted_values test in the dbt project."""
    for path in sorted(models_dir.rglob("*.yml")):
        document = _load(path)
        for kind in ("models", "sources"):
            for node in document.get(kind) or []:
                tables = node.get("tables") if kind == "sources" else [node]
                for table in tables or []:
                    for column in table.get("columns") or []:
                        for test in column.get("data_tests") or column.get("tests") or []:
                            if isinstance(test, dict) and "accepted_values" in test:
                                spec = test["accepted_values"] or {}
                                values = (spec.get("arguments") or spec).get("values") or []
                                yield path, table["name"], column["name"], [str(v) for v in values]


def check_accepted_values(models_dir: Path = REPO_ROOT / "dbt_project" / "models") -> list[str]:
    """accepted_values tests that drift from the dictionary, one line each.

    A column that is a coded dictionary element must accept exactly its code list's codes; a
    quarantine reason column may only accept reason codes of reason_codes.yaml.
    """
    coded = {e["name"]: e["code_list"] for e in elements() if e["code_list"]}
    reasons = {entry["code"] for entry in reason_codes()}
    problems = []
    for path, model, column, values in _accepted_values_tests(models_dir):
        where = f"{path.relative_to(models_dir)}: {model}.{column}"
        if column in coded:
            expected = codes(coded[column])
            if sorted(values) != sorted(expected):
                problems.append(
                    f"{where}: accepted_values {sorted(values)} differ from code list "
                    f"{coded[column]!r} {sorted(expected)}"
                )
        elif column in ("reason_code", "quarantine_reason_code"):
            unknown = sorted(set(values) - reasons)
            if unknown:
                problems.append(f"{where}: accepted_values {unknown} are not reason codes")
    return problems


# --- seeds ------------------------------------------------------------------------------------

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
        "# Generated from include/dictionary/code_lists by `python -m ndc.dictionary`: edit the\n"
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


def export(out_dir: Path) -> list[Path]:
    """Write the dictionary for agencies: index.html, elements.csv, one CSV per code list."""
    from ndc.dictionary.publish import export as _export

    return _export(out_dir)


def build(code_lists_dir: Path = CODE_LISTS_DIR) -> list[Path]:
    """Regenerate the big code lists (CSV) from package data."""
    return build_admin_units(code_lists_dir) + build_nationality(code_lists_dir)


USAGE = """usage: python -m ndc.dictionary [SEEDS_DIR]      regenerate the dbt seeds
       python -m ndc.dictionary build               regenerate the big code lists (CSV)
       python -m ndc.dictionary export OUT_DIR      write the dictionary as HTML + CSV
       python -m ndc.dictionary check               report dbt docs that drift"""


def main(argv: list[str] | None = None) -> int:
    """`python -m ndc.dictionary [SEEDS_DIR | build | export OUT_DIR | check]`."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if args and args[0] == "build":
        paths = build()
    elif args and args[0] == "export":
        if len(args) != 2:
            print(USAGE, file=sys.stderr)
            return 2
        paths = export(Path(args[1]))
    elif args and args[0] == "check":
        problems = check_dbt_docs()
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    else:
        paths = write_seeds(Path(args[0]) if args else SEEDS_DIR)
    for path in paths:
        print(path)
    return 0


__all__ = [
    "DictionaryError",
    "build",
    "build_admin_units",
    "build_nationality",
    "check_dbt_docs",
    "code_list",
    "code_lists",
    "codes",
    "crosswalk",
    "declared_code_map",
    "elements",
    "ethnicity_crosswalk",
    "export",
    "main",
    "provinces",
    "reason_codes",
    "resolve_declaration",
    "sex_mappings",
    "write_seeds",
]
