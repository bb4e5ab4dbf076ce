"""What the ndc pages of the Airflow UI read from the warehouse: plain functions of a psycopg
connection returning plain data, so they are tested without Airflow or a browser."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ndc.registry import raw_table
from ndc.warehouse import has_column

PAGE_SIZE = 50

UI_ACCESS_LOG_DDL = """
create schema if not exists ops;
create table if not exists ops.ui_access_log (
    id bigserial primary key,
    logged_at timestamptz not null default now(),
    airflow_user text not null,
    page text not null,
    filters jsonb not null default '{}'::jsonb,
    rows_shown integer not null
);
"""


def exists(conn, relation: str) -> bool:
    """True when the table or view ``schema.name`` exists."""
    return conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is not None


def _dicts(cur) -> list[dict]:
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


BATCH_PAGE_SIZE = 100


def _batch_select(conn) -> tuple[str, str]:
    """The select list and from clause of a batch with its reconciliation (null counts
    while not checked)."""
    reconciled = exists(conn, "ops.reconciliation")
    # Rows linked by the linkage step (ndc.linkage.flow): a reconciliation of an older release
    # has no such column.
    linked = (
        "coalesce(r.rows_linked, 0)"
        if reconciled and has_column(conn, "ops", "reconciliation", "rows_linked")
        else "0::bigint"
    )
    # The source's own count (ndc.extract.source_count); null for batches landed before it.
    at_source = (
        "l.rows_at_source"
        if has_column(conn, "ops", "load_ledger", "rows_at_source")
        else "null::bigint as rows_at_source"
    )
    counts = (
        f"r.rows_conformed, r.rows_quarantined, {linked} as rows_linked, r.rows_merged, r.balanced"
        if reconciled
        else "null::bigint as rows_conformed, null::bigint as rows_quarantined,"
        " null::bigint as rows_linked, null::bigint as rows_merged, null::boolean as balanced"
    )
    columns = (
        f"l.batch_id, l.source, l.entity, l.loaded_at, {at_source}, l.rows_extracted, "
        f"l.rows_landed, l.rows_loaded, {counts}"
    )
    joined = "ops.load_ledger l" + (
        " left join ops.reconciliation r using (batch_id)" if reconciled else ""
    )
    return columns, joined


def batches(conn, page: int = 1, size: int = BATCH_PAGE_SIZE) -> list[dict]:
    """A page of the ledger's batches (1-based) in (source, entity, load time) order, each
    with its reconciliation."""
    if not exists(conn, "ops.load_ledger"):
        return []
    columns, joined = _batch_select(conn)
    query = (
        f"select {columns} from {joined} order by l.source, l.entity, l.loaded_at, l.batch_id "
        "limit %s offset %s"
    )
    return _dicts(conn.execute(query, (size, (page - 1) * size)))


def batch_totals(conn) -> tuple[dict[str, dict[str, int]], int]:
    """Per source, its rows loaded, conformed, quarantined, linked and merged over every
    batch; and how many batches there are."""
    if not exists(conn, "ops.load_ledger"):
        return {}, 0
    columns, joined = _batch_select(conn)
    rows = conn.execute(
        f"select source, count(*), sum(rows_loaded), sum(rows_conformed), "
        f"sum(rows_quarantined), sum(rows_linked), sum(rows_merged) "
        f"from (select {columns} from {joined}) b group by source order by source"
    ).fetchall()
    stages = ("loaded", "conformed", "quarantined", "linked", "merged")
    totals = {r[0]: {s: int(v or 0) for s, v in zip(stages, r[2:], strict=True)} for r in rows}
    return totals, sum(r[1] for r in rows)


def batch(conn, batch_id: str) -> dict | None:
    """One batch: its ledger entry (landing key, sha256, source file) and reconciliation."""
    if not exists(conn, "ops.load_ledger"):
        return None
    columns, joined = _batch_select(conn)
    found = _dicts(conn.execute(f"select {columns} from {joined} where batch_id = %s", (batch_id,)))
    if not found:
        return None
    cur = conn.execute(
        "select landing_key, source_file, sha256, watermark_from, watermark_to, extracted_at "
        "from ops.load_ledger where batch_id = %s",
        (batch_id,),
    )
    return found[0] | _dicts(cur)[0]


def reason_codes(conn) -> dict[str, str]:
    """The dictionary's reason codes and what each means (the rule that rejects a row)."""
    if not exists(conn, "dictionary.reason_codes"):
        return {}
    return dict(conn.execute("select code, description from dictionary.reason_codes").fetchall())


