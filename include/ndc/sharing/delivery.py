"""Deliveries of the files products (`include/sharing/<product>.yaml`, `delivery.kind: files`):
what changed since the consumer's last delivery, or a full snapshot, to the consumer's landing
area, recorded in ``ops.sharing_log``.

A delivery evaluates the product in the warehouse (only the registry's elements, or its
aggregation, from ``marts.<reads>`` under its row filter), compares it with what the consumer
holds (``ops.sharing_state``: a key and a hash per row delivered) and writes one data file
(Parquet or CSV) and its manifest (``<product>__<delivery_id>.<ext>`` and
``.manifest.json``). A changes file has one more column, ``_change``: ``added``, ``changed``
or ``removed`` (a removed row carries only its key). A delivery with no change writes an
empty changes file: the consumer can tell "nothing changed" from "nothing arrived".
The consumer's first delivery is a full snapshot.

Idempotent: the delivery id is the product's period of the delivery's reference time
(``2026-12-06`` for a daily product, ``2026-12`` for a monthly one; ``-full`` appended for a
snapshot on request). A delivery already in the log is not made again; one that failed before
its log row was committed is made again from the same state, writing the same keys (and the
same bytes while the marts are unchanged). The log row and the new state commit together,
after the files are written.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from ndc.landing import LandingZone, open_landing_zone
from ndc.sharing.registry import (
    MEASURE_COLUMN,
    DeliveryKind,
    GroupBy,
    Level,
    Product,
    dictionary_elements,
    period_unit,
)
from ndc.warehouse import connect

CHANGE_COLUMN = "_change"
_CHUNK = 50_000

SHARING_DDL = """
create schema if not exists ops;
create table if not exists ops.sharing_log (
    product text not null,
    delivery_id text not null,
    consumer text not null,
    legal_basis text not null,
    purpose text not null,
    kind text not null check (kind in ('full', 'changes')),
    as_of timestamptz not null,  -- the delivery's reference time (the window's end)
    window_from timestamptz,  -- the previous delivery's as_of (changes only)
    rows bigint not null,
    files jsonb not null,  -- [{"key", "uri", "sha256"}], the data file first
    delivered_at timestamptz not null default now(),
    primary key (product, delivery_id)
);
-- The data elements the file holds (its columns, the change column aside): what the quality
-- scorecard's shared/elements_delivered counts. Null on a delivery logged before it was kept.
alter table ops.sharing_log add column if not exists elements text[];
-- What each consumer holds after its last delivery: the key and hash of every row delivered.
create table if not exists ops.sharing_state (
    product text not null,
    consumer text not null,
    row_key jsonb not null,
    row_hash text not null,
    delivery_id text not null,
    primary key (product, consumer, row_key)
);
create or replace function ops.sharing_log_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'ops.sharing_log is append-only: % refused', tg_op;
end
$$;
create or replace trigger sharing_log_append_only before update or delete on ops.sharing_log
    for each row execute function ops.sharing_log_append_only();
create or replace trigger sharing_log_no_truncate before truncate on ops.sharing_log
    for each statement execute function ops.sharing_log_append_only();
