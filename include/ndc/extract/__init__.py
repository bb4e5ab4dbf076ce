"""Extract source entities in bounded chunks to Parquet batches in the landing zone.

Every source column lands as text exactly as received (the warehouse's raw layer is text;
dbt staging casts), plus ``_source_row``: the 1-based row number in the source file, page
sequence or extraction, so a quarantined row can be traced back to its origin, and
``_extra``: the row's values of the columns the source sent that the registry does not
declare (schema drift, ndc.extract.batch).
"""

from __future__ import annotations

from pathlib import Path

from ndc.extract.batch import (
    DEFAULT_CHUNK_ROWS,
    SOURCE_ROW,
    BatchWriter,
    CountMismatch,
    ExtractError,
    ExtractResult,
    land_batch,
)
from ndc.extract.files import detect_encoding, extract_files
from ndc.extract.sql import extract_sql
from ndc.landing import LandingZone
from ndc.registry import Source, SourceKind

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "SOURCE_ROW",
    "BatchWriter",
    "CountMismatch",
    "ExtractError",
    "ExtractResult",
    "detect_encoding",
    "extract_files",
    "extract_source",
    "extract_sql",
    "land_batch",
]


def extract_source(source: Source, location: str, landing: LandingZone, day: str) -> ExtractResult:
    """Extract one source. ``location``: inbox folder (files), SQLAlchemy URL (sql) or base
    URL (api), as resolved from the source's Airflow connection."""
    if source.kind is SourceKind.FILES:
        return extract_files(source, Path(location), landing, day)
    if source.kind is SourceKind.SQL:
        return extract_sql(source, location, landing, day)
    if source.kind is SourceKind.API:
        from ndc.extract.api import extract_api

        return extract_api(source, location, landing, day)
    raise ExtractError(f"{source.name}: no extractor for kind {source.kind.value!r}")