@dataclass(frozen=True)
class QuarantineFilter:
    source: str = ""
    entity: str = ""
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


# The distinct values of the leading column(s) of an index, one index probe each (a "skip
# scan" written as a recursive query; PostgreSQL plans none by itself before release 18):
# milliseconds where `select distinct` reads every quarantined row.
_SKIP_SCAN = """
with recursive found as (
    (select {cols} from quarantine.quarantined_rows order by {cols} limit 1)
    union all
    select next.* from found, lateral (
        select {cols} from quarantine.quarantined_rows
        where ({cols}) > ({found_cols}) order by {cols} limit 1
    ) next
)
select * from found
"""


def _distinct(conn, columns: tuple[str, ...]) -> list[tuple]:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    found = sql.SQL(", ").join(sql.Identifier("found", c) for c in columns)
    query = sql.SQL(_SKIP_SCAN).format(cols=cols, found_cols=found)
    if len(columns) == 1:
        # A one-column row comparison is not a row: compare the values themselves.
        query = sql.SQL(_SKIP_SCAN.replace("({cols}) > ({found_cols})", "{cols} > {found_cols}"))
        query = query.format(cols=cols, found_cols=found)
    return conn.execute(query).fetchall()


def quarantine_facets(conn) -> dict[str, list[str]]:
    """The sources, entities and reason codes present, for the filter's choices."""
    if not exists(conn, "quarantine.quarantined_rows"):
        return {"source": [], "entity": [], "reason": []}
    pairs = _distinct(conn, ("source", "entity"))
    return {
        "source": sorted({s for s, _ in pairs}),
        "entity": sorted({e for _, e in pairs}),
        "reason": [r for (r,) in _distinct(conn, ("reason_code",))],
    }


def rejection(conn, source: str, entity: str, batch_id: str, source_row: int) -> dict | None:
    """Why a row is in quarantine (its first reason), or None when it is not there."""
    if not exists(conn, "quarantine.quarantined_rows"):
        return None
    cur = conn.execute(
        "select source, entity, _batch_id, _source_row, record_key, reason_code, field, value "
        "from quarantine.quarantined_rows where _batch_id = %s and _source_row = %s "
        "and source = %s and entity = %s order by reason_code limit 1",
        (batch_id, source_row, source, entity),
    )
    rows = _dicts(cur)
    return rows[0] if rows else None


def quarantine_page(
    conn, where: QuarantineFilter, after: tuple[str, int] | None = None, size: int = PAGE_SIZE
) -> tuple[list[dict], int]:
    """A page of quarantined rows in (batch, row) order after the keyset ``after``, and how
    many rows match the filter. Keyset paging on the table's ``(_batch_id, _source_row)``
    key: every page costs the same, however deep."""
    if not exists(conn, "quarantine.quarantined_rows"):
        return [], 0
    conditions = [sql.SQL("true")]
    params: dict = {}
    for field, column in (("source", "source"), ("entity", "entity"), ("reason", "reason_code")):
        if getattr(where, field):
            conditions.append(sql.SQL("{} = %({})s").format(sql.Identifier(column), sql.SQL(field)))
            params[field] = getattr(where, field)
    total = conn.execute(
        sql.SQL("select count(*) from quarantine.quarantined_rows where {}").format(
            sql.SQL(" and ").join(conditions)
        ),
        params,
    ).fetchone()[0]
    if after is not None:
        conditions.append(sql.SQL("(_batch_id, _source_row) > (%(after_batch)s, %(after_row)s)"))
        params |= {"after_batch": after[0], "after_row": after[1]}
    cur = conn.execute(
        sql.SQL(
            "select source, entity, _batch_id, _source_row, record_key, reason_code, field, value "
            "from quarantine.quarantined_rows where {} order by _batch_id, _source_row limit {}"
        ).format(sql.SQL(" and ").join(conditions), sql.Literal(size)),
        params,
    )
    return _dicts(cur), int(total)


def raw_row(conn, source: str, entity: str, batch_id: str, source_row: int) -> dict | None:
    """The row as the source sent it (``raw.<source>__<entity>``), without load metadata."""
    table = raw_table(source, entity)
    if not exists(conn, f"raw.{table}"):
        return None
    cur = conn.execute(
        sql.SQL("select * from raw.{} where _batch_id = %s and _source_row = %s").format(
            sql.Identifier(table)
        ),
        (batch_id, source_row),
    )
    rows = _dicts(cur)
    return rows[0] if rows else None


