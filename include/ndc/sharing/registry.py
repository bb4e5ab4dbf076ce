"""The sharing registry: one YAML file per data product (`include/sharing/<product>.yaml`),
validated by a typed model and checked against the data dictionary.

A product says who receives what, why and how: the consumer agency, the legal basis (the
instrument and its article), the purpose, the data elements (dictionary elements), the row
filter, the frequency, the delivery (files pushed to a folder or an S3 bucket, or pull
through the lookup API) and the retention.

The rule an element's personal-data class sets (Law on Personal Data Protection 91/2025/QH15;
classes in `include/dictionary/elements/*.yaml`):

- `none`: needs no basis;
- `basic`: the product needs a legal basis (instrument and article);
- `sensitive`: the legal basis must also name the element in `sensitive_elements`: a basis
  for a purpose does not by itself cover ethnicity or religion;
- an `aggregated` product publishes counts, not persons: its `elements` must all be of class
  `none`; personal elements appear only as `group_by` dimensions, never one that identifies
  a person (an identifier or free text), a date only in bands or periods, and a sensitive
  dimension only under a basis naming it. Open data is aggregated, needs no basis, and
  suppresses every count under 5.

A row filter compares dictionary elements with literals (ROW_FILTER_WORDS): it only selects
rows, so the elements it reads need no basis of their own, but a misspelt one fails the check.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ndc.registry import read_model
from ndc.settings import SHARING_DIR
from ndc.sharing.fields import CITIZEN_FIELDS

# The smallest count open data may publish (issue 11: no count under 5 is published).
OPEN_DATA_MIN_COUNT = 5
# The column of an aggregated product's count.
MEASURE_COLUMN = "count"
# The period a files product delivers once in, by its frequency (a cron expression: a day).
PERIOD_UNITS = {
    "@daily": "day",
    "@weekly": "week",
    "@monthly": "month",
    "@yearly": "year",
    "@annually": "year",
}


def period_unit(frequency: str | None) -> str:
    """``day``, ``week`` (ISO), ``month`` or ``year``: PostgreSQL's date_trunc units."""
    return PERIOD_UNITS.get(frequency or "@daily", "day")


PERSONAL_CLASSES = ("basic", "sensitive")


# The SQL words a row filter may use besides element names: comparisons of elements with
# literals, nothing that calls a function or reads another table.
ROW_FILTER_WORDS = frozenset(
    "and or not is null in between like true false date interval current_date".split()
)


def row_filter_names(condition: str) -> list[str]:
    """The names a row filter uses beyond ROW_FILTER_WORDS (quoted literals skipped)."""
    bare = re.sub(r"'(?:[^']|'')*'", "''", condition)
    names = re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", bare)
    return sorted({n for n in names if n.lower() not in ROW_FILTER_WORDS})


class SharingError(ValueError):
    """A sharing registry file is invalid; the message names the file and the field."""


class Level(StrEnum):
    IDENTIFIED = "identified"  # one row per person
    AGGREGATED = "aggregated"  # counts per group: no person in it


class DeliveryKind(StrEnum):
    FILES = "files"  # pushed to the consumer's landing area
    API = "api"  # pulled through the lookup service (ndc serve)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_NAME = r"^[a-z][a-z0-9_]*$"


class Consumer(_Strict):
    agency: str = Field(pattern=_NAME)  # the id its API key is issued to (ndc serve key)
    name: str = Field(min_length=1)


class LegalBasis(_Strict):
    instrument: str = Field(min_length=1)  # e.g. Law on Social Insurance 41/2024/QH15
    article: str = Field(min_length=1)  # the article (and clause) that allows this use
    # How sure the citation is, as in the dictionary: checked (read in the primary text),
    # reported (secondary sources), open (to be confirmed by the legal department).
    status: Literal["checked", "reported", "open"] = "open"
    # The sensitive elements the basis names explicitly (a sensitive element needs it).
    sensitive_elements: list[str] = Field(default_factory=list)

    def cite(self) -> str:
        return f"{self.instrument}, {self.article}"


