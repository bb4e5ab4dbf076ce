"""How the analyst marts mask each data element: derived from its personal-data class (and,
for a basic element, its type), so the dictionary stays the one source of truth.

| class     | type                          | analyst sees                                  |
|-----------|-------------------------------|-----------------------------------------------|
| none      | any                           | the value (`keep`)                            |
| sensitive | any                           | nothing: the column is removed (`drop`)       |
| basic     | identifier                    | a keyed pseudonym (`pseudonym`, HMAC-SHA256)  |
| basic     | date, timestamp               | the year only (`year`)                        |
| basic     | text                          | nothing: names, addresses, phones (`drop`)    |
| basic     | code, integer, boolean        | the value (`keep`): sex, commune, status      |

A column that is no dictionary element is removed as well: what the dictionary does not
classify is not published (dbt_project/macros/analyst.sql).
"""

from __future__ import annotations

from typing import Any

MASKINGS = ("keep", "pseudonym", "year", "drop")
MASKING_COLUMNS = ("element", "type", "personal_data", "masking")


def masking(element: dict[str, Any]) -> str:
    """The masking of one element (a dict of ndc.dictionary.model.elements())."""
    cls, kind = element["personal_data"], element["type"]
    if cls == "none":
        return "keep"
    if cls == "sensitive":
        return "drop"
    if cls != "basic":
        raise ValueError(f"element {element['name']}: personal_data {cls!r} has no masking rule")
    if kind == "identifier":
        return "pseudonym"
    if kind in ("date", "timestamp"):
        return "year"
    if kind == "text":
        return "drop"
    if kind in ("code", "integer", "boolean"):
        return "keep"
    raise ValueError(f"element {element['name']}: type {kind!r} has no masking rule")


def masking_rows(all_elements: list[dict[str, Any]] | None = None) -> list[dict[str, str]]:
    """One row per element, in dictionary order: the seed `data_element_masking`."""
    from ndc.dictionary.model import elements

    return [
        {
            "element": e["name"],
            "type": e["type"],
            "personal_data": e["personal_data"],
            "masking": masking(e),
        }
        for e in (all_elements if all_elements is not None else elements())
    ]
