"""Extract source entities in bounded chunks to Parquet batches in the landing zone.

Every source column lands as text exactly as received (the warehouse's raw layer is text;
dbt staging casts), plus ``_source_row``: the 1-based row number in the source file or
extraction, so a quarantined row can be traced back to its origin.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import hashlib
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ndc.landing import LandingZone, Manifest, batch_key
from ndc.registry import Entity, Mode, Source, SourceKind

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 50_000
SOURCE_ROW = "_source_row"


class ExtractError(RuntimeError):
    """A source could not be read; the message names the source, file and row."""


@dataclass
class ExtractResult:
    source: str
    landed: list[Manifest] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # batch ids already landed
    errors: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(m.rows_landed for m in self.landed)

    def summary(self) -> str:
        return (
            f"{self.source}: {len(self.landed)} batch(es) landed ({self.rows} rows), "
            f"{len(self.skipped)} already landed, {len(self.errors)} error(s)"
        )


def _schema(columns: list[str]) -> pa.Schema:
    return pa.schema([(c, pa.string()) for c in columns] + [(SOURCE_ROW, pa.int64())])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def land_batch(
    landing: LandingZone,
    source: str,
    entity: Entity,
    day: str,
    batch_id: str,
    chunks: Iterable[pa.RecordBatch],
    **manifest_fields,
) -> Manifest:
    """Write record batches to one Parquet file, land it, then land its manifest."""
    schema = _schema(entity.columns)
    key = batch_key(source, entity.name, day, batch_id)
    with tempfile.TemporaryDirectory(prefix="ndc-extract-") as tmp:
        path = Path(tmp) / "batch.parquet"
        extracted = 0
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            for chunk in chunks:
                extracted += chunk.num_rows
                writer.write_batch(chunk)
        landed = pq.ParquetFile(path).metadata.num_rows
        manifest = Manifest(
            source=source,
            entity=entity.name,
            batch_id=batch_id,
            key=key,
            rows_extracted=extracted,
            rows_landed=landed,
            sha256=_sha256(path),
            columns=list(entity.columns),
            extracted_at=day,
            **manifest_fields,
        )
        landing.put_file(key, path)
    landing.write_manifest(manifest)
    log.info("landed %s: %d rows -> %s", batch_id, landed, landing.uri(key))
    return manifest


# --- files -----------------------------------------------------------------------------


def detect_encoding(path: Path, candidates: list[str]) -> str:
    """The first candidate encoding that decodes the whole file (read in bounded blocks)."""
    for name in candidates:
        decoder = codecs.getincrementaldecoder(name)()
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return name
    raise ExtractError(f"{path.name}: not readable in any declared encoding {candidates}")


def _record_batch(columns: list[list], rows, schema: pa.Schema) -> pa.RecordBatch:
    arrays = [pa.array(values, pa.string()) for values in columns]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(rows, pa.int64())], schema=schema)


def _csv_chunks(
    path: Path, source: str, entity: Entity, encoding: str, delimiter: str, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    schema = _schema(entity.columns)
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise ExtractError(f"{source}: {path.name}: empty file, expected a header row")
        header = [h.strip().lstrip("\ufeff") for h in header]
        missing = [c for c in entity.columns if c not in header]
        if missing:
            raise ExtractError(
                f"{source}: {path.name}: missing column(s) {missing}; header is {header}"
            )
        index = [header.index(c) for c in entity.columns]
        buffer: list[list[str | None]] = [[] for _ in entity.columns]
        rows: list[int] = []
        for row_no, record in enumerate(reader, start=1):
            if len(record) != len(header):
                raise ExtractError(
                    f"{source}: {path.name}: row {row_no} (line {reader.line_num}) has "
                    f"{len(record)} fields, the header has {len(header)}"
                )
            for out, i in zip(buffer, index, strict=True):
                value = record[i]
                out.append(value if value != "" else None)
            rows.append(row_no)
            if len(rows) >= chunk_rows:
                yield _record_batch(buffer, rows, schema)
                buffer = [[] for _ in entity.columns]
                rows = []
        if rows:
            yield _record_batch(buffer, rows, schema)


def extract_files(
    source: Source,
    inbox: Path,
    landing: LandingZone,
    day: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ExtractResult:
    """Land every new file of the inbox; a file already landed (same bytes) is skipped.

    A bad file is reported and the others are still landed; the caller fails the run when
    ``errors`` is not empty.
    """
    assert source.kind is SourceKind.FILES and source.files is not None
    result = ExtractResult(source.name)
    if not inbox.is_dir():
        raise ExtractError(f"{source.name}: inbox folder {inbox} does not exist")
    names = sorted(p.name for p in inbox.iterdir() if p.is_file())
    for entity in source.entities:
        landed = landing.landed_batch_ids(source.name, entity.name)
        for name in (n for n in names if fnmatch.fnmatch(n, entity.pattern or "")):
            path = inbox / name
            digest = _sha256(path)
            # Same name and bytes -> same batch: landed once. Changed bytes -> a new batch.
            batch_id = f"{path.stem}-{digest[:12]}"
            if batch_id in landed:
                result.skipped.append(batch_id)
                continue
            try:
                encoding = detect_encoding(path, source.files.encodings)
                chunks = _csv_chunks(
                    path, source.name, entity, encoding, source.files.delimiter, chunk_rows
                )
                manifest = land_batch(
                    landing,
                    source.name,
                    entity,
                    day,
                    batch_id,
                    chunks,
                    source_file=name,
                    source_sha256=digest,
                    encoding=encoding,
                )
            except (ExtractError, csv.Error, UnicodeDecodeError) as exc:
                message = str(exc) if isinstance(exc, ExtractError) else f"{name}: {exc}"
                if not message.startswith(source.name):
                    message = f"{source.name}: {message}"
                log.error("%s", message)
                result.errors.append(message)
                continue
            result.landed.append(manifest)
    return result


# --- sql ---------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _sql_chunks(
    result, entity: Entity, chunk_rows: int, first_row: int = 1
) -> Iterator[pa.RecordBatch]:
    schema = _schema(entity.columns)
    row_no = first_row
    while rows := result.fetchmany(chunk_rows):
        columns = [[_text(v) for v in col] for col in zip(*rows, strict=True)]
        yield _record_batch(columns, range(row_no, row_no + len(rows)), schema)
        row_no += len(rows)


def _quote(engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def extract_sql(
    source: Source,
    url: str,
    landing: LandingZone,
    day: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ExtractResult:
    """Land each entity of a SQL source: a full snapshot, or rows past the last watermark."""
    import sqlalchemy as sa

    result = ExtractResult(source.name)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for entity in source.entities:
                try:
                    manifest = _extract_entity(
                        conn, engine, source, entity, landing, day, chunk_rows
                    )
                except sa.exc.SQLAlchemyError as exc:
                    message = f"{source.name}.{entity.name}: query failed: {exc!r}"
                    log.error("%s", message)
                    result.errors.append(message)
                    continue
                if manifest is None:
                    result.skipped.append(entity.name)
                else:
                    result.landed.append(manifest)
    except sa.exc.OperationalError as exc:
        raise ExtractError(f"{source.name}: cannot connect to {engine.url!r}: {exc}") from exc
    finally:
        engine.dispose()
    return result


def _extract_entity(conn, engine, source, entity, landing, day, chunk_rows) -> Manifest | None:
    import sqlalchemy as sa

    cols = ", ".join(_quote(engine, c) for c in entity.columns)
    table = _quote(engine, entity.table)
    order = ", ".join(_quote(engine, c) for c in entity.primary_key)
    if entity.mode is Mode.FULL:
        batch_id = f"{entity.name}-{day}"
        query = sa.text(f"select {cols} from {table} order by {order}")
        params: dict = {}
        watermark = {}
    else:
        wm = _quote(engine, entity.watermark_column)
        previous = [m.watermark_to for m in landing.latest_manifests(source.name, entity.name)]
        low = max((w for w in previous if w is not None), default=None)
        high = _text(conn.execute(sa.text(f"select max({wm}) from {table}")).scalar())
        if high is None or (low is not None and high <= low):
            log.info("%s.%s: nothing past watermark %s", source.name, entity.name, low)
            return None
        # The batch is named by its watermark range: a retry of the same range lands the
        # same key again instead of a second copy.
        digest = hashlib.sha256(f"{low}|{high}".encode()).hexdigest()[:16]
        batch_id = f"{entity.name}-{digest}"
        where = f"{wm} <= :high" + ("" if low is None else f" and {wm} > :low")
        query = sa.text(f"select {cols} from {table} where {where} order by {wm}, {order}")
        params = {"high": high, "low": low}
        watermark = {
            "watermark_column": entity.watermark_column,
            "watermark_from": low,
            "watermark_to": high,
        }
    rows = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query, params)
    try:
        return land_batch(
            landing,
            source.name,
            entity,
            day,
            batch_id,
            _sql_chunks(rows, entity, chunk_rows),
            **watermark,
        )
    finally:
        rows.close()


def extract_source(source: Source, location: str, landing: LandingZone, day: str) -> ExtractResult:
    """Extract one source: ``location`` is its inbox folder (files) or SQLAlchemy URL (sql)."""
    if source.kind is SourceKind.FILES:
        return extract_files(source, Path(location), landing, day)
    if source.kind is SourceKind.SQL:
        return extract_sql(source, location, landing, day)
    raise ExtractError(f"{source.name}: no extractor for kind {source.kind.value!r} yet")
