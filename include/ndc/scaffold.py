"""`ndc source new`: the registry file and staging folder of a new source, ready to edit.

What it writes conforms exactly what it declares and nothing more: the registry entity (its
columns, key and a proposed column contract, `conform`), the dbt source of its raw table, a
staging model that is the standard conformance generated from that contract
(`conform_entity`, dbt_project/macros/contract.sql) and its tests. The quarantine fan-in
takes the entity from the registry (macros/registry.sql), so nothing outside the source's own
files changes. For a SQL source, `--from-url` reads the table's columns, primary key and
types and proposes each column's kind from its name and type; the engineer edits a proposal
instead of typing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ndc.registry import ADMIN_UNITS, ColumnKind, load_source
from ndc.settings import DBT_PROJECT_DIR, SOURCES_DIR

KINDS = ("sql", "files", "api", "xml")  # xml: a files source whose files are XML
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
WATERMARKS = ("updated_at", "ngay_cap_nhat", "last_modified", "modified_at")

# Column names agencies use, by what they carry (docs/domain.md): the proposal's first guess.
_NAME_RULES: list[tuple[re.Pattern, ColumnKind, str]] = [
    (
        re.compile(r"^(so_)?(dinh_danh|cccd|ma_dinh_danh)(_|$)|(^|_)personal_id$|^citizen_id$"),
        ColumnKind.PERSONAL_ID,
        "personal_id",
    ),
    (re.compile(r"^(so_)?cmnd(_|$)"), ColumnKind.CMND, "cmnd"),
    (re.compile(r"^ho_ten(_|$)|(^|_)full_name$"), ColumnKind.PERSON_NAME, "full_name"),
    (re.compile(r"^ngay_sinh(_|$)|^date_of_birth$|^dob$"), ColumnKind.DATE, "date_of_birth"),
    (re.compile(r"^ngay_|_date$|^date_|_on$"), ColumnKind.DATE, ""),
    (re.compile(r"(^|_)dien_thoai(_|$)|(^|_)phone(_|$)|^sdt$"), ColumnKind.PHONE, "phone_e164"),
    (re.compile(r"^ma_(xa|phuong)(_|$)"), ColumnKind.ADMIN_UNIT, "commune_code_2025"),
]
_DATE_TYPES = re.compile(r"^(DATE|TIMESTAMP|DATETIME)", re.IGNORECASE)
# A commune's legacy district: a row that names one carries legacy codes (docs/domain.md).
_DISTRICT = re.compile(r"^ma_(huyen|quan)(_|$)")
# The code system proposed for administrative units: legacy codes before the 2025 reform, 2025
# codes from it, by the row's date; "2025" when no date can pick (code_lists.administrative_units).
ADMIN_TRANSITION = "legacy-until-2025-07-01"


class ScaffoldError(ValueError):
    """The new source cannot be scaffolded; the message says why."""


@dataclass
class Column:
    name: str
    sql_type: str = ""


@dataclass
class Proposal:
    """What `ndc source new` writes, before it is written."""

    source: str
    kind: str
    entity: str
    columns: list[Column]
    primary_key: list[str]
    table: str | None = None
    watermark: str | None = None
    conform: dict[str, dict] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return f"stg_{self.source}__{self.entity}s"


def propose_conform(columns: list[Column], primary_key: list[str]) -> dict[str, dict]:
    """Each column's kind and conformed name, guessed from its name and SQL type; a column
    nothing matches stays text as received (not in `conform`). Primary key columns keep their
    text (they are the record key)."""
    conform: dict[str, dict] = {}
    used: set[str] = {c.name for c in columns}
    for column in columns:
        if column.name in primary_key or column.name in WATERMARKS:
            continue
        rule = next(((k, t) for p, k, t in _NAME_RULES if p.search(column.name)), None)
        if rule is None and _DATE_TYPES.match(column.sql_type):
            rule = (ColumnKind.DATE, "")
        if rule is None:
            continue
        kind, to = rule
        if kind is ColumnKind.ADMIN_UNIT and any(c["kind"] == kind.value for c in conform.values()):
            continue  # one administrative unit per entity (ndc.registry): the first commune
        target = to if to and to not in used else f"{column.name}_{kind.value}"
        used.add(target)
        conform[column.name] = {"to": target, "kind": kind.value}
    _place_admin_unit(columns, conform)
    return conform


def _place_admin_unit(columns: list[Column], conform: dict[str, dict]) -> None:
    """An administrative unit's code system comes from the row's date (the first date that is
    not a date of birth) and its district, where the table has them."""
    unit = next((c for c, v in conform.items() if v["kind"] == ColumnKind.ADMIN_UNIT.value), None)
    if unit is None:
        return
    date = next(
        (
            c
            for c, v in conform.items()
            if v["kind"] == ColumnKind.DATE.value and v["to"] != "date_of_birth"
        ),
        None,
    )
    district = next((c.name for c in columns if _DISTRICT.search(c.name)), None)
    if date:
        conform[unit]["date"] = date
    if district and district not in conform:
        conform[unit]["district"] = district


def admin_code_system(conform: dict[str, dict]) -> str | None:
    """The code system proposed for the administrative unit, if any: the transition when a
    date can pick, else the 2025 system."""
    units = [v for v in conform.values() if v["kind"] == ColumnKind.ADMIN_UNIT.value]
    if not units:
        return None
    return ADMIN_TRANSITION if units[0].get("date") else "2025"


def read_table(url: str, table: str) -> tuple[list[Column], list[str]]:
    """The columns (name, SQL type) and primary key of a table of a SQL source."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        schema, _, name = table.rpartition(".")
        if not inspector.has_table(name, schema=schema or None):
            raise ScaffoldError(f"{url.split('@')[-1]}: no table {table!r}")
        columns = [
            Column(c["name"], str(c["type"])) for c in inspector.get_columns(name, schema or None)
        ]
        pk = inspector.get_pk_constraint(name, schema or None).get("constrained_columns") or []
    finally:
        engine.dispose()
    bad = [c.name for c in columns if not NAME.match(c.name)]
    if bad:
        raise ScaffoldError(f"{table}: column names {bad} are not lower_snake_case")
    return columns, list(pk)


