"""The source registry: one YAML file per source system, validated by a typed model."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ndc.settings import SOURCES_DIR


class RegistryError(ValueError):
    """A registry file is invalid; the message names the file and the field."""


class SourceKind(StrEnum):
    SQL = "sql"
    FILES = "files"
    API = "api"


class Mode(StrEnum):
    FULL = "full"  # full snapshot every run
    INCREMENTAL = "incremental"  # rows whose watermark column moved past the last landed value
    FILE = "file"  # one batch per file dropped in the inbox


_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilesConfig(_Strict):
    format: Literal["csv", "xlsx", "xml"] = "csv"
    delimiter: str = ","  # csv
    # csv: the candidates detected among; xml: the encodings a file may declare in its prolog
    encodings: list[str] = Field(default_factory=lambda: ["utf-8"], min_length=1)
    sheet: str | None = None  # xlsx: the worksheet to read (default: the first)


class LegacyAddress(_Strict):
    """A free-text legacy address ("Xã ..., Huyện ..., Tỉnh ...") standardised at extraction,
    offline, to its legacy ward code (ndc.extract.xml): two extra columns land beside it."""

    column: str  # the source column holding the address
    ward_code: str  # the extra column: the legacy ward code, when the address names exactly one
    status: str  # the extra column: matched | unmatched (none when the address is empty)


class XmlEntity(_Strict):
    """How an entity's rows are read from an XML file (files.format: xml).

    record_path: the repeated element, as tag names from the document element down
    ("ThuaDat", or "ThuaDat/ChuSuDung" for owners nested in a parcel). fields: column ->
    "@attr" (an attribute of the record), "Child" (a child element's text), "Child/@attr",
    or "../@attr" (an attribute of the enclosing element: the parent's key)."""

    record_path: str = Field(pattern=r"^[A-Za-z_][\w.-]*(/[A-Za-z_][\w.-]*)*$")
    fields: dict[str, str] = Field(min_length=1)
    legacy_address: LegacyAddress | None = None

    @model_validator(mode="after")
    def _paths(self) -> XmlEntity:
        for column, path in self.fields.items():
            if not re.fullmatch(r"(\.\./)?@[\w.-]+|[A-Za-z_][\w.-]*(/@[\w.-]+)?", path):
                raise ValueError(
                    f"fields.{column}: {path!r} is not @attr, Child, Child/@attr or ../@attr"
                )
            if path.startswith("../") and "/" not in self.record_path:
                raise ValueError(f"fields.{column}: {path!r}: the record has no enclosing record")
        return self

    def derived_columns(self) -> list[str]:
        a = self.legacy_address
        return [] if a is None else [a.ward_code, a.status]


class ApiConfig(_Strict):
    page_size: int = Field(default=500, ge=1, le=10_000)
    updated_since_param: str = "updated_since"


class ColumnKind(StrEnum):
    """What a source column carries, for its conformance and its checks."""

    PERSON_NAME = "person_name"
    PERSONAL_ID = "personal_id"  # the 12-digit personal ID number (CCCD)
    CMND = "cmnd"  # the legacy 9-digit identity card number
    DATE = "date"
    PHONE = "phone"
    CODE = "code"  # a coded value of a code list
    ADMIN_UNIT = "admin_unit"  # an administrative unit's code
    TEXT = "text"


DateFormat = Literal["dmy", "iso", "year", "spreadsheet"]

# The code-list family a source declares its administrative codes in, and its two systems; any
# other declaration is a transition between them
# (include/dictionary/code_lists/admin_units_legacy_to_2025.yaml).
ADMIN_UNITS = "administrative_units"
ADMIN_CODE_SYSTEMS = ("legacy", "2025")


class Conformed(_Strict):
    """Where a source column's conformed value is (the staging model's column), what it is,
    whether a row without it is quarantined, and, for a date, the formats the source writes
    (dbt_project/macros/contract.sql: d/m/yyyy, yyyy-mm-dd, the year alone, a spreadsheet's
    serial or text date).

    An administrative unit (a commune code, legacy or 2025, or a free-text legacy address the
    extractor standardised: `xml.legacy_address`) conforms to its 2025 commune
    (dbt_project/macros/admin_units.sql), in the code system the source declares
    (`code_lists.administrative_units`). `date` names the column whose date picks the system
    under a transition (legacy codes before the switch date) and dates the row for the report
    of a split ward after the reform; `district` the column of the legacy district (a row that
    names one carries legacy codes: the 2025 system has no districts); `code_column` the
    staging column keeping the code as received (default: the column's own name, as
    conform_entity keeps it; for a legacy address, its ward-code column)."""

    to: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: ColumnKind
    required: bool = False
    formats: list[DateFormat] | None = None
    date: str | None = None
    district: str | None = None
    code_column: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")

    @model_validator(mode="after")
    def _formats(self) -> Conformed:
        if self.formats is not None and self.kind is not ColumnKind.DATE:
            raise ValueError("formats: only a date has formats")
        for name in ("date", "district", "code_column"):
            if getattr(self, name) is not None and self.kind is not ColumnKind.ADMIN_UNIT:
                raise ValueError(f"{name}: only an admin_unit has a {name}")
        return self


class Linkage(_Strict):
    """Staging columns record linkage compares (ndc.linkage.flow) that `conform` does not
    declare: a commune code kept as received (`commune_code`, the staging column) and its code
    system. Without a system, the source's declaration (code_lists.administrative_units) gives
    it, and under a transition, where the row has no date to pick one, 'either'."""

    commune_code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    commune_code_system: Literal["2025", "legacy", "either"] | None = None


# What the discrepancy marts compare with the population database, each kind shown to the
# agency under the source column that carries it (dbt_project/macros/discrepancies.sql).
DISCREPANCY_KINDS = ("date_of_birth", "sex", "full_name", "pid_sex_year")


class Discrepancies(_Strict):
    """A person-carrying entity compared with the population database: the kinds checked,
    each mapped to the source column the agency knows it by, and the staging columns that
    hold the person's personal ID and name."""

    fields: dict[str, str] = Field(min_length=1)
    personal_id: str = "personal_id"
    full_name: str = "full_name"

    @model_validator(mode="after")
    def _kinds(self) -> Discrepancies:
        unknown = sorted(set(self.fields) - set(DISCREPANCY_KINDS))
        if unknown:
            raise ValueError(f"fields: unknown kinds {unknown} (known: {list(DISCREPANCY_KINDS)})")
        return self


def e164_column(column: str) -> str:
    """The raw column the load adds beside a phone column: the number in E.164 (ndc.phones)."""
    return column + "_e164"


# A column or table name must be a plain SQL identifier: at most PostgreSQL's 63 characters.
MAX_IDENTIFIER = 63
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?")


class Entity(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    mode: Mode
    columns: list[str] = Field(min_length=1)
    primary_key: list[str] = Field(min_length=1)
    table: str | None = None  # sql sources
    endpoint: str | None = None  # api sources: path under the connection's base URL
    watermark_column: str | None = None  # incremental mode
    pattern: str | None = None  # file sources: glob in the inbox
    # How the warehouse conforms it (dbt_project/models/staging/<source>/): the staging model
    # (default stg_<source>__<entity>s), whether it finds exact and near duplicates (its merged
    # rows go to quarantine.merged_duplicates), and what the discrepancy marts compare.
    staging_model: str | None = Field(default=None, pattern=r"^stg_[a-z0-9_]+$")
    # Source column -> its conformed column and kind (the evaluation scores repairs there;
    # tests/unit/test_registry_coverage.py checks the staging model has the column).
    conform: dict[str, Conformed] = Field(default_factory=dict)
    duplicates: bool = False
    discrepancies: Discrepancies | None = None
    xml: XmlEntity | None = None  # files.format: xml
    linkage: Linkage | None = None  # what record linkage compares beyond `conform`

    @property
    def phone_columns(self) -> list[str]:
        """The source columns `conform` declares as phone numbers."""
        phones = {c for c, conformed in self.conform.items() if conformed.kind is ColumnKind.PHONE}
        return [c for c in self.columns if c in phones]

    @property
    def raw_columns(self) -> list[str]:
        """The raw table's columns from the source: every column, and beside each phone column
        the E.164 column the load adds (ndc.phones)."""
        return [*self.columns, *map(e164_column, self.phone_columns)]

    @property
    def admin_unit_columns(self) -> list[str]:
        """The source columns `conform` declares as administrative units, in column order: the
        row's place is the first of them that gives one."""
        units = {
            c for c, conformed in self.conform.items() if conformed.kind is ColumnKind.ADMIN_UNIT
        }
        return [c for c in self.columns if c in units]

    @property
    def legacy_address(self) -> LegacyAddress | None:
        """The free-text legacy address the extractor standardises, if the entity has one."""
        return None if self.xml is None else self.xml.legacy_address

    def _admin_units_consistent(self) -> None:
        columns = self.admin_unit_columns
        targets = sorted({self.conform[c].to for c in columns})
        if len(targets) > 1:
            # One place per row: the staging model's admin_code_system and
            # admin_conversion_ambiguous describe it (macros/contract.sql).
            raise ValueError(
                f"conform: the admin_unit columns {columns} conform to {targets}; an entity has"
                " one administrative unit (its columns are alternatives, the first given wins)"
            )
        for column in columns:
            c = self.conform[column]
            where = f"conform.{column}"
            if c.date is not None:
                d = self.conform.get(c.date)
                if d is None or d.kind is not ColumnKind.DATE:
                    raise ValueError(
                        f"{where}.date: {c.date!r} is not a column conform declares a date"
                    )
            if c.district is not None and c.district not in self.columns:
                raise ValueError(f"{where}.district: {c.district!r} not in columns")

    @model_validator(mode="after")
    def _identifiers(self) -> Entity:
        """Column and table names become SQL identifiers (raw tables, COPY, the SQL extract's
        select, dbt models): anything but a plain identifier is refused here, whatever quoting
        downstream would do with it."""
        named = [("columns", c) for c in self.columns]
        named += [("primary_key", c) for c in self.primary_key]
        if self.watermark_column is not None:
            named.append(("watermark_column", self.watermark_column))
        for where, name in named:
            if not IDENTIFIER.fullmatch(name):
                raise ValueError(
                    f"{where}: {name!r} is not a plain identifier (letters, digits and _, "
                    f"not starting with a digit, at most {MAX_IDENTIFIER} characters)"
                )
        if self.table is not None and not TABLE_NAME.fullmatch(self.table):
            raise ValueError(f"table: {self.table!r} is not a plain [schema.]table name")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Entity:
        if self.xml is not None:
            mapped = set(self.xml.fields) | set(self.xml.derived_columns())
            unmapped = [c for c in self.columns if c not in mapped]
            if unmapped:
                raise ValueError(f"xml.fields: no path for column(s) {unmapped}")
            extra = sorted(mapped - set(self.columns))
            if extra:
                raise ValueError(f"xml: column(s) {extra} not in columns")
            a = self.xml.legacy_address
            if a is not None and a.column not in self.xml.fields:
                raise ValueError(f"xml.legacy_address.column: {a.column!r} not in xml.fields")
        missing = [c for c in self.primary_key if c not in self.columns]
        if missing:
            raise ValueError(f"primary_key {missing} not in columns")
        unknown = [c for c in self.conform if c not in self.columns]
        if unknown:
            raise ValueError(f"conform: {unknown} not in columns")
        self._admin_units_consistent()
        if self.discrepancies is not None:
            unknown = [c for c in self.discrepancies.fields.values() if c not in self.columns]
            if unknown:
                raise ValueError(f"discrepancies.fields: {unknown} not in columns")
        if self.mode is Mode.INCREMENTAL:
            if not self.watermark_column:
                raise ValueError("incremental mode needs watermark_column")
            if self.watermark_column not in self.columns:
                raise ValueError(f"watermark_column {self.watermark_column!r} not in columns")
        if self.mode is Mode.FILE and not self.pattern:
            raise ValueError("file mode needs pattern")
        return self


# Names a source may not take: the quality scorecard's rows of the platform's own deliveries.
RESERVED_SOURCE_NAMES = {
    "sharing": "the quality scorecard's source of the data products' deliveries"
}


class Source(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    owner_agency: str
    legal_basis: str
    kind: SourceKind
    connection_id: str
    schedule: str | None = "@daily"
    files: FilesConfig | None = None
    api: ApiConfig | None = None
    code_lists: dict[str, str] = Field(default_factory=dict)
    entities: list[Entity] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Source:
        if self.name in RESERVED_SOURCE_NAMES:
            raise ValueError(
                f"name: {self.name!r} is reserved ({RESERVED_SOURCE_NAMES[self.name]})"
            )
        for entity in self.entities:
            if self.kind is SourceKind.FILES and entity.mode is not Mode.FILE:
                raise ValueError(
                    f"entities.{entity.name}.mode: a files source lands files (mode: file)"
                )
            if self.kind is SourceKind.SQL:
                if entity.mode is Mode.FILE:
                    raise ValueError(f"entities.{entity.name}.mode: file mode needs kind: files")
                if not entity.table:
                    raise ValueError(f"entities.{entity.name}.table: required for sql sources")
            if self.kind is SourceKind.API:
                if entity.mode is Mode.FILE:
                    raise ValueError(f"entities.{entity.name}.mode: file mode needs kind: files")
                if not entity.endpoint:
                    raise ValueError(f"entities.{entity.name}.endpoint: required for api sources")
        if self.kind is SourceKind.FILES and self.files is None:
            raise ValueError("files: required for kind: files")
        is_xml = self.files is not None and self.files.format == "xml"
        for entity in self.entities:
            if is_xml and entity.xml is None:
                raise ValueError(f"entities.{entity.name}.xml: required for files.format: xml")
            if not is_xml and entity.xml is not None:
                raise ValueError(f"entities.{entity.name}.xml: only for files.format: xml")
        if self.kind is SourceKind.API and self.api is None:
            raise ValueError("api: required for kind: api")
        self._admin_code_system_declared()
        return self

    def _admin_code_system_declared(self) -> None:
        """An administrative unit means nothing without its code system (2025 codes reuse
        legacy codes for other places): the source declares it, and under a transition each
        code column names the date that picks it."""
        declared = self.code_lists.get(ADMIN_UNITS)
        for entity in self.entities:
            address = entity.legacy_address
            for column in entity.admin_unit_columns:
                where = f"entities.{entity.name}.conform.{column}"
                if declared is None:
                    raise ValueError(
                        f"{where}: an admin_unit needs code_lists.{ADMIN_UNITS} "
                        f"({', '.join(ADMIN_CODE_SYSTEMS)} or a transition such as "
                        "legacy-until-2025-07-01)"
                    )
                is_address = address is not None and address.column == column
                if declared not in ADMIN_CODE_SYSTEMS and not is_address:
                    if entity.conform[column].date is None:
                        raise ValueError(
                            f"{where}.date: required under the transition {declared!r} (the "
                            "row's date picks legacy or 2025 codes)"
                        )

    def linkage_code_system(self, entity: Entity) -> str | None:
        """The code system of `entity.linkage.commune_code`: as declared there, else the
        source's fixed system, else (a transition, and the row has no date) 'either'."""
        if entity.linkage is None:
            return None
        if entity.linkage.commune_code_system is not None:
            return entity.linkage.commune_code_system
        declared = self.code_lists.get(ADMIN_UNITS)
        return declared if declared in ADMIN_CODE_SYSTEMS else "either"

    def staging_model(self, entity: Entity) -> str:
        """The dbt staging model that conforms an entity of this source."""
        return entity.staging_model or f"stg_{self.name}__{entity.name}s"

    def entity(self, name: str) -> Entity:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(f"source {self.name!r} has no entity {name!r}")


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def read_model(path: Path, model: type[_M], error: type[Exception]) -> _M:
    """One YAML file validated as `model`; `error` names the file and what is wrong (not
    YAML, not a mapping, each invalid field, a `name` that is not the file's name). Used by
    the source registry and the sharing registry (ndc.sharing.registry)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping at the top level")
    try:
        found = model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{path}: {_describe(exc)}") from exc
    if found.name != path.stem:
        raise error(f"{path}: name: {found.name!r} must match the file name {path.stem!r}")
    return found


def load_source(path: Path) -> Source:
    """Read and validate one registry file."""
    return read_model(path, Source, RegistryError)


def load_registry(directory: Path = SOURCES_DIR) -> dict[str, Source]:
    """All sources of the registry, by name, in file-name order."""
    return {p.stem: load_source(p) for p in sorted(directory.glob("*.yaml"))}


def raw_table(source: str, entity: str) -> str:
    """Name of the raw table a source entity loads into (without schema)."""
    return f"{source}__{entity}"


# The raw column (and batch column) holding a row's values of the columns its source sent
# that the registry does not declare (schema drift): ndc.extract.batch, ndc.warehouse.
EXTRA_COLUMN = "_extra"
