"""Batches: Parquet files of text columns written in bounded chunks, landed with a manifest.

A batch holds the entity's declared columns, ``_source_row`` and ``_extra``: per row, the
values of the columns the source sent that the registry does not declare (schema drift), as
the JSON text of an object ``{column: text}`` (:func:`extra_json`), null when the row carries
none. The load copies it into the raw table's ``_extra jsonb``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ndc.landing import LandingZone, Manifest, batch_key
from ndc.registry import EXTRA_COLUMN, Entity
from ndc.reliability.faults import point as fault_point

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 50_000
SOURCE_ROW = "_source_row"
EXTRA = EXTRA_COLUMN


class ExtractError(RuntimeError):
    """A source could not be read; the message names the source, file and row.

    ``reason``: a short code for the kind of problem (``empty_file``, ``missing_columns``,
    ``field_count``, ...), kept with a file set aside (ndc.file_quarantine); ``row``: the
    1-based data row (or line) where it was found, when there is one."""

    def __init__(self, message: str, reason: str = "unreadable", row: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.row = row


class SourceCountError(ExtractError):
    """The source's own count of a batch could not be taken, or disagrees with the rows the
    extractor read (:class:`CountMismatch`): the extract fails, nothing is set aside."""


class CountMismatch(SourceCountError):
    """The source counts another number of rows than the extractor read: the extractor's bug
    (or a source changing under a read that should have been a snapshot), never the input's.
    The batch is not landed and the extract fails; a file is not set aside for it."""

    def __init__(self, source: str, entity: str, where: str, at_source: int, extracted: int):
        super().__init__(
            f"{source}.{entity}: {where}: the source counts {at_source} row(s), the extractor "
            f"read {extracted}: batch not landed (a count mismatch is the extractor's bug: "
            f"{'rows dropped' if extracted < at_source else 'rows read twice'}?)",
            reason="count_mismatch",
        )
        self.at_source, self.extracted = at_source, extracted


@dataclass
class ExtractResult:
    source: str
    landed: list[Manifest] = field(default_factory=list)
    skipped: list[str] = field(
        default_factory=list
    )  # batches already landed / entities with nothing new
    errors: list[str] = field(default_factory=list)  # the run fails on any of these
    # Files set aside (ndc.file_quarantine): reported, not failing the run.
    set_aside: list = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(m.rows_landed for m in self.landed)

    @property
    def set_aside_messages(self) -> list[str]:
        return [r.message for r in self.set_aside]

    def summary(self) -> str:
        lines = [
            f"{self.source}: {len(self.landed)} batch(es) landed ({self.rows} rows), "
            f"{len(self.skipped)} already landed or unchanged, {len(self.set_aside)} file(s) "
            f"set aside, {len(self.errors)} error(s)"
        ]
        lines += [f"  set aside [{r.reason}]: {r.message}" for r in self.set_aside]
        return "\n".join(lines)


def text(value: object) -> str | None:
    """A source value as the text the raw layer keeps."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def extra_text(value: object) -> str | None:
    """An undeclared value as text: as :func:`text`, a JSON object or array (an API record's
    nested field) as its JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return text(value)


def extra_json(names: Iterable[str], values: Iterable[str | None]) -> str | None:
    """A row's ``_extra``: the JSON object {undeclared column: its text value} of the row, in
    the source's column order, null values left out; None when no value is left."""
    found = {n: v for n, v in zip(names, values, strict=True) if v is not None}
    return json.dumps(found, ensure_ascii=False) if found else None


def schema(columns: list[str]) -> pa.Schema:
    return pa.schema(
        [(c, pa.string()) for c in columns] + [(SOURCE_ROW, pa.int64()), (EXTRA, pa.string())]
    )


def _refuse_nul(arrays: list[pa.Array], rows: pa.Array, arrow_schema: pa.Schema) -> None:
    """PostgreSQL text cannot hold a NUL character: a value with one (binary data, UTF-16 read
    as a single-byte encoding) fails here, naming its row and column, not the load's COPY."""
    import pyarrow.compute as pc

    for i, values in enumerate(arrays):
        if values.null_count == len(values):
            continue
        found = pc.match_substring(values, "\x00")
        if pc.any(found).as_py():
            at = pc.index(found, True).as_py()
            row = rows[at].as_py()
            raise ExtractError(
                f"row {row}: column {arrow_schema.field(i).name} holds a NUL character "
                "(binary data?), which the warehouse's text cannot store",
                reason="nul_character",
                row=row,
            )


def record_batch(
    columns: list[list],
    rows: Iterable[int],
    arrow_schema: pa.Schema,
    extra: list[str | None] | None = None,
) -> pa.RecordBatch:
    """A chunk of text columns, their source row numbers and `extra` (each row's
    :func:`extra_json`); without `extra` (no drift) ``_extra`` is a null array, which costs
    next to nothing in the Parquet file and in the load's COPY."""
    arrays = [pa.array(values, pa.string()) for values in columns]
    row_numbers = pa.array(rows, pa.int64())
    _refuse_nul(arrays, row_numbers, arrow_schema)
    extras = (
        pa.nulls(len(row_numbers), pa.string()) if extra is None else pa.array(extra, pa.string())
    )
    return pa.RecordBatch.from_arrays([*arrays, row_numbers, extras], schema=arrow_schema)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def incremental_batch_id(entity: Entity, low: str | None, high: str) -> str:
    """Named by the watermark range: a retry of the same range lands the same key again."""
    return f"{entity.name}-{hashlib.sha256(f'{low}|{high}'.encode()).hexdigest()[:16]}"