def propose(
    source: str,
    kind: str,
    entity: str,
    columns: list[Column],
    primary_key: list[str],
    table: str | None = None,
) -> Proposal:
    for what, value in (("source", source), ("entity", entity)):
        if not NAME.match(value):
            raise ScaffoldError(f"{what} {value!r}: lower_snake_case, starting with a letter")
    if kind not in KINDS:
        raise ScaffoldError(f"--kind {kind!r}: one of {', '.join(KINDS)}")
    if not columns:
        raise ScaffoldError("no columns: give --columns, or --from-url and --table")
    names = [c.name for c in columns]
    if not primary_key:
        raise ScaffoldError(f"no primary key: give --primary-key (one or more of {names})")
    missing = [k for k in primary_key if k not in names]
    if missing:
        raise ScaffoldError(f"--primary-key {missing} not in the columns {names}")
    by_file = kind in ("files", "xml")
    watermark = next((w for w in WATERMARKS if w in names), None) if not by_file else None
    return Proposal(
        source=source,
        kind=kind,
        entity=entity,
        columns=columns,
        primary_key=primary_key,
        table=table or (entity if kind == "sql" else None),
        watermark=watermark,
        conform=propose_conform(columns, primary_key),
    )


def _registry_yaml(p: Proposal) -> str:
    entity: dict = {
        "name": p.entity,
        "description": f"TODO: what one {p.entity} row is.",
        "mode": "incremental" if p.watermark else "full",
    }
    if p.kind in ("files", "xml"):
        entity["mode"] = "file"
    if p.kind == "sql":
        entity["table"] = p.table
    elif p.kind == "api":
        entity["endpoint"] = f"/api/v1/{p.entity}s"
    elif p.kind == "files":
        entity["pattern"] = f"{p.entity}s_*.csv"
    else:
        entity["pattern"] = f"{p.entity}s_*.xml"
    if p.watermark:
        entity["watermark_column"] = p.watermark
    entity["primary_key"] = p.primary_key
    entity["columns"] = [c.name for c in p.columns]
    if p.kind == "xml":
        # One record element per row, each column a child element of the same name (edit:
        # "@attr" for an attribute, "Child/@attr", "../@attr" for the enclosing record's).
        record = "".join(part.capitalize() for part in p.entity.split("_"))
        entity["xml"] = {"record_path": record, "fields": {c.name: c.name for c in p.columns}}
    if p.conform:
        entity["conform"] = p.conform
    doc: dict = {
        "name": p.source,
        "title": f"TODO: {p.source} (what it holds)",
        "owner_agency": "TODO: the agency that owns the system",
        "legal_basis": "TODO: the law or decree the data is shared under",
        "kind": "files" if p.kind == "xml" else p.kind,
        "connection_id": f"ndc_src_{p.source}",
        "schedule": "@daily",
    }
    if p.kind == "files":
        doc["files"] = {"format": "csv", "delimiter": ",", "encodings": ["utf-8"]}
    if p.kind == "xml":
        doc["files"] = {"format": "xml", "encodings": ["utf-8"]}
    if p.kind == "api":
        doc["api"] = {"page_size": 500, "updated_since_param": "updated_since"}
    system = admin_code_system(p.conform)
    if system:
        doc["code_lists"] = {ADMIN_UNITS: system}
    doc["entities"] = [entity]
    head = (
        f"# {p.source}: scaffolded by `ndc source new`. Fill in the TODOs, check each column's\n"
        "# proposed kind in `conform` (a column it does not name is kept as text), then\n"
        "# `make install` and `ndc registry check`. README.md, 'Adding a source'.\n"
    )
    if system:
        head += (
            "# Administrative codes: check code_lists.administrative_units (legacy, 2025, or\n"
            f"# {ADMIN_TRANSITION} by the admin_unit's `date`): 2025 codes reuse legacy\n"
            "# codes for other places, so a wrong system converts to wrong communes.\n"
        )
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def _sources_yml(p: Proposal) -> str:
    where = {
        "sql": f"table {p.table}",
        "files": "CSV files",
        "xml": "XML files",
        "api": f"the API's /{p.entity}s",
    }
    table = {
        "name": f"{p.source}__{p.entity}",
        "description": f"{p.entity} rows as received from {where[p.kind]}, every value as text.",
        "columns": [{"name": c.name, "description": "As received."} for c in p.columns]
        + [
            {"name": "_batch_id", "description": "The load batch (ops.load_ledger.batch_id)."},
            {"name": "_source_row", "description": "1-based row number within the extraction."},
            {"name": "_loaded_at", "description": "When the batch was loaded into raw."},
            {
                "name": "_extra",
                "description": "Schema drift: the row's values of the columns the source sent "
                f"that include/sources/{p.source}.yaml does not declare, "
                f"{{{'XML path' if p.kind == 'xml' else 'column'}: text}}; "
                "null when it carried none. Kept, not conformed.",
            },
        ],
    }
    doc = {
        "version": 2,
        "sources": [
            {
                "name": "raw",
                "schema": "raw",
                "config": {
                    "loaded_at_field": "_loaded_at",
                    "freshness": {"warn_after": {"count": 2, "period": "day"}},
                },
                "tables": [table],
            }
        ],
    }
    return (
        f"# Tables loaded by the ingest_{p.source} DAG (include/sources/{p.source}.yaml).\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    )


def _staged_columns(p: Proposal) -> list[dict]:
    out = [
        {"name": "_batch_id", "description": "The load batch.", "data_tests": ["not_null"]},
        {
            "name": "_source_row",
            "description": "Row within the extraction.",
            "data_tests": ["not_null"],
        },
        {"name": "_loaded_at", "description": "When the batch was loaded into raw."},
        {"name": "_conformed_at", "description": "When this row was conformed."},
        {
            "name": "record_key",
            "description": f"The primary key ({', '.join(p.primary_key)}), trimmed.",
            "data_tests": [{"not_null": {"config": {"severity": "error"}}}],
        },
    ]
    described = {
        "person_name": "repaired (legacy encodings, Unicode NFC, single spaces)",
        "personal_id": "trimmed; quarantined unless 12 digits of a known province",
        "date": "parsed (d/m/yyyy or yyyy-mm-dd); quarantined when it does not parse or lies "
        "after the load date",
        "phone": "in E.164, null when it is no Vietnamese number",
    }
    for c in p.columns:
        spec = p.conform.get(c.name)
        if spec is None:
            out.append({"name": c.name, "description": f"{c.name} as received, trimmed."})
            continue
        if spec["kind"] == ColumnKind.ADMIN_UNIT.value:
            out += _admin_unit_columns(c.name, spec)
            continue
        how = described.get(spec["kind"], "as received, trimmed")
        out.append({"name": spec["to"], "description": f"{c.name}, {how}."})
        if spec["kind"] == "person_name":
            out.append({"name": f"{spec['to']}_raw", "description": f"{c.name} as received."})
        if spec["kind"] == "date":
            out.append(
                {"name": f"{spec['to']}_precision", "description": "day or year; null unparsed."}
            )
    out += [
        {"name": "quarantine_reason_code", "description": "Why the row is rejected, or null."},
        {"name": "quarantine_field", "description": "The source column at fault."},
        {"name": "quarantine_value", "description": "That column's value as received."},
    ]
    return out


def _admin_unit_columns(column: str, spec: dict) -> list[dict]:
    """What conform_entity writes for an administrative unit (macros/contract.sql)."""
    return [
        {
            "name": spec["to"],
            "description": f"The 2025 commune of {column}: a 2025 code kept, a legacy ward "
            "converted when it became one commune; null for a ward split between several "
            "(flagged, never guessed) or an unknown code (quarantined).",
            "data_tests": [
                {
                    "relationships": {
                        "arguments": {
                            "to": "ref('admin_units_2025_communes')",
                            "field": "commune_code",
                        }
                    }
                }
            ],
        },
        {
            "name": "admin_code_system",
            "description": f"The code system of {column}: legacy or 2025 (declared, or by "
            "the row's date and district).",
            "data_tests": [{"accepted_values": {"arguments": {"values": ["legacy", "2025"]}}}],
        },
        {
            "name": "admin_conversion_ambiguous",
            "description": "True for a legacy ward split between several 2025 communes.",
        },
        {"name": column, "description": f"{column} as received, trimmed."},
    ]


def _models_yml(p: Proposal) -> str:
    doc = {
        "version": 2,
        "models": [
            {
                "name": p.model,
                "description": f"{p.entity} rows conformed to the contract of "
                f"include/sources/{p.source}.yaml (macros/contract.sql), one row per raw row.",
                "data_tests": [
                    {
                        "unique_combination_of_columns": {
                            "arguments": {"combination_of_columns": ["_batch_id", "_source_row"]}
                        }
                    }
                ],
                "columns": _staged_columns(p),
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


MODEL_SQL = """\
-- {entity} rows of {source}, conformed to the registry's contract (include/sources/{source}.yaml,
-- macros/contract.sql). Rules the contract cannot say go here, by hand.
{{{{ config(post_hook=["{{{{ staging_indexes() }}}}"]) }}}}

{{{{ conform_entity('{source}', '{entity}') }}}}
"""


def files(p: Proposal, sources_dir: Path, dbt_project: Path) -> dict[Path, str]:
    folder = dbt_project / "models" / "staging" / p.source
    return {
        sources_dir / f"{p.source}.yaml": _registry_yaml(p),
        folder / f"_{p.source}__sources.yml": _sources_yml(p),
        folder / f"_{p.source}__models.yml": _models_yml(p),
        folder / f"{p.model}.sql": MODEL_SQL.format(source=p.source, entity=p.entity),
    }


def write(
    p: Proposal, sources_dir: Path = SOURCES_DIR, dbt_project: Path = DBT_PROJECT_DIR
) -> list[Path]:
    """Write the proposal; refuse to overwrite a source that exists. The registry file is
    validated as `ndc registry check` would."""
    out = files(p, sources_dir, dbt_project)
    existing = [str(path) for path in out if path.exists()]
    if existing or (dbt_project / "models" / "staging" / p.source).exists():
        raise ScaffoldError(f"source {p.source!r} exists: {existing or 'its staging folder'}")
    for path, text in out.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    load_source(sources_dir / f"{p.source}.yaml")
    return list(out)