"""


class DeliveryError(RuntimeError):
    """A delivery cannot be made; the message names the product and the cause."""


@dataclass(frozen=True)
class DeliveryResult:
    product: str
    consumer: str
    delivery_id: str
    kind: str  # full | changes
    rows: int
    files: list[dict] = field(default_factory=list)  # {"key", "uri", "sha256"}
    already: bool = False  # delivered before: nothing written, nothing logged

    def summary(self) -> str:
        state = "already delivered" if self.already else "delivered"
        where = self.files[0]["uri"] if self.files else "-"
        return (
            f"{self.product} {self.delivery_id}: {state}, {self.kind}, {self.rows} row(s) "
            f"to {self.consumer} ({where})"
        )


def ensure_tables(warehouse_url: str) -> None:
    """Create ``ops.sharing_log`` and ``ops.sharing_state`` when missing."""
    with connect(warehouse_url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('ndc.sharing.ddl'))")
        conn.execute(SHARING_DDL)


# -- the period and the delivery id ----------------------------------------------------------


def period_of(frequency: str, as_of: datetime) -> str:
    """The period a delivery at ``as_of`` belongs to, by the product's frequency
    (``registry.period_unit``): a day (``@daily`` and cron expressions), an ISO week, a month
    or a year."""
    unit = period_unit(frequency)
    if unit == "month":
        return as_of.strftime("%Y-%m")
    if unit == "year":
        return as_of.strftime("%Y")
    if unit == "week":
        year, week, _ = as_of.isocalendar()
        return f"{year}-W{week:02d}"
    return as_of.strftime("%Y-%m-%d")


def delivery_id(product: Product, as_of: datetime, full: bool = False) -> str:
    return period_of(product.frequency or "@daily", as_of) + ("-full" if full else "")


# -- the product's query, from the registry ---------------------------------------------------


def bind_current_date(condition: str, as_of: datetime) -> str:
    """The row filter with ``current_date`` as the delivery's reference date (outside quoted
    literals), so a retry selects the same rows whenever it runs."""
    parts = re.split(r"('(?:[^']|'')*')", condition)
    day = f"date '{as_of.date().isoformat()}'"
    return "".join(
        p if p.startswith("'") else re.sub(r"\bcurrent_date\b", day, p, flags=re.I) for p in parts
    )


def band_labels(bands: list[int]) -> list[str]:
    """``[0, 5, 80]`` -> ``['0-4', '5-79', '80+']``."""
    return [f"{lo}-{hi - 1}" for lo, hi in zip(bands, bands[1:], strict=False)] + [f"{bands[-1]}+"]


def _dimension(dim: GroupBy, element_type: str, as_of: datetime) -> sql.Composable:
    col = sql.Identifier(dim.element)
    if dim.period == "month":
        return sql.SQL("to_char({}, 'YYYY-MM')").format(col)
    if dim.period == "year":
        return sql.SQL("to_char({}, 'YYYY')").format(col)
    if dim.bands:
        value: sql.Composable = col
        if element_type in ("date", "timestamp"):
            # Age in whole years at the delivery's reference date.
            value = sql.SQL("date_part('year', age({}, {}))::integer").format(
                sql.Literal(as_of.date()), col
            )
        labels = band_labels(dim.bands)
        whens = [
            sql.SQL("when {} >= {} then {}").format(value, sql.Literal(lo), sql.Literal(label))
            for lo, label in reversed(list(zip(dim.bands, labels, strict=True)))
        ]
        return sql.SQL("case {} end").format(sql.SQL(" ").join(whens))
    return col


@dataclass(frozen=True)
class ProductQuery:
    query: sql.Composable
    columns: list[str]  # the file's columns, in order
    key: list[str]  # the columns that identify a row across deliveries


def product_query(
    product: Product, as_of: datetime, elements: dict[str, dict[str, Any]] | None = None
) -> ProductQuery:
    """The SQL of the product's rows at ``as_of``: only the registry's elements (identified) or
    its group-by dimensions and count (aggregated, small counts suppressed), from
    ``marts.<reads>`` under the row filter."""
    if product.delivery.kind is not DeliveryKind.FILES:
        raise DeliveryError(f"{product.name}: an {product.delivery.kind} product is not delivered")
    elements = elements if elements is not None else dictionary_elements()
    source = sql.Identifier("marts", product.reads)
    where = sql.SQL("")
    if product.row_filter:
        # Checked by the registry: dictionary elements compared with literals, no ';'.
        where = sql.SQL(" where ") + sql.SQL(bind_current_date(product.row_filter, as_of))
    if product.level is Level.IDENTIFIED:
        columns = product.columns
        identifiers = [c for c in columns if elements[c]["type"] == "identifier"]
        query = sql.SQL("select distinct {} from {}{}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), source, where
        )
        return ProductQuery(query, columns, identifiers or columns)
    agg = product.aggregation
    dims = [
        (d.column or d.element, _dimension(d, elements[d.element]["type"], as_of))
        for d in agg.group_by
    ]
    count: sql.Composable = sql.SQL("count(*)")
    if agg.suppress_below:
        # Published as null, never as its value (registry: suppress_below).
        count = sql.SQL("case when count(*) < {} then null else count(*) end").format(
            sql.Literal(agg.suppress_below)
        )
    query = sql.SQL("select {}, {} as {} from {}{} group by {}").format(
        sql.SQL(", ").join(sql.SQL("{} as {}").format(e, sql.Identifier(c)) for c, e in dims),
        count,
        sql.Identifier(MEASURE_COLUMN),
        source,
        where,
        sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(dims))),
    )
    return ProductQuery(query, product.columns, [c for c, _ in dims])


# -- where the files go -----------------------------------------------------------------------


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def delivery_url(product: Product) -> str:
    """``NDC_SHARING_<PRODUCT>_URL``, else the registry's location."""
    return _env(f"NDC_SHARING_{product.name.upper()}_URL") or product.delivery.location