class GroupBy(_Strict):
    """A dimension of an aggregated product: an element's value, a date reduced to a period
    (month, year), or a date or integer in bands (ages in whole years at the reference date)."""

    element: str
    column: str | None = Field(default=None, alias="as", pattern=_NAME)
    period: Literal["month", "year"] | None = None
    bands: list[int] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> GroupBy:
        if self.period and self.bands:
            raise ValueError(f"{self.element}: a period or bands, not both")
        if self.bands and self.bands != sorted(set(self.bands)):
            raise ValueError(f"{self.element}: bands must be increasing")
        return self


class Aggregation(_Strict):
    group_by: list[GroupBy] = Field(min_length=1)
    measure: Literal["count"] = "count"
    # Counts below this are published as suppressed (null), never as their value.
    suppress_below: int | None = Field(default=None, ge=1)


class Delivery(_Strict):
    kind: DeliveryKind
    target: Literal["folder", "s3"] | None = None  # files
    # files: where the consumer's landing area is, as a name resolved from the environment
    # (never a secret in the repository): NDC_SHARING_<PRODUCT>_URL, else this default.
    location: str | None = None
    format: Literal["parquet", "csv"] | None = None
    manifest: bool = True  # files: a .manifest.json (rows, sha256, basis) beside each file

    @model_validator(mode="after")
    def _kind(self) -> Delivery:
        if self.kind is DeliveryKind.FILES:
            missing = [f for f in ("target", "location", "format") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a files delivery needs {missing}")
        elif self.target or self.location or self.format:
            raise ValueError("an api delivery has no target, location or format")
        return self


class Product(_Strict):
    name: str = Field(pattern=_NAME)
    title: str = Field(min_length=1)
    consumer: Consumer
    legal_basis: LegalBasis | None = None
    purpose: str = Field(min_length=1)
    level: Level
    open_data: bool = False
    reads: str | None = Field(default=None, pattern=_NAME)  # the dbt model a files product reads
    elements: list[str] = Field(default_factory=list)
    aggregation: Aggregation | None = None
    row_filter: str | None = None  # a SQL condition on the model's columns
    frequency: str | None = None  # files: an Airflow schedule (@daily, @monthly, cron)
    delivery: Delivery
    retention_days: int | None = Field(default=None, ge=1)  # how long the consumer may keep it

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        if len(set(self.elements)) != len(self.elements):
            raise ValueError("elements: an element is listed twice")
        if self.level is Level.AGGREGATED and self.aggregation is None:
            raise ValueError("aggregation: required for level: aggregated")
        if self.level is Level.IDENTIFIED:
            if self.aggregation is not None:
                raise ValueError("aggregation: only for level: aggregated")
            if not self.elements:
                raise ValueError("elements: an identified product shares at least one element")
        if self.open_data:
            if self.level is not Level.AGGREGATED:
                raise ValueError("open_data: open data is aggregated, never identified")
            floor = self.aggregation.suppress_below or 0
            if floor < OPEN_DATA_MIN_COUNT:
                raise ValueError(
                    f"aggregation.suppress_below: open data suppresses counts under "
                    f"{OPEN_DATA_MIN_COUNT}, got {self.aggregation.suppress_below}"
                )
        elif self.retention_days is None:
            raise ValueError("retention_days: required unless open_data")
        if self.delivery.kind is DeliveryKind.FILES:
            if not self.frequency:
                raise ValueError("frequency: required for a files delivery")
            if not self.reads:
                raise ValueError("reads: required for a files delivery (the model it reads)")
        else:
            if self.level is not Level.IDENTIFIED:
                raise ValueError("delivery.kind: api serves identified products only")
            if self.frequency or self.reads or self.row_filter:
                raise ValueError(
                    "an api product has no frequency, reads or row_filter: it answers lookups "
                    "of one citizen in the population database"
                )
        if self.row_filter is not None and ";" in self.row_filter:
            raise ValueError("row_filter: one SQL condition, no ';'")
        return self

    @property
    def columns(self) -> list[str]:
        """The columns a delivery's file holds (the elements the registry grants the
        consumer): the elements (identified), or the group-by dimensions and the count
        (aggregated). The change column of a changes file is not one of them."""
        if self.aggregation is None:
            return list(self.elements)
        return [d.column or d.element for d in self.aggregation.group_by] + [MEASURE_COLUMN]

    def cite(self) -> str:
        """The legal basis as one line, or why none is needed."""
        if self.legal_basis is None:
            return "no legal basis needed: no personal data"
        return self.legal_basis.cite()

    def dictionary_problems(self, elements: dict[str, dict[str, Any]]) -> list[str]:
        """What the product asks that the dictionary or the personal-data rule does not allow
        (module docstring), one message per problem, each naming the element."""
        problems: list[str] = []
        basis = self.legal_basis
        named = set(basis.sensitive_elements) if basis else set()
        for name in sorted(named - set(elements)):
            problems.append(f"legal_basis.sensitive_elements: {name!r} is not in the dictionary")
        for name in self.elements:
            element = elements.get(name)
            if element is None:
                problems.append(f"elements: {name!r} is not in the dictionary")
                continue
            klass = element["personal_data"]
            if self.level is Level.AGGREGATED and klass in PERSONAL_CLASSES:
                problems.append(
                    f"elements: {name!r} is {klass} personal data, and an aggregated product "
                    "carries none (publish it as an aggregation.group_by dimension or drop it)"
                )
                continue
            if klass in PERSONAL_CLASSES and basis is None:
                problems.append(
                    f"elements: {name!r} is {klass} personal data: the product needs a "
                    "legal_basis (instrument and article)"
                )
            if klass == "sensitive" and basis is not None and name not in named:
                problems.append(
                    f"elements: {name!r} is sensitive personal data: legal_basis."
                    "sensitive_elements must name it (the basis must allow it explicitly)"
                )
            if self.delivery.kind is DeliveryKind.API and name not in CITIZEN_FIELDS:
                problems.append(
                    f"elements: {name!r} is not a fact the lookup service serves "
                    f"(ndc.sharing.fields: {sorted(CITIZEN_FIELDS)})"
                )
        for name in row_filter_names(self.row_filter or ""):
            if name not in elements:
                problems.append(
                    f"row_filter: {name!r} is not in the dictionary (a row filter compares "
                    f"elements with literals; SQL words allowed: {sorted(ROW_FILTER_WORDS)})"
                )
        for dim in self.aggregation.group_by if self.aggregation else []:
            element = elements.get(dim.element)
            where = f"aggregation.group_by: {dim.element!r}"
            if element is None:
                problems.append(f"{where} is not in the dictionary")
                continue
            klass = element["personal_data"]
            if element["type"] in ("identifier", "text") and klass in PERSONAL_CLASSES:
                problems.append(f"{where} identifies a person ({element['type']}, {klass})")
            if element["type"] in ("date", "timestamp") and not (dim.period or dim.bands):
                problems.append(f"{where} is a date: group it by a period or in bands")
            if (dim.period or dim.bands) and element["type"] not in ("date", "timestamp"):
                if not (dim.bands and element["type"] == "integer"):
                    problems.append(f"{where}: periods and bands are for dates (bands: integers)")
            if klass == "sensitive" and dim.element not in named:
                problems.append(
                    f"{where} is sensitive personal data: only under a legal_basis whose "
                    "sensitive_elements name it"
                )
        return problems


def dictionary_elements() -> dict[str, dict[str, Any]]:
    """The dictionary's data elements by name."""
    from ndc.dictionary.model import elements

    return {element["name"]: element for element in elements()}


def load_product(path: Path, elements: dict[str, dict[str, Any]] | None = None) -> Product:
    """Read, validate and check one sharing registry file against the dictionary."""
    product = read_model(path, Product, SharingError)
    problems = product.dictionary_problems(dictionary_elements() if elements is None else elements)
    if problems:
        raise SharingError(f"{path}: " + "; ".join(problems))
    return product


def load_sharing_registry(directory: Path = SHARING_DIR) -> dict[str, Product]:
    """Every product of the sharing registry, by name, in file-name order."""
    elements = dictionary_elements()
    return {p.stem: load_product(p, elements) for p in sorted(directory.glob("*.yaml"))}


def api_products(products: dict[str, Product], agency: str) -> dict[str, Product]:
    """The products an agency may pull through the lookup service, by name (= purpose)."""
    return {
        name: p
        for name, p in products.items()
        if p.consumer.agency == agency and p.delivery.kind is DeliveryKind.API
    }


def consumers(products: dict[str, Product]) -> dict[str, str]:
    """Every consumer agency of the registry: id -> name."""
    return {p.consumer.agency: p.consumer.name for p in products.values()}
