"""Load landed batches into ``raw.<source>__<entity>`` with COPY, one transaction per batch."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from ndc.landing import LandingZone, Manifest
from ndc.registry import Source, raw_table
from ndc.warehouse import connect, ensure_raw_table

log = logging.getLogger(__name__)

READ_BATCH_ROWS = 65_536
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")


class LoadError(RuntimeError):
    """A landed batch cannot be loaded as its manifest describes."""


@dataclass
class LoadResult:
    source: str
    loaded: list[tuple[str, int]] = field(default_factory=list)  # (batch_id, rows)

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.loaded)

    def summary(self) -> str:
        return f"{self.source}: {len(self.loaded)} batch(es) loaded ({self.rows} rows)"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_parquet(conn: psycopg.Connection, path: Path, table: sql.Composable, batch_id: str) -> int:
    """Stream a Parquet file into ``table`` with COPY; returns the rows copied.

    Record batches are converted to CSV by Arrow (C++) and written straight into the COPY
    stream, so memory stays bounded by a few record batches.
    """
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    columns = sql.SQL(", ").join(sql.Identifier(n) for n in [*names, "_batch_id"])
    copy = sql.SQL("copy {} ({}) from stdin (format csv)").format(table, columns)
    with conn.cursor() as cur:
        # The queued writer sends to the server from a thread while Arrow converts the next
        # record batch, so conversion and transfer overlap.
        with cur.copy(copy, writer=QueuedLibpqWriter(cur)) as out:
            for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS):
                batch = batch.append_column(
                    "_batch_id", pa.array([batch_id] * batch.num_rows, pa.string())
                )
                sink = pa.BufferOutputStream()
                pacsv.write_csv(batch, sink, _CSV_OPTIONS)
                out.write(sink.getvalue())
        return cur.rowcount


def load_batch(conn: psycopg.Connection, landing: LandingZone, manifest: Manifest) -> int:
    """Replace one batch in its raw table and record it in the ledger, in one transaction."""
    table_name = raw_table(manifest.source, manifest.entity)
    table = sql.SQL("raw.{}").format(sql.Identifier(table_name))
    with landing.local_path(manifest.key) as path:
        digest = _sha256(path)
        if digest != manifest.sha256:
            raise LoadError(
                f"{manifest.source}.{manifest.entity} batch {manifest.batch_id}: "
                f"{landing.uri(manifest.key)} has sha256 {digest}, "
                f"the manifest says {manifest.sha256}"
            )
        with conn.transaction():
            ensure_raw_table(conn, manifest.source, manifest.entity, manifest.columns)
            conn.execute(
                sql.SQL("delete from {} where _batch_id = %s").format(table), (manifest.batch_id,)
            )
            rows = copy_parquet(conn, path, table, manifest.batch_id)
            if rows != manifest.rows_landed:
                raise LoadError(
                    f"{manifest.source}.{manifest.entity} batch {manifest.batch_id}: "
                    f"loaded {rows} rows, the manifest says {manifest.rows_landed} landed"
                )
            conn.execute(
                """
                insert into ops.load_ledger (batch_id, source, entity, landing_key, source_file,
                    sha256, rows_extracted, rows_landed, rows_loaded, watermark_from,
                    watermark_to, extracted_at, loaded_at)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
                on conflict (batch_id) do update set
                    landing_key = excluded.landing_key, sha256 = excluded.sha256,
                    rows_extracted = excluded.rows_extracted, rows_landed = excluded.rows_landed,
                    rows_loaded = excluded.rows_loaded, loaded_at = excluded.loaded_at
                """,
                (
                    manifest.batch_id,
                    manifest.source,
                    manifest.entity,
                    manifest.key,
                    manifest.source_file,
                    manifest.sha256,
                    manifest.rows_extracted,
                    manifest.rows_landed,
                    rows,
                    manifest.watermark_from,
                    manifest.watermark_to,
                    manifest.extracted_at,
                ),
            )
    log.info("loaded %s: %d rows into raw.%s", manifest.batch_id, rows, table_name)
    return rows


def pending_manifests(
    conn: psycopg.Connection, landing: LandingZone, source: Source
) -> list[Manifest]:
    """Landed batches of a source that the ledger does not hold (with the same bytes)."""
    loaded = dict(
        conn.execute(
            "select batch_id, sha256 from ops.load_ledger where source = %s", (source.name,)
        ).fetchall()
    )
    pending = []
    for entity in source.entities:
        for key in landing.manifests(source.name, entity.name):
            manifest = landing.read_manifest(key)
            if loaded.get(manifest.batch_id) != manifest.sha256:
                pending.append(manifest)
    return pending


def load_source(warehouse_url: str, landing: LandingZone, source: Source) -> LoadResult:
    """Load every landed batch of a source not yet in the warehouse, oldest first."""
    result = LoadResult(source.name)
    with connect(warehouse_url, autocommit=True) as conn:
        for manifest in pending_manifests(conn, landing, source):
            result.loaded.append((manifest.batch_id, load_batch(conn, landing, manifest)))
    return result