def delivery_target(product: Product, settings=None) -> LandingZone:
    """The consumer's landing area: a folder (relative locations under ``NDC_HOME``) or an S3
    bucket (``NDC_SHARING_<PRODUCT>_S3_ENDPOINT`` / ``_ACCESS_KEY`` / ``_SECRET_KEY``, else
    ``NDC_S3_*``). With no S3 server configured at all (the embedded default: the landing
    zone is a folder too), an ``s3://`` location is the folder
    ``NDC_HOME/sharing/s3/<bucket>/<prefix>``; the log records the URI it went to."""
    from ndc import settings as settings_mod

    s = settings or settings_mod.load()
    url = delivery_url(product)
    if url.startswith("s3://"):
        prefix = f"NDC_SHARING_{product.name.upper()}_S3_"
        endpoint = _env(prefix + "ENDPOINT") or s.s3_endpoint
        access = _env(prefix + "ACCESS_KEY") or s.s3_access_key
        secret = _env(prefix + "SECRET_KEY") or s.s3_secret_key
        if not endpoint:
            return open_landing_zone(str(s.home / "sharing" / "s3" / url.removeprefix("s3://")))
        if not (endpoint and access and secret):
            raise DeliveryError(
                f"{product.name}: delivery to {url}: set {prefix}ENDPOINT, ACCESS_KEY and "
                "SECRET_KEY (or NDC_S3_*)"
            )
        return open_landing_zone(url, endpoint, access, secret)
    if "://" not in url and not Path(url).is_absolute():
        url = str(s.home / url)
    return open_landing_zone(url)


# -- writing the files ------------------------------------------------------------------------


def _arrow_type(pg_type: str):
    import pyarrow as pa

    if pg_type == "date":
        return pa.date32()
    if pg_type == "boolean":
        return pa.bool_()
    if pg_type in ("integer", "bigint", "smallint"):
        return pa.int64()
    return pa.string()


def _write(cursor: psycopg.Cursor, path: Path, fmt: str, columns: list[tuple[str, str]]) -> int:
    """Stream the cursor's rows to ``path`` (CSV with a header, or Parquet); the row count."""
    rows = 0
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([name for name, _ in columns])
            while chunk := cursor.fetchmany(_CHUNK):
                writer.writerows(
                    ["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in r]
                    for r in chunk
                )
                rows += len(chunk)
        return rows
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(t)) for name, t in columns])
    with pq.ParquetWriter(path, schema) as writer:
        while chunk := cursor.fetchmany(_CHUNK):
            arrays = [
                pa.array(values, f.type)
                for values, f in zip(zip(*chunk, strict=True), schema, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += len(chunk)
        if rows == 0:
            writer.write_table(schema.empty_table())
    return rows


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# -- the delivery -----------------------------------------------------------------------------


def _read_columns(conn: psycopg.Connection, product: Product) -> dict[str, str]:
    rows = conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped",
        (f"marts.{product.reads}",),
    ).fetchall()
    return dict(rows)


def _check_readable(conn: psycopg.Connection, product: Product) -> None:
    from ndc.sharing.registry import row_filter_names

    available = _read_columns(conn, product)
    if not available:
        raise DeliveryError(f"{product.name}: marts.{product.reads} does not exist (run dbt)")
    wanted = [
        *product.elements,
        *(d.element for d in (product.aggregation.group_by if product.aggregation else [])),
        *row_filter_names(product.row_filter or ""),
    ]
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise DeliveryError(f"{product.name}: marts.{product.reads} has no column {missing}")


def _stage_current(
    conn: psycopg.Connection, product: Product, as_of: datetime
) -> tuple[ProductQuery, dict[str, str]]:
    """The product's rows now, with a key and a hash each, in ``_share_current`` (a temporary
    table dropped at commit); the query and the column types."""
    query = product_query(product, as_of)
    key = sql.SQL("jsonb_build_object({})").format(
        sql.SQL(", ").join(
            sql.SQL("{}, q.{}").format(sql.Literal(c), sql.Identifier(c)) for c in query.key
        )
    )
    conn.execute(
        sql.SQL(
            "create temp table _share_current on commit drop as "
            "select q.*, {} as _row_key, md5(row(q.*)::text) as _row_hash from ({}) as q"
        ).format(key, query.query)
    )
    types = conn.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = 'pg_temp._share_current'::regclass and attnum > 0"
    ).fetchall()
    return query, dict(types)


