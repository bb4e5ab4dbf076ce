"""The shared data dictionary as plain values, read from `include/dictionary/` (the single
source of truth) and validated: data elements, code lists, reason codes.

- `elements/<group>.yaml`: data elements (name, QCVN 109 name, type, definition, authoritative
  source, personal-data class, validation rule);
- `code_lists/*.yaml`: versioned code lists, small ones inline (`codes:`), big ones as a CSV
  named by `data:` and generated from package data (`ndc dictionary build`);
- `reason_codes.yaml`, `defect_classes.yaml`.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from ndc.settings import DICTIONARY_DIR, SOURCES_DIR

ELEMENTS_DIR = DICTIONARY_DIR / "elements"
CODE_LISTS_DIR = DICTIONARY_DIR / "code_lists"
TEMPLATES_DIR = DICTIONARY_DIR / "templates"
REASON_CODES_FILE = DICTIONARY_DIR / "reason_codes.yaml"
SEX_CODE_LIST_FILE = CODE_LISTS_DIR / "sex.yaml"

REASON_CODE_COLUMNS = ("code", "field_kind", "description")

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
    "survivorship",
)
ELEMENT_TYPES = ("text", "identifier", "code", "date", "timestamp", "integer", "boolean")
PERSONAL_DATA_CLASSES = ("none", "basic", "sensitive")
STATUSES = ("checked", "reported", "open")
# Survivorship rules of a golden-record attribute (`survivorship:` on an element), applied in
# the order listed, each breaking the ties of the one before (dbt_project/README.md, "The
# golden record"): the authoritative source's records first, then the record that took effect
# last, then the most complete value (not null, then the longest).
SURVIVORSHIP_RULES = ("authoritative", "most_recent", "most_complete")
# Authorities an element may name besides a registry source: the population database (master
# of identity) and `derived` (computed by the warehouse from other elements).
EXTRA_AUTHORITIES = ("population_db", "derived")


class DictionaryError(ValueError):
    """The dictionary file is malformed: names the file and the offending entry."""


def load_document(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping."""
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
    entries = load_document(path).get("reason_codes")
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


def quarantine_reason_codes(path: Path = REASON_CODES_FILE) -> set[str]:
    """The reason codes a quarantined row may carry: every code but those marked
    ``quarantine: false`` (a reason a record carries elsewhere, e.g. into linkage)."""
    entries = load_document(path)["reason_codes"]
    return {e["code"] for e in entries if e.get("quarantine", True) is not False}


def source_mappings(path: Path) -> list[dict[str, str]]:
    """A code list's `source_mappings` as rows (mapping, source_value, code), in file order."""
    document = load_document(path)
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


# --- code lists -------------------------------------------------------------------------------


def code_lists(directory: Path = CODE_LISTS_DIR) -> dict[str, dict[str, Any]]:
    """Every code list by id (file stem): metadata, `columns` and `rows` (all values text).

    Metadata: code_list (the family a source's registry key names), id, version, source,
    status, description, and optionally data (CSV file), key, source_mappings, transitions.
    """
    lists: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        document = load_document(path)
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
        source = load_document(path)
        for family, value in (source.get("code_lists") or {}).items():
            found.append((str(source.get("name", path.stem)), str(family), str(value)))
    return found


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
        document = load_document(path)
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
            element["survivorship"] = _survivorship(entry.get("survivorship"), path, name)
            description = entry.get("dbt_description")
            element["dbt_description"] = (
                element["definition"] if description is None else _text(description, path, name)
            )
            result.append(element)
    return result


def _survivorship(value: Any, path: Path, name: str) -> list[str] | None:
    """An element's survivorship rules (a golden-record attribute), or None (not one)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise DictionaryError(f"{path}: {name}: survivorship must be a non-empty list of rules")
    rules = [_text(rule, path, f"{name}.survivorship") for rule in value]
    unknown = [rule for rule in rules if rule not in SURVIVORSHIP_RULES]
    if unknown or len(set(rules)) != len(rules):
        raise DictionaryError(
            f"{path}: {name}: survivorship {rules} must name each of {SURVIVORSHIP_RULES} "
            "at most once"
        )
    return rules


def golden_attributes(all_elements: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The golden record's attributes beyond identity: the elements with a `survivorship`."""
    return [e for e in (all_elements or elements()) if e["survivorship"]]


def dbt_data_type(element: dict[str, Any]) -> str:
    """The PostgreSQL type a model contract uses for the element."""
    if element["type"] in ("text", "identifier", "code"):
        return f"varchar({element['length']})" if element["length"] else "text"
    return {"timestamp": "timestamp", "date": "date", "integer": "integer", "boolean": "boolean"}[
        element["type"]
    ]
