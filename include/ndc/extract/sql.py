"""SQL sources: a full snapshot, or the rows past the last landed watermark, in chunks.

The table's columns are read first: a declared column it lacks fails the entity, and the
columns it has beyond the declared ones (schema drift) are selected too, their values kept in
the batch's ``_extra``."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyarrow as pa

from ndc.extract.batch import (
    DEFAULT_CHUNK_ROWS,
    BatchWriter,
    ExtractError,
    ExtractResult,
    extra_json,
    extra_text,
    incremental_batch_id,
    missing_columns,
    previous_watermark,
    record_batch,
    schema,
    text,
    undeclared_columns,
)
from ndc.landing import LandingZone, Manifest
from ndc.registry import Entity, Mode, Source

log = logging.getLogger(__name__)

# How far below its watermark an incremental extract reads again (seconds; 0: not at all):
# rows a source commits late, stamped before the highest watermark the last extract saw (a
# transaction that set updated_at when it began), land with the next run instead of never.
LOOKBACK_S = int(os.environ.get("NDC_SQL_WATERMARK_LOOKBACK_S", "3600"))


def _chunks(
    result,
    entity: Entity,
    chunk_rows: int,
    drift: list[str],
    skip: frozenset[tuple] = frozenset(),
    digest=None,
    state: dict | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows of (declared columns..., `drift` columns...) as record batches; a row whose
    declared values (as text) are in `skip` is left out (landed already; counted in
    ``state["skipped"]``), the others are fed to `digest` (a hashlib object) when one is
    given."""
    arrow_schema = schema(entity.columns)
    n = len(entity.columns)
    row_no = 1
    while rows := result.fetchmany(chunk_rows):
        if skip or digest is not None:
            kept = []
            for row in rows:
                values = tuple(text(v) for v in row[:n])
                if values in skip:
                    if state is not None:
                        state["skipped"] = state.get("skipped", 0) + 1
                    continue
                if digest is not None:
                    digest.update(repr(values).encode())
                kept.append(row)
            rows = kept
            if not rows:
                continue
        declared = [row[:n] for row in rows] if drift else rows
        columns = [[text(v) for v in col] for col in zip(*declared, strict=True)]
        extra = None
        if drift:
            extra = [extra_json(drift, [extra_text(v) for v in row[n:]]) for row in rows]
        yield record_batch(columns, range(row_no, row_no + len(rows)), arrow_schema, extra)
        row_no += len(rows)


def lookback_floor(low: str | None, seconds: int | None = None) -> str | None:
    """The watermark `seconds` (NDC_SQL_WATERMARK_LOOKBACK_S) below `low`, in the text form
    of `low`; None without a look-back or when the watermark is not a timestamp."""
    seconds = LOOKBACK_S if seconds is None else seconds
    if low is None or seconds <= 0:
        return None
    try:
        at = datetime.fromisoformat(low)
    except ValueError:
        return None
    return (at - timedelta(seconds=seconds)).isoformat(sep="T" if "T" in low else " ")


def landed_rows_since(landing: LandingZone, source: str, entity: Entity, floor: str) -> frozenset:
    """The declared values (as text) of every landed row whose watermark is past `floor`: the
    rows the look-back must not land again."""
    import pyarrow.parquet as pq

    wm = entity.watermark_column
    rows: set[tuple] = set()
    for key in landing.manifests(source, entity.name):
        manifest = landing.read_manifest(key)
        if manifest.watermark_to is None or manifest.watermark_to <= floor:
            continue
        with landing.local_path(manifest.key) as path:
            table = pq.read_table(path, columns=list(entity.columns), filters=[(wm, ">", floor)])
        rows.update(zip(*(table.column(c).to_pylist() for c in entity.columns), strict=True))
    return frozenset(rows)