def undeclared_columns(
    source: str, entity: Entity, received: Iterable[str], where: str
) -> list[str]:
    """The columns a source sent that the registry does not declare for the entity: schema
    drift, logged as a warning (the task log) and recorded in the batch's manifest
    (``extra["undeclared_columns"]``), from which the load ledger and `ndc report` show it.
    Their values are kept in the raw table's ``_extra`` (not conformed). A declared column the
    source no longer sends fails instead (:func:`missing_columns`)."""
    extra = [c for c in dict.fromkeys(received) if c not in entity.columns]
    warn_drift(source, entity, extra, where)
    return extra


def warn_drift(source: str, entity: Entity, names: list[str], where: str) -> None:
    """The task log's warning of schema drift: `names` sent, not declared."""
    if names:
        log.warning(
            "%s.%s: %s: schema drift: undeclared column(s) %s are kept in raw %s, not "
            "conformed (declare them in include/sources/%s.yaml to conform them)",
            source, entity.name, where, names, EXTRA, source,
        )  # fmt: skip


def missing_columns(source: str, entity: Entity, received: Iterable[str], where: str) -> None:
    """Fail naming source, entity and column when a declared column is not sent."""
    received = set(received)
    missing = [c for c in entity.columns if c not in received]
    if missing:
        raise ExtractError(
            f"{source}.{entity.name}: {where}: declared column(s) {missing} not sent "
            f"(the source has {sorted(received)})",
            reason="missing_columns",
        )


def previous_watermark(landing: LandingZone, source: str, entity: Entity) -> str | None:
    """The highest watermark landed so far for an incremental entity."""
    return max(landing.watermarks(source, entity.name), default=None)


class BatchWriter:
    """Write record batches to a temporary Parquet file, then land it (file, then manifest)."""

    def __init__(self, entity: Entity):
        self.entity = entity
        self.schema = schema(entity.columns)
        self._tmp = tempfile.TemporaryDirectory(prefix="ndc-extract-")
        self.path = Path(self._tmp.name) / "batch.parquet"
        self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.rows = 0

    def _close_writer(self) -> None:
        if self._writer.is_open:
            self._writer.close()

    def write(self, chunk: pa.RecordBatch) -> None:
        if chunk.schema.get_field_index(EXTRA) < 0:  # a caller's chunk without drift
            chunk = chunk.append_column(EXTRA, pa.nulls(chunk.num_rows, pa.string()))
        self.rows += chunk.num_rows
        self._writer.write_batch(chunk)

    def land(
        self,
        landing: LandingZone,
        source: str,
        day: str,
        batch_id: str,
        rows_at_source: int | None = None,
        where: str = "",
        **fields,
    ) -> Manifest:
        """Land the batch; with `rows_at_source` (the source's own count, `where`: the file or
        window it counted) only if it equals the rows written, else :class:`CountMismatch`
        before anything is landed, so a retry extracts the batch again."""
        self._close_writer()
        if rows_at_source is not None and rows_at_source != self.rows:
            raise CountMismatch(
                source, self.entity.name, where or batch_id, rows_at_source, self.rows
            )
        key = batch_key(source, self.entity.name, day, batch_id)
        manifest = Manifest(
            source=source,
            entity=self.entity.name,
            batch_id=batch_id,
            key=key,
            rows_extracted=self.rows,
            rows_landed=pq.ParquetFile(self.path).metadata.num_rows,
            sha256=sha256_file(self.path),
            columns=list(self.entity.columns),
            extracted_at=day,
            rows_at_source=rows_at_source,
            **fields,
        )
        fault_point("extract.land")  # reliability cases strike here (ndc.reliability.faults)
        landing.put_file(key, self.path)
        landing.write_manifest(manifest)  # last: the batch counts as landed from here on
        log.info("landed %s: %d rows -> %s", batch_id, manifest.rows_landed, landing.uri(key))
        return manifest

    def close(self) -> None:
        self._close_writer()
        self._tmp.cleanup()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def land_batch(
    landing: LandingZone,
    source: str,
    entity: Entity,
    day: str,
    batch_id: str,
    chunks: Iterable[pa.RecordBatch],
    source_count: Callable[[], int | None] | None = None,
    where: str = "",
    **fields,
) -> Manifest:
    """Write record batches to one Parquet file, land it, then land its manifest.

    `source_count`, called once every chunk is written (a file is counted only once it has
    been read without error), gives the source's own count of the rows, checked by
    :meth:`BatchWriter.land`."""
    with BatchWriter(entity) as writer:
        for chunk in chunks:
            writer.write(chunk)
        at_source = source_count() if source_count is not None else None
        return writer.land(landing, source, day, batch_id, at_source, where, **fields)