def _rows_sql(product: Product, query: ProductQuery, kind: str) -> sql.Composable:
    """The rows of the file: every current row (full), or those added, changed or removed
    since the consumer's last delivery (a removed row rebuilt from its key: the rest null)."""
    cols = sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(c)) for c in query.columns)
    order = sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(query.key)))
    if kind == "full":
        return sql.SQL("select {} from _share_current as c order by {}").format(cols, order)
    return sql.SQL(
        "select {cols}, case when s.row_key is null then 'added' else 'changed' end "
        "from _share_current as c left join ops.sharing_state as s "
        "on s.product = {p} and s.consumer = {k} and s.row_key = c._row_key "
        "where s.row_hash is distinct from c._row_hash "
        "union all "
        "select {cols}, 'removed' from ops.sharing_state as s "
        "cross join lateral "
        "jsonb_populate_record(null::pg_temp._share_current, s.row_key) as c "
        "where s.product = {p} and s.consumer = {k} "
        "and not exists (select from _share_current as n where n._row_key = s.row_key) "
        "order by {order}"
    ).format(
        cols=cols,
        p=sql.Literal(product.name),
        k=sql.Literal(product.consumer.agency),
        order=order,
    )


def _manifest(product: Product, **delivery: Any) -> bytes:
    """The manifest beside the data file: who, why, what, how many, its sha256; no wall-clock
    time, so a retry writes the same bytes."""
    body = {
        "product": product.name,
        "title": product.title,
        "consumer": {"agency": product.consumer.agency, "name": product.consumer.name},
        "legal_basis": product.legal_basis.model_dump() if product.legal_basis else None,
        "basis": product.cite(),
        "purpose": product.purpose,
        "level": product.level.value,
        "open_data": product.open_data,
        "format": product.delivery.format,
        "suppress_below": product.aggregation.suppress_below if product.aggregation else None,
        "retention_days": product.retention_days,
        **delivery,
    }
    return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True).encode()


def _record(conn: psycopg.Connection, product: Product, delivery: dict, files: list[dict]) -> None:
    """Log the delivery and make the consumer's state the current rows (the caller commits:
    both or neither)."""
    consumer = product.consumer.agency
    conn.execute(
        "insert into ops.sharing_log (product, delivery_id, consumer, legal_basis, purpose,"
        " kind, as_of, window_from, rows, files, elements)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            product.name,
            delivery["delivery_id"],
            consumer,
            product.cite(),
            product.purpose,
            delivery["kind"],
            delivery["window"]["to"],
            delivery["window"]["from"],
            delivery["rows"],
            Jsonb(files),
            [c["name"] for c in delivery["columns"] if c["name"] != CHANGE_COLUMN],
        ),
    )
    conn.execute(
        "delete from ops.sharing_state where product = %s and consumer = %s",
        (product.name, consumer),
    )
    conn.execute(
        "insert into ops.sharing_state (product, consumer, row_key, row_hash, delivery_id) "
        "select %s, %s, _row_key, _row_hash, %s from _share_current",
        (product.name, consumer, delivery["delivery_id"]),
    )