def extract_sql(
    source: Source,
    url: str,
    landing: LandingZone,
    day: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ExtractResult:
    """Land each entity of a SQL source; a failing entity is reported, the others still land."""
    import sqlalchemy as sa

    result = ExtractResult(source.name)
    engine = snapshot_engine(url)
    try:
        with engine.connect() as conn:
            for entity in source.entities:
                try:
                    manifest = _extract_entity(conn, source, entity, landing, day, chunk_rows)
                except sa.exc.SQLAlchemyError as exc:
                    message = (
                        f"{source.name}.{entity.name}: table {entity.table}: query failed: {exc!r}"
                    )
                    log.error("%s", message)
                    result.errors.append(message)
                    conn.rollback()
                    continue
                except ExtractError as exc:  # a declared column the table no longer has
                    message = str(exc)
                    if not message.startswith(source.name):
                        message = f"{source.name}.{entity.name}: table {entity.table}: {message}"
                    log.error("%s", message)
                    result.errors.append(message)
                    conn.rollback()
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


def snapshot_engine(url: str):
    """An engine whose transactions read one snapshot, so the count of an entity's window
    (:func:`_extract_entity`) and its rows agree while the source is being written:
    REPEATABLE READ on PostgreSQL and MariaDB/MySQL; on SQLite a real ``BEGIN`` (pysqlite
    issues none before a SELECT, so each statement would read on its own), SQLAlchemy's
    recipe for it."""
    import sqlalchemy as sa

    backend = sa.engine.make_url(url).get_backend_name()
    if backend in ("postgresql", "mysql", "mariadb"):
        return sa.create_engine(url, isolation_level="REPEATABLE READ")
    engine = sa.create_engine(url)
    if backend == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


def _extract_entity(conn, source, entity, landing, day, chunk_rows) -> Manifest | None:
    import sqlalchemy as sa

    quote = conn.engine.dialect.identifier_preparer.quote
    where_from = f"table {entity.table}"
    received = [c["name"] for c in sa.inspect(conn).get_columns(entity.table)]
    missing_columns(source.name, entity, received, where_from)
    drift = undeclared_columns(source.name, entity, received, where_from)
    cols = ", ".join(quote(c) for c in [*entity.columns, *drift])
    table = quote(entity.table)
    order = ", ".join(quote(c) for c in entity.primary_key)
    floor, late_only, skip = None, False, frozenset()
    if entity.mode is Mode.FULL:
        batch_id = f"{entity.name}-{day}"
        where = "true"
        params: dict = {}
        watermark: dict = {}
        window = f"table {entity.table} (full snapshot)"
    else:
        wm = quote(entity.watermark_column)
        low = previous_watermark(landing, source.name, entity)
        # Rows a source commits late, stamped at or before the watermark the last extract
        # reached, are read again from `floor` (the look-back) and landed when no batch holds
        # them; without a look-back a run with nothing past the watermark stops here.
        floor = lookback_floor(low)
        high = text(conn.execute(sa.text(f"select max({wm}) from {table}")).scalar())
        if high is None or (low is not None and high <= low and floor is None):
            log.info("%s.%s: nothing past watermark %s", source.name, entity.name, low)
            return None
        late_only = low is not None and high <= low  # only the look-back can hold new rows
        top = low if late_only else high
        since = floor if floor is not None else low
        batch_id = incremental_batch_id(entity, low, top)
        where = f"{wm} <= :high" + ("" if since is None else f" and {wm} > :low")
        order = f"{wm}, {order}"
        params = {"high": top, "low": since}
        span = f"<= {top}" if low is None else f"in ({low}, {top}]"
        if floor is not None:
            span += f", and in ({floor}, {low}] the rows no landed batch holds"
        window = f"table {entity.table} where {entity.watermark_column} {span}"
        if floor is not None:
            skip = landed_rows_since(landing, source.name, entity, floor)
        watermark = {
            "watermark_column": entity.watermark_column,
            "watermark_from": low,
            "watermark_to": top,
        }
    # The source's own count of the window, by a query apart from the extractor's, in the same
    # transaction (snapshot_engine): what the landed batch must hold, less the rows of the
    # look-back that a batch holds already (left out, counted as they are read).
    at_source = conn.execute(sa.text(f"select count(*) from {table} where {where}"), params)
    at_source = int(at_source.scalar())
    query = sa.text(f"select {cols} from {table} where {where} order by {order}")
    state = {"skipped": 0}
    digest = hashlib.sha256() if late_only else None
    rows = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query, params)
    try:
        with BatchWriter(entity) as writer:
            for chunk in _chunks(rows, entity, chunk_rows, drift, skip, digest, state):
                writer.write(chunk)
            if late_only:
                if writer.rows == 0:
                    log.info("%s.%s: nothing past watermark %s", source.name, entity.name, low)
                    return None
                # Late rows alone (the watermark did not move): named by their content too,
                # as another run may find other late rows under the same watermark.
                batch_id = incremental_batch_id(entity, low, f"{top}#{digest.hexdigest()[:16]}")
                log.warning(
                    "%s.%s: %d row(s) committed late, stamped at or before watermark %s: landed",
                    source.name, entity.name, writer.rows, low,
                )  # fmt: skip
            return writer.land(
                landing,
                source.name,
                day,
                batch_id,
                at_source - state["skipped"],
                window,
                extra={"undeclared_columns": drift} if drift else {},
                **watermark,
            )
    finally:
        rows.close()