def discrepancy_sources(conn, sources: list[str]) -> dict[str, int]:
    """Rows of each source's discrepancy mart (``marts.discrepancies_<source>``) that exists."""
    counts = {}
    for source in sources:
        if exists(conn, f"marts.discrepancies_{source}"):
            counts[source] = conn.execute(
                sql.SQL("select count(*) from {}").format(
                    sql.Identifier("marts", f"discrepancies_{source}")
                )
            ).fetchone()[0]
    return counts


def discrepancies(conn, source: str, limit: int | None = None) -> list[dict]:
    """The source's discrepancy mart in a stable order (entity, record, kind); its first
    ``limit`` rows when given."""
    cur = conn.execute(
        sql.SQL("select * from {} order by entity, record_key, discrepancy {}").format(
            sql.Identifier("marts", f"discrepancies_{source}"),
            sql.SQL("limit {}").format(sql.Literal(limit)) if limit else sql.SQL(""),
        )
    )
    return _dicts(cur)


def discrepancy_kinds(conn, source: str) -> dict[str, int]:
    """Rows of the source's discrepancy mart per kind."""
    return dict(
        conn.execute(
            sql.SQL("select discrepancy, count(*) from {} group by 1 order by 1").format(
                sql.Identifier("marts", f"discrepancies_{source}")
            )
        ).fetchall()
    )


def table_rows(conn, relation: str, order_by: str, limit: int = 500) -> list[dict] | None:
    """The newest rows of a table (``None`` when it does not exist): the scorecard, the logs."""
    if not exists(conn, relation):
        return None
    schema, name = relation.split(".")
    cur = conn.execute(
        sql.SQL("select * from {} order by {} desc limit {}").format(
            sql.Identifier(schema, name), sql.Identifier(order_by), sql.Literal(limit)
        )
    )
    return _dicts(cur)


def column_types(conn, relation: str) -> dict[str, str]:
    """``{column: data type}`` of a table, in column order."""
    schema, name = relation.split(".")
    return dict(
        conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, name),
        ).fetchall()
    )


def time_column(types: dict[str, str]) -> str | None:
    """The first date or timestamp column: what a log or a history is ordered by."""
    return next((c for c, t in types.items() if t == "date" or t.startswith("timestamp")), None)


def log_view(conn, user: str, page: str, filters: dict, rows_shown: int) -> None:
    """Record a page view that showed person rows: who, which page and filter, when."""
    conn.execute(UI_ACCESS_LOG_DDL)
    conn.execute(
        "insert into ops.ui_access_log (airflow_user, page, filters, rows_shown) "
        "values (%s, %s, %s::jsonb, %s)",
        (user, page, _json(filters), rows_shown),
    )


def _json(value: dict) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


# marts.quality_scorecard (dbt_project/models/marts/quality/quality_scorecard.sql): one row per
# source, entity, extraction day and measure. The page reads these columns by name.
SCORECARD_COLUMNS = (
    "source", "entity", "day", "property", "measure", "value", "target", "direction", "met",
    "numerator", "denominator", "status",
)  # fmt: skip


def scorecard_latest(conn, source: str = "") -> list[dict]:
    """Per source and entity, its figures of the latest day it delivered (every measure)."""
    cur = conn.execute(
        sql.SQL(
            "select {cols} from marts.quality_scorecard s join ("
            " select source, entity, max(day) as day from marts.quality_scorecard"
            " where %(source)s = '' or source = %(source)s group by source, entity"
            ") latest using (source, entity, day) order by source, entity, measure"
        ).format(cols=sql.SQL(", ").join(sql.Identifier("s", c) for c in SCORECARD_COLUMNS)),
        {"source": source},
    )
    return _dicts(cur)


def scorecard_trend(conn, measures: list[str], source: str = "") -> list[dict]:
    """Per property and day, the share its measured ``measures`` reach over every source and
    entity (one source's with ``source``): the sums of their numerators over the sums of
    their denominators, so a large agency weighs as much as its rows."""
    cur = conn.execute(
        "select property, day, sum(numerator)::numeric / nullif(sum(denominator), 0) as share "
        "from marts.quality_scorecard where status = 'measured' and measure = any(%(measures)s) "
        "and (%(source)s = '' or source = %(source)s) "
        "group by property, day order by property, day",
        {"measures": measures, "source": source},
    )
    return _dicts(cur)


def scorecard_sources(conn) -> list[str]:
    query = "select distinct source from marts.quality_scorecard order by 1"
    return [r[0] for r in conn.execute(query)]