def deliver(
    warehouse_url: str,
    product: Product,
    target: LandingZone,
    as_of: datetime,
    full: bool = False,
) -> DeliveryResult:
    """Make the product's delivery for ``as_of`` (module docstring), unless it is in the log."""
    # A plain UTC datetime (Airflow passes pendulum's; a naive time is taken as UTC).
    as_of = datetime.fromisoformat(as_of.isoformat())
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    ensure_tables(warehouse_url)
    did = delivery_id(product, as_of, full)
    consumer = product.consumer.agency
    with connect(warehouse_url) as conn:
        # One delivery of a product at a time (a DAG run and `ndc share run` together).
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ndc.share.{product.name}",))
        logged = conn.execute(
            "select kind, rows, files from ops.sharing_log where product = %s and delivery_id = %s",
            (product.name, did),
        ).fetchone()
        if logged:
            return DeliveryResult(product.name, consumer, did, *logged, already=True)
        previous = conn.execute(
            "select max(as_of) from ops.sharing_log where product = %s and consumer = %s",
            (product.name, consumer),
        ).fetchone()[0]
        kind = "full" if full or previous is None else "changes"
        _check_readable(conn, product)
        query, types = _stage_current(conn, product, as_of)
        columns = [(c, types[c]) for c in query.columns]
        if kind == "changes":
            columns.append((CHANGE_COLUMN, "text"))
        name = f"{product.name}__{did}"
        data_key, manifest_key = f"{name}.{product.delivery.format}", f"{name}.manifest.json"
        with tempfile.TemporaryDirectory(prefix="ndc-share-") as tmp:
            path = Path(tmp) / data_key
            with conn.cursor(name="share_rows") as cursor:
                cursor.execute(_rows_sql(product, query, kind))
                rows = _write(cursor, path, product.delivery.format, columns)
            sha = _sha256(path)
            target.put_file(data_key, path)
        delivery = {
            "delivery_id": did,
            "kind": kind,
            "window": {
                "from": previous.isoformat() if kind == "changes" else None,
                "to": as_of.isoformat(),
            },
            "file": data_key,
            "columns": [{"name": c, "type": t} for c, t in columns],
            "key": query.key,
            "change_column": CHANGE_COLUMN if kind == "changes" else None,
            "rows": rows,
            "sha256": sha,
        }
        manifest = _manifest(product, **delivery)
        target.put_bytes(manifest_key, manifest)
        files = [
            {"key": data_key, "uri": target.uri(data_key), "sha256": sha},
            {
                "key": manifest_key,
                "uri": target.uri(manifest_key),
                "sha256": hashlib.sha256(manifest).hexdigest(),
            },
        ]
        _record(conn, product, delivery, files)
    return DeliveryResult(product.name, consumer, did, kind, rows, files)


def run_delivery(
    warehouse_url: str,
    name: str,
    as_of: datetime,
    full: bool = False,
    target: LandingZone | None = None,
) -> DeliveryResult:
    """Deliver one registry product by name to its consumer's landing area (the DAG's task and
    ``ndc share run``)."""
    from ndc.settings import SHARING_DIR
    from ndc.sharing.registry import load_product

    product = load_product(SHARING_DIR / f"{name}.yaml")
    if product.delivery.kind is not DeliveryKind.FILES:
        raise DeliveryError(f"{name}: not a files product (delivery.kind {product.delivery.kind})")
    return deliver(warehouse_url, product, target or delivery_target(product), as_of, full)


def last_deliveries(conn: psycopg.Connection) -> list[dict]:
    """The last delivery of every product in ``ops.sharing_log`` (none when it is missing)."""
    if not conn.execute("select to_regclass('ops.sharing_log')").fetchone()[0]:
        return []
    rows = conn.execute(
        "select distinct on (product) product, consumer, delivery_id, kind, rows, delivered_at "
        "from ops.sharing_log order by product, as_of desc, delivered_at desc"
    ).fetchall()
    keys = ("product", "consumer", "delivery_id", "kind", "rows", "delivered_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]
