"""The dbt project checked against the dictionary: the docs and data types of the marts'
columns, and the accepted_values tests of coded columns. Each check returns one line per
drift (empty: none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ndc.dictionary.model import codes, dbt_data_type, elements, load_document, reason_codes
from ndc.settings import DBT_PROJECT_DIR

MODELS_DIR = DBT_PROJECT_DIR / "models"


def _dbt_model_columns(models_dir: Path) -> dict[str, list[dict[str, Any]]]:
    columns: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(models_dir.rglob("_*__models.yml")):
        for model in load_document(path).get("models") or []:
            columns[model["name"]] = list(model.get("columns") or [])
    return columns


def check_dbt_docs(
    models: tuple[str, ...] = ("citizens",),
    models_dir: Path = MODELS_DIR,
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
        document = load_document(path)
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


def check_accepted_values(models_dir: Path = MODELS_DIR) -> list[str]:
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
