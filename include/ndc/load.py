"""Load landed batches into ``raw.<source>__<entity>`` with COPY, one transaction per batch."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from ndc.file_quarantine import record_set_aside
from ndc.landing import LandingZone, Manifest, pending_key
from ndc.phones import e164_column, to_e164
from ndc.registry import EXTRA_COLUMN, Source, raw_table
from ndc.reliability.faults import point as fault_point
from ndc.warehouse import connect, ensure_raw_table, hold_off_bootstrap

log = logging.getLogger(__name__)

READ_BATCH_ROWS = 65_536
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")


class LoadError(RuntimeError):
    """A landed batch cannot be loaded as its manifest describes."""


@dataclass
class LoadResult:
    source: str
    loaded: list[tuple[str, int]] = field(default_factory=list)  # (batch_id, rows)
    set_aside: int = 0  # files of the source set aside by its extracts (ops.file_quarantine)

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.loaded)

    def summary(self) -> str:
        aside = f", {self.set_aside} file(s) set aside in all" if self.set_aside else ""
        return f"{self.source}: {len(self.loaded)} batch(es) loaded ({self.rows} rows){aside}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_parquet(
    conn: psycopg.Connection,
    path: Path,
    table: sql.Composable,
    batch_id: str,
    phone_columns: Sequence[str] = (),
) -> int:
    """Stream a Parquet file into ``table`` with COPY; returns the rows copied.

    Record batches are converted to CSV by Arrow (C++) and written straight into the COPY
    stream, so memory stays bounded by a few record batches. Each of `phone_columns` gets a
    column ``<name>_e164`` beside it (ndc.phones). The columns are the Parquet file's own: a
    batch's ``_extra`` (JSON text, quoted like every value) goes into the jsonb column, and a
    batch landed before ``_extra`` existed leaves it null.
    """
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    phones = [c for c in phone_columns if c in names]
    added = [e164_column(c) for c in phones]
    columns = sql.SQL(", ").join(sql.Identifier(n) for n in [*names, *added, "_batch_id"])
    copy = sql.SQL("copy {} ({}) from stdin (format csv)").format(table, columns)
    with conn.cursor() as cur:
        # The queued writer sends to the server from a thread while Arrow converts the next
        # record batch, so conversion and transfer overlap.
        with cur.copy(copy, writer=QueuedLibpqWriter(cur)) as out:
            for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS):
                for column, name in zip(phones, added, strict=True):
                    values = [to_e164(v) for v in batch.column(column).to_pylist()]
                    batch = batch.append_column(name, pa.array(values, pa.string()))
                batch = batch.append_column(
                    "_batch_id", pa.array([batch_id] * batch.num_rows, pa.string())
                )
                sink = pa.BufferOutputStream()
                pacsv.write_csv(batch, sink, _CSV_OPTIONS)
                out.write(sink.getvalue())
                fault_point("load.copy")  # reliability cases strike here
        return cur.rowcount


def undeclared_rows(path: Path) -> int:
    """The rows of a batch file that carry undeclared values (``_extra`` not null): from the
    Parquet statistics, reading the column only for a row group without them; 0 for a batch
    landed before ``_extra`` existed."""
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    if EXTRA_COLUMN not in names:
        return 0
    column = names.index(EXTRA_COLUMN)
    n = 0
    for group in range(parquet.metadata.num_row_groups):
        meta = parquet.metadata.row_group(group)
        stats = meta.column(column).statistics
        if stats is not None and stats.has_null_count:
            n += meta.num_rows - stats.null_count
        else:
            values = parquet.read_row_group(group, columns=[EXTRA_COLUMN]).column(0)
            n += len(values) - values.null_count
    return n


def load_batch(
    conn: psycopg.Connection,
    landing: LandingZone,
    manifest: Manifest,
    phone_columns: Sequence[str] = (),
) -> int:
    """Replace one batch in its raw table and record it in the ledger, in one transaction.

    `phone_columns` (the entity's, from the registry) get an E.164 column each."""
    phones = [c for c in phone_columns if c in manifest.columns]
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
            hold_off_bootstrap(conn)
            columns = [*manifest.columns, *map(e164_column, phones)]
            ensure_raw_table(conn, manifest.source, manifest.entity, columns, phones)
            conn.execute(
                sql.SQL("delete from {} where _batch_id = %s").format(table), (manifest.batch_id,)
            )
            rows = copy_parquet(conn, path, table, manifest.batch_id, phones)
            if rows != manifest.rows_landed:
                raise LoadError(
                    f"{manifest.source}.{manifest.entity} batch {manifest.batch_id}: "
                    f"loaded {rows} rows, the manifest says {manifest.rows_landed} landed"
                )
            conn.execute(
                """
                insert into ops.load_ledger (batch_id, source, entity, landing_key, source_file,
                    sha256, rows_extracted, rows_landed, rows_loaded, watermark_from,
                    watermark_to, extracted_at, undeclared_columns, undeclared_rows,
                    rows_at_source, loaded_at)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
                on conflict (batch_id) do update set
                    landing_key = excluded.landing_key, sha256 = excluded.sha256,
                    rows_extracted = excluded.rows_extracted, rows_landed = excluded.rows_landed,
                    rows_loaded = excluded.rows_loaded, loaded_at = excluded.loaded_at,
                    undeclared_columns = excluded.undeclared_columns,
                    undeclared_rows = excluded.undeclared_rows,
                    rows_at_source = excluded.rows_at_source
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
                    manifest.extra.get("undeclared_columns") or None,
                    undeclared_rows(path),
                    manifest.rows_at_source,
                ),
            )
    log.info("loaded %s: %d rows into raw.%s", manifest.batch_id, rows, table_name)
    return rows


def _backfill_markers(conn: psycopg.Connection, landing: LandingZone, source: Source) -> None:
    """Give every landed batch not yet loaded a pending marker, by listing (and reading) every
    manifest of the source once; from then on the load lists the markers only.

    For landing zones written before the markers existed, and for ``rescan``.
    """
    loaded = dict(
        conn.execute(
            "select batch_id, sha256 from ops.load_ledger where source = %s", (source.name,)
        ).fetchall()
    )
    for entity in source.entities:
        for key in landing.manifests(source.name, entity.name):
            manifest = landing.read_manifest(key)
            if loaded.get(manifest.batch_id) != manifest.sha256:
                landing.put_bytes(pending_key(manifest), manifest.to_json())
    landing.mark_pending_indexed(source.name)


def pending_manifests(
    conn: psycopg.Connection, landing: LandingZone, source: Source, rescan: bool = False
) -> list[Manifest]:
    """Landed batches of a source that the ledger does not hold (with the same bytes).

    Bounded by the new batches: the landing zone's pending markers are listed, not every
    manifest ever written (see ndc.landing). A marker stays until its batch version is in the
    ledger, so a batch whose load failed is found again by the next load. Markers of versions
    the ledger already holds (a load that stopped after its commit) are cleared here.
    """
    if rescan or not landing.pending_indexed(source.name):
        _backfill_markers(conn, landing, source)
    order = {e.name: i for i, e in enumerate(source.entities)}
    markers = [m for m in landing.pending(source.name) if m.entity in order]
    if not markers:
        return []
    loaded = dict(
        conn.execute(
            "select batch_id, sha256 from ops.load_ledger where batch_id = any(%s)",
            ([m.batch_id for m in markers],),
        ).fetchall()
    )
    by_manifest: dict[str, list] = {}
    for marker in markers:
        by_manifest.setdefault(marker.manifest_key, []).append(marker)
    pending = []
    # Oldest day first within each entity, entities in registry order (as landed).
    for key in sorted(by_manifest, key=lambda k: (order[by_manifest[k][0].entity], k)):
        if not landing.exists(key):
            log.info("%s: marked but its manifest is not landed yet; left for later", key)
            continue
        manifest = landing.read_manifest(key)
        if loaded.get(manifest.batch_id) == manifest.sha256:
            landing.clear_pending(manifest)
        else:
            pending.append(manifest)
        for stale in (m for m in by_manifest[key] if m.sha256 != manifest.sha256):
            # Another version of the batch than the one landed now: superseded, or being
            # landed this very moment (marker written, manifest not yet). Kept: it costs a
            # listing entry, while clearing a version being landed would lose it.
            log.info("%s: marker of another version than the manifest's; kept", stale.key)
    return pending


def load_source(
    warehouse_url: str,
    landing: LandingZone,
    source: Source,
    rescan: bool = False,
    role: str | None = None,
) -> LoadResult:
    """Load every landed batch of a source not yet in the warehouse, oldest first.

    One load per source at a time (an advisory lock): batches of a source are then recorded
    in the ledger in the order they commit, which the reconciliation relies on. With a `role`
    (ndc_loader, NDC_WAREHOUSE_LOADER_ROLE) the load runs as it (SET ROLE): it can write raw
    and ops, and read nothing dbt builds.
    """
    result = LoadResult(source.name)
    with connect(warehouse_url, autocommit=True) as conn:
        if role:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        conn.execute("select pg_advisory_lock(hashtext(%s))", (f"ndc.load.{source.name}",))
        result.set_aside = record_set_aside(conn, landing, source.name)
        for manifest in pending_manifests(conn, landing, source, rescan):
            phones = source.entity(manifest.entity).phone_columns
            rows = load_batch(conn, landing, manifest, phones)
            result.loaded.append((manifest.batch_id, rows))
            landing.clear_pending(manifest)
    return result
