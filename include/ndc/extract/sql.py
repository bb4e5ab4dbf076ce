"""SQL sources: a full snapshot, or the rows past the last landed watermark, in chunks.

The table's columns are read first: a declared column it lacks fails the entity, and the
columns it has beyond the declared ones (schema drift) are selected too, their values kept in
the batch's ``_extra``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pyarrow as pa

from ndc.extract.batch import (
    DEFAULT_CHUNK_ROWS,
    ExtractError,
    ExtractResult,
    extra_json,
    extra_text,
    incremental_batch_id,
    land_batch,
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


def _chunks(result, entity: Entity, chunk_rows: int, drift: list[str]) -> Iterator[pa.RecordBatch]:
    """Rows of (declared columns..., `drift` columns...) as record batches."""
    arrow_schema = schema(entity.columns)
    n = len(entity.columns)
    row_no = 1
    while rows := result.fetchmany(chunk_rows):
        declared = [row[:n] for row in rows] if drift else rows
        columns = [[text(v) for v in col] for col in zip(*declared, strict=True)]
        extra = None
        if drift:
            extra = [extra_json(drift, [extra_text(v) for v in row[n:]]) for row in rows]
        yield record_batch(columns, range(row_no, row_no + len(rows)), arrow_schema, extra)
        row_no += len(rows)


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
    if entity.mode is Mode.FULL:
        batch_id = f"{entity.name}-{day}"
        where = "true"
        params: dict = {}
        watermark: dict = {}
        window = f"table {entity.table} (full snapshot)"
    else:
        wm = quote(entity.watermark_column)
        low = previous_watermark(landing, source.name, entity)
        high = text(conn.execute(sa.text(f"select max({wm}) from {table}")).scalar())
        if high is None or (low is not None and high <= low):
            log.info("%s.%s: nothing past watermark %s", source.name, entity.name, low)
            return None
        batch_id = incremental_batch_id(entity, low, high)
        where = f"{wm} <= :high" + ("" if low is None else f" and {wm} > :low")
        order = f"{wm}, {order}"
        params = {"high": high, "low": low}
        span = f"<= {high}" if low is None else f"in ({low}, {high}]"
        window = f"table {entity.table} where {entity.watermark_column} {span}"
        watermark = {
            "watermark_column": entity.watermark_column,
            "watermark_from": low,
            "watermark_to": high,
        }
    # The source's own count of the window, by a query apart from the extractor's, in the same
    # transaction (snapshot_engine): what the landed batch must hold.
    at_source = conn.execute(sa.text(f"select count(*) from {table} where {where}"), params)
    at_source = int(at_source.scalar())
    query = sa.text(f"select {cols} from {table} where {where} order by {order}")
    rows = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query, params)
    try:
        return land_batch(
            landing,
            source.name,
            entity,
            day,
            batch_id,
            _chunks(rows, entity, chunk_rows, drift),
            source_count=lambda: at_source,
            where=window,
            extra={"undeclared_columns": drift} if drift else {},
            **watermark,
        )
    finally:
        rows.close()
