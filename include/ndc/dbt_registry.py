"""The source and sharing registries as dbt sees them: `dbt_project/macros/registry.sql`.

dbt resolves a model's `ref()`s when it parses the project, before any database or graph is
available, so the fan-in models (quarantined and merged rows, the discrepancies) cannot find
the staging models by themselves: they read this generated macro, which lists every entity of
`include/sources/*.yaml` with its staging model and what the warehouse does with it. Derived,
not kept: `make install` writes it before dbt parses (so does every dbt parse ndc runs), and
git ignores it; the registry file is what a reviewer reads.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ndc.registry import ADMIN_CODE_SYSTEMS, ADMIN_UNITS, ColumnKind, Source, load_registry
from ndc.settings import DBT_PROJECT_DIR, DICTIONARY_DIR
from ndc.sharing.registry import DeliveryKind, Product, load_sharing_registry, period_unit

MACRO = DBT_PROJECT_DIR / "macros" / "registry.sql"
# Where a transition between the two administrative code systems is defined.
TRANSITIONS = DICTIONARY_DIR / "code_lists" / "admin_units_legacy_to_2025.yaml"

HEADER = """\
{#- Generated from the source registry (include/sources/*.yaml) by `python -m ndc.dbt_registry`
    (include/ndc/dbt_registry.py; `make install` runs it); never edit by hand. Every source
    entity: its staging model, source and entity as the registry names them, its columns,
    key and column contract (conform: macros/contract.sql; with the code system of its
    administrative units and its standardised legacy address), whether the model finds
    duplicates (quarantine.merged_duplicates) and what the discrepancy marts compare (kind ->
    the source column the agency knows it by; the staging columns holding the person). The
    fan-in models read it through quarantine_entities(), duplicate_entities() and
    person_discrepancy_models(). -#}
"""
# Days between two extractions a source's schedule allows (the scorecard's live measure works
# in extraction days, so an hourly source is held to a day); a cron schedule or none: null
# (the measure is then not measured for the source).
SCHEDULE_DAYS = {"@hourly": 1, "@daily": 1, "@weekly": 7, "@monthly": 31, "@yearly": 366}


def _literal(value: object) -> str:
    """A Jinja literal for a str, bool, None, list or dict of them."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "'" in value or "\\" in value:
            raise ValueError(f"{value!r}: quotes and backslashes have no place in a name")
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Jinja literal for {type(value).__name__}")


def admin_code_system(source: Source) -> dict:
    """The code system of a source's administrative codes, as the SQL uses it
    (macros/admin_units.sql): {'system': 'legacy' | '2025'}, or a transition's
    {'system': 'transition', 'switch_date': 'YYYY-MM-DD'} from the dictionary."""
    declared = source.code_lists[ADMIN_UNITS]
    if declared in ADMIN_CODE_SYSTEMS:
        return {"system": declared, "switch_date": None}
    transitions = yaml.safe_load(TRANSITIONS.read_text(encoding="utf-8"))["transitions"]
    t = transitions.get(declared)
    if t is None or (str(t["before"]), str(t["after"])) != ADMIN_CODE_SYSTEMS:
        raise ValueError(
            f"{source.name}: code_lists.{ADMIN_UNITS}: {declared!r} is neither "
            f"{' nor '.join(ADMIN_CODE_SYSTEMS)} nor a legacy-to-2025 transition of {TRANSITIONS}"
        )
    return {"system": "transition", "switch_date": str(t["switch_date"])}


def entities(registry: dict[str, Source]) -> list[dict]:
    """Every entity of the registry as the macro lists it, sources by name."""
    out = []
    for source in sorted(registry.values(), key=lambda s: s.name):
        for entity in source.entities:
            d = entity.discrepancies
            out.append(
                {
                    "model": source.staging_model(entity),
                    "source": source.name,
                    "entity": entity.name,
                    "columns": list(entity.columns),
                    "primary_key": list(entity.primary_key),
                    "conform": {
                        column: {
                            "to": c.to,
                            "kind": c.kind.value,
                            "required": c.required,
                            "formats": list(c.formats or ["dmy", "iso"])
                            if c.kind.value == "date"
                            else None,
                            **(
                                {
                                    "date": c.date,
                                    "district": c.district,
                                    "code_column": c.code_column,
                                }
                                if c.kind is ColumnKind.ADMIN_UNIT
                                else {}
                            ),
                        }
                        for column, c in entity.conform.items()
                    },
                    "admin_units": admin_code_system(source) if entity.admin_unit_columns else None,
                    "legacy_address": None
                    if entity.legacy_address is None
                    else entity.legacy_address.model_dump(),
                    "duplicates": entity.duplicates,
                    "discrepancies": None
                    if d is None
                    else {
                        "fields": dict(d.fields),
                        "personal_id": d.personal_id,
                        "full_name": d.full_name,
                    },
                }
            )
    return out


def sources(registry: dict[str, Source]) -> list[dict]:
    """Every source as `registry_sources()` lists it: its schedule (the scorecard's live
    measure)."""
    return [
        {
            "source": source.name,
            "schedule": source.schedule,
            "schedule_days": SCHEDULE_DAYS.get(source.schedule or ""),
        }
        for source in sorted(registry.values(), key=lambda s: s.name)
    ]


def sharing_products(products: dict[str, Product]) -> list[dict]:
    """Every files product of the sharing registry as `sharing_products()` lists it (the
    scorecard's shared measures): its consumer, the period it delivers once in and the
    elements it grants."""
    return [
        {
            "product": p.name,
            "consumer": p.consumer.agency,
            "period": period_unit(p.frequency),
            "elements": p.columns,
        }
        for p in sorted(products.values(), key=lambda p: p.name)
        if p.delivery.kind is DeliveryKind.FILES
    ]


def _macro(name: str, comment: str, items: list[dict]) -> str:
    lines = "".join(f"        {_literal(i)},\n" for i in items)
    return (
        f"{{#- {comment} -#}}\n{{% macro {name}() -%}}\n"
        f"    {{{{ return([\n{lines}    ]) }}}}\n{{%- endmacro %}}\n"
    )


def render(registry: dict[str, Source], products: dict[str, Product] | None = None) -> str:
    products = load_sharing_registry() if products is None else products
    lines = ",\n".join(f"        {_literal(e)}" for e in entities(registry))
    source_lines = ",\n".join(f"        {_literal(s)}" for s in sources(registry))
    # Two macros, so a model reading only the sources is not rebuilt when an entity changes.
    return (
        HEADER
        + "{% macro registry_entities() -%}\n"
        + "    {{ return([\n"
        + lines
        + ",\n    ]) }}\n{%- endmacro %}\n\n"
        + "{#- Every source: its schedule and the days its schedule allows between\n"
        + "    two extractions (the quality scorecard's live measure). -#}\n"
        + "{% macro registry_sources() -%}\n"
        + "    {{ return([\n"
        + source_lines
        + ",\n    ]) }}\n{%- endmacro %}\n\n"
        + _macro(
            "sharing_products",
            "Every files product of the sharing registry (include/sharing/*.yaml): its\n"
            "    consumer, the period it delivers once in and the elements it grants (the\n"
            "    quality scorecard's shared measures).",
            sharing_products(products),
        )
    )


def write(
    path: Path = MACRO,
    registry: dict[str, Source] | None = None,
    products: dict[str, Product] | None = None,
) -> bool:
    """Write the macro when its content changed (a rewrite would make dbt parse again);
    returns whether it wrote."""
    text = render(registry if registry is not None else load_registry(), products)
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


if __name__ == "__main__":
    print(f"{MACRO}: {'written' if write() else 'up to date'}")
