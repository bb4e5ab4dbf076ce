"""The quality measures of the six-property scorecard (`include/dictionary/quality_measures.yaml`),
read and checked: what `marts.quality_scorecard` computes, and the targets it is held to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ndc.dictionary.model import DictionaryError, _text, load_document
from ndc.settings import DICTIONARY_DIR

QUALITY_MEASURES_FILE = DICTIONARY_DIR / "quality_measures.yaml"
# The dispatch's six properties, in its order ("đúng, đủ, sạch, sống, thống nhất, dùng chung").
PROPERTIES = ("correct", "sufficient", "clean", "live", "unified", "shared")
UNITS = ("share", "days", "count")
DIRECTIONS = ("at_least", "at_most")
APPLIES_TO = ("all_entities", "person_entities", "sharing_products")
MEASURE_FIELDS = (
    "name",
    "property",
    "definition",
    "definition_vi",
    "formula",
    "unit",
    "target",
    "direction",
    "applies_to",
    "measured",
    "not_measured_reason",
)
# The seed's columns (dbt_project/seeds/quality_measures.csv).
MEASURE_COLUMNS = (
    "measure",
    "property",
    "unit",
    "target",
    "direction",
    "applies_to",
    "measured",
    "definition",
    "definition_vi",
    "formula",
    "not_measured_reason",
)


def _choice(value: str, choices: tuple[str, ...], path: Path, where: str) -> str:
    if value not in choices:
        raise DictionaryError(f"{path}: {where} is {value!r}, not one of {choices}")
    return value


def quality_measures(path: Path = QUALITY_MEASURES_FILE) -> list[dict[str, Any]]:
    """Every quality measure, in file order; every property has at least one measure."""
    entries = load_document(path).get("quality_measures")
    if not isinstance(entries, list) or not entries:
        raise DictionaryError(f"{path}: `quality_measures` must be a non-empty list")
    measures: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        where = f"quality_measures[{index}]"
        if not isinstance(entry, dict):
            raise DictionaryError(f"{path}: {where} must be a mapping")
        unknown = set(entry) - set(MEASURE_FIELDS)
        if unknown:
            raise DictionaryError(f"{path}: {where} has unknown fields {sorted(unknown)}")
        m: dict[str, Any] = {
            field: _text(entry.get(field), path, f"{where}.{field}")
            for field in ("name", "definition", "definition_vi", "formula")
        }
        name = m["name"]
        for field, choices in (
            ("property", PROPERTIES),
            ("unit", UNITS),
            ("direction", DIRECTIONS),
            ("applies_to", APPLIES_TO),
        ):
            m[field] = _choice(entry.get(field), choices, path, f"{name}.{field}")
        target = entry.get("target")
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise DictionaryError(f"{path}: {name}.target must be a number, got {target!r}")
        if m["unit"] == "share" and not 0 <= target <= 1:
            raise DictionaryError(f"{path}: {name}.target {target} is a share: 0..1")
        m["target"] = target
        measured = entry.get("measured")
        if not isinstance(measured, bool):
            raise DictionaryError(f"{path}: {name}.measured must be true or false")
        m["measured"] = measured
        reason = entry.get("not_measured_reason")
        if measured == (reason is not None):
            raise DictionaryError(
                f"{path}: {name}: not_measured_reason is required when measured is false, "
                "and only then"
            )
        m["not_measured_reason"] = None if reason is None else _text(reason, path, name)
        if any(other["name"] == name for other in measures):
            raise DictionaryError(f"{path}: measure {name!r} is defined twice")
        measures.append(m)
    missing = [p for p in PROPERTIES if not any(m["property"] == p for m in measures)]
    if missing:
        raise DictionaryError(f"{path}: no measure for the properties {missing}")
    return measures


def quality_measure_rows() -> list[dict[str, str]]:
    """The measures as the seed `quality_measures` holds them (text columns)."""
    return [
        {
            "measure": m["name"],
            "property": m["property"],
            "unit": m["unit"],
            "target": str(m["target"]),
            "direction": m["direction"],
            "applies_to": m["applies_to"],
            "measured": "true" if m["measured"] else "false",
            "definition": m["definition"],
            "definition_vi": m["definition_vi"],
            "formula": m["formula"],
            "not_measured_reason": m["not_measured_reason"] or "",
        }
        for m in quality_measures()
    ]
