"""Per-batch reconciliation: at source = extracted = landed = loaded = conformed + quarantined
+ linked + merged.

"At source" is the source's own count of the batch, taken apart from the extractor (a count
query in the extract's snapshot, a second parse of the file, the API's total:
ndc.extract.source_count), kept in the manifest and the load ledger (``rows_at_source``); a
batch landed before it was counted has none and balances without it. The extract already
refuses a batch whose counts differ; checking it here again keeps the chain whole.

Conformed rows are the staging rows neither quarantined nor merged into another row as a
duplicate; quarantined rows are counted in ``quarantine.quarantined_rows``, rows that staging
quarantined for their personal ID and linkage linked to a citizen in ``quarantine.linked_rows``
(they left quarantine), and merged duplicates in ``quarantine.merged_duplicates``, so the dbt
outputs check each other. A batch whose rows were linked since it was checked is checked again.

A transform checks the batches of its run, not every batch ever loaded: the ledger versions
(``batch_id``, ``loaded_at``) that ``ops.reconciliation`` does not hold balanced yet, and that
the staging model already holds at that version (its rows' ``_loaded_at``); a batch loaded
after the staging model ran waits for the next transform. Counting is per batch with the
batch filter pushed down to each table. ``reconcile(..., everything=True)`` (``ndc reconcile
--all``) checks every batch again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from ndc.registry import Source
from ndc.warehouse import connect, has_column

QUARANTINE_TABLE = "quarantine.quarantined_rows"
MERGED_TABLE = "quarantine.merged_duplicates"
LINKED_TABLE = "quarantine.linked_rows"
# Set on the staging rows collapsed into another row; staging models of entities that cannot
# hold duplicates do not have the column.
DUPLICATE_COLUMN = "duplicate_of_record_key"
# The ledger version a staging row was conformed from (ops.load_ledger.loaded_at).
VERSION_COLUMN = "_loaded_at"

log = logging.getLogger(__name__)


class ReconciliationError(RuntimeError):
    """At least one batch does not balance; the message names each one."""


def staging_view(source: str, entity: str) -> str:
    """The dbt staging model of a source entity (``stg_<source>__<entity>s``)."""
    return f"stg_{source}__{entity}s"


@dataclass(frozen=True)
class BatchBalance:
    batch_id: str
    source: str
    entity: str
    extracted: int
    landed: int
    loaded: int
    conformed: int
    quarantined: int
    merged: int
    loaded_at: datetime | None = None
    note: str = ""
    linked: int = 0
    at_source: int | None = None

    @property
    def accounted(self) -> int:
        """Rows the transformation accounts for: conformed, quarantined, linked or merged."""
        return self.conformed + self.quarantined + self.linked + self.merged

    @property
    def balanced(self) -> bool:
        counted = self.at_source is None or self.at_source == self.extracted
        return counted and self.extracted == self.landed == self.loaded == self.accounted

    def describe(self) -> str:
        at_source = "" if self.at_source is None else f"at source {self.at_source}, "
        return (
            f"batch {self.batch_id} ({self.source}.{self.entity}): {at_source}"
            f"extracted {self.extracted}, "
            f"landed {self.landed}, loaded {self.loaded}, conformed {self.conformed} + "
            f"quarantined {self.quarantined} + "
            # Named when there are linked rows: most batches have none.
            + (f"linked {self.linked} + " if self.linked else "")
            + f"merged {self.merged} = {self.accounted}"
            + (f" ({self.note})" if self.note else "")
        )


class Balances(list):
    """The batches checked (``BatchBalance``), and the ones left for the next transform."""

    def __init__(self, checked=(), waiting=()):
        super().__init__(checked)
        self.waiting: list[str] = list(waiting)


# The ledger versions to check: not yet stored, stored for an older version, or unbalanced
# (a retry after a fix checks it again).
_TO_CHECK = """
select l.batch_id, l.rows_extracted, l.rows_landed, l.rows_loaded, l.loaded_at,
       l.rows_at_source
from ops.load_ledger l
left join ops.reconciliation r on r.batch_id = l.batch_id
where l.source = %(source)s and l.entity = %(entity)s
  and (%(everything)s or r.batch_id is null or not r.balanced
       or r.loaded_at is distinct from l.loaded_at
       or l.batch_id = any(%(touched)s))
order by l.batch_id
"""
# The newest version the staging model was seen to hold in an earlier check.
_NEWEST_CHECKED = """
select max(r.loaded_at) from ops.reconciliation r
where r.source = %(source)s and r.entity = %(entity)s
"""
# Counting a few batches reads them through the tables' _batch_id index; beyond this many
# one pass over the table is cheaper than the semi-join.
FEW_BATCHES = 50
_BATCH_FILTER = "_batch_id in (select unnest(%(batches)s::text[]))"
_STAGING_COUNTS = """
select _batch_id, min({version}), max({version}), count(*) as rows,
       count(*) filter (where quarantine_reason_code is null{not_merged}) as conformed
from staging.{view}
where {batch_filter}
group by 1
"""
_TABLE_COUNTS = """
select _batch_id, count(*) from {table}
where source = %(source)s and entity = %(entity)s and {batch_filter}
group by 1
"""
# Older batches whose rows were merged into rows of these batches: their counts move too.
_TOUCHED = """
select distinct _batch_id from {merged}
where source = %(source)s and entity = %(entity)s
  and surviving_batch_id in (select unnest(%(batches)s::text[]))
"""
# Batches whose rows were linked (or a link decided) after the batch was last checked.
_RELINKED = """
select distinct l._batch_id from ops.person_links l
join ops.reconciliation r on r.batch_id = l._batch_id
where l.source = %(source)s and l.entity = %(entity)s and l._changed_at > r.checked_at
"""

_UPSERT = """
insert into ops.reconciliation (batch_id, source, entity, rows_extracted, rows_landed,
    rows_loaded, rows_conformed, rows_quarantined, rows_merged, balanced, loaded_at, rows_linked,
    rows_at_source, checked_at)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
on conflict (batch_id) do update set
    loaded_at = excluded.loaded_at,
    rows_extracted = excluded.rows_extracted, rows_landed = excluded.rows_landed,
    rows_loaded = excluded.rows_loaded, rows_conformed = excluded.rows_conformed,
    rows_quarantined = excluded.rows_quarantined, rows_merged = excluded.rows_merged,
    rows_linked = excluded.rows_linked, balanced = excluded.balanced,
    rows_at_source = excluded.rows_at_source, checked_at = excluded.checked_at
"""


def _counts(conn, query: sql.Composable, params: dict) -> dict[str, int]:
    return dict(conn.execute(query, params).fetchall())


def _check_entity(
    conn, source: str, entity: str, everything: bool
) -> tuple[list[BatchBalance], list[str]]:
    """Balances of the entity's batches to check, and the batch ids left waiting."""
    params = {"source": source, "entity": entity, "everything": everything, "touched": []}
    linking = _exists(conn, LINKED_TABLE)
    if linking:
        params["touched"] = [b for (b,) in conn.execute(_RELINKED, params)]
    ledger = conn.execute(_TO_CHECK, params).fetchall()
    if not ledger:
        return [], []
    view = staging_view(source, entity)
    merged_table = sql.Identifier(*MERGED_TABLE.split("."))
    if has_column(conn, "quarantine", MERGED_TABLE.split(".")[1], "surviving_batch_id"):
        touched = conn.execute(
            sql.SQL(_TOUCHED).format(merged=merged_table),
            {**params, "batches": [row[0] for row in ledger]},
        ).fetchall()
        extra = {b for (b,) in touched} - {row[0] for row in ledger}
        if extra:
            params["touched"] = sorted(extra | set(params["touched"]))
            ledger = conn.execute(_TO_CHECK, params).fetchall()
    batches = {"source": source, "entity": entity, "batches": [row[0] for row in ledger]}
    versioned = has_column(conn, "staging", view, VERSION_COLUMN)
    batch_filter = sql.SQL(_BATCH_FILTER if len(ledger) <= FEW_BATCHES else "true")
    staging = sql.SQL(_STAGING_COUNTS).format(
        batch_filter=batch_filter,
        view=sql.Identifier(view),
        version=sql.Identifier(VERSION_COLUMN) if versioned else sql.SQL("null::timestamptz"),
        not_merged=sql.SQL(" and {} is null").format(sql.Identifier(DUPLICATE_COLUMN))
        if has_column(conn, "staging", view, DUPLICATE_COLUMN)
        else sql.SQL(""),
    )
    held: dict[str, dict] = {}
    for batch_id, oldest, newest_row, rows, conformed in conn.execute(staging, batches):
        # Rows of two versions of one batch (min != max) do not balance: counted together.
        held[batch_id] = {"versions": {oldest, newest_row}, "rows": rows, "conformed": conformed}
    quarantined = _counts(
        conn,
        sql.SQL(_TABLE_COUNTS).format(
            table=sql.Identifier(*QUARANTINE_TABLE.split(".")), batch_filter=batch_filter
        ),
        batches,
    )
    merged = _counts(
        conn, sql.SQL(_TABLE_COUNTS).format(table=merged_table, batch_filter=batch_filter), batches
    )
    linked = (
        _counts(
            conn,
            sql.SQL(_TABLE_COUNTS).format(
                table=sql.Identifier(*LINKED_TABLE.split(".")), batch_filter=batch_filter
            ),
            batches,
        )
        if linking
        else {}
    )

    def at_version(batch_id: str, rows_loaded: int, loaded_at) -> bool:
        entry = held.get(batch_id)
        if entry is None:
            return rows_loaded == 0  # an empty batch: nothing to conform
        return not versioned or loaded_at in entry["versions"]

    ready = [row for row in ledger if at_version(row[0], row[3], row[4])]
    # Batches of a source are recorded in the ledger in the order they commit (one load per
    # source at a time): a staging model that holds a version loaded later than a batch has
    # seen that batch too. A batch it does not hold is then missing, not late.
    newest = conn.execute(_NEWEST_CHECKED, params).fetchone()[0]
    for row in ready:
        if newest is None or row[4] > newest:
            newest = row[4]
    balances, waiting = [], []
    for batch_id, extracted, landed, loaded, loaded_at, at_source in ledger:
        note = ""
        if not at_version(batch_id, loaded, loaded_at):
            if newest is None or loaded_at >= newest:
                waiting.append(batch_id)
                continue
            note = "not conformed by the staging model, which holds batches loaded after it"
        entry = held.get(batch_id, {"conformed": 0})
        balances.append(
            BatchBalance(
                batch_id,
                source,
                entity,
                extracted,
                landed,
                loaded,
                entry["conformed"],
                quarantined.get(batch_id, 0),
                merged.get(batch_id, 0),
                loaded_at,
                note,
                linked.get(batch_id, 0),
                at_source,
            )
        )
    return balances, waiting


def _exists(conn, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def reconcile(warehouse_url: str, sources: dict[str, Source], everything: bool = False) -> Balances:
    """Check the batches of this run (every batch with ``everything``), store the outcome in
    ``ops.reconciliation`` and fail naming each batch that does not balance."""
    balances = Balances()
    with connect(warehouse_url) as conn:
        for source in sources.values():
            for entity in source.entities:
                checked, waiting = _check_entity(conn, source.name, entity.name, everything)
                balances += checked
                balances.waiting += waiting
        with conn.cursor() as cur:
            cur.executemany(
                _UPSERT,
                [
                    (
                        b.batch_id,
                        b.source,
                        b.entity,
                        b.extracted,
                        b.landed,
                        b.loaded,
                        b.conformed,
                        b.quarantined,
                        b.merged,
                        b.balanced,
                        b.loaded_at,
                        b.linked,
                        b.at_source,
                    )
                    for b in balances
                ],
            )
    if balances.waiting:
        log.info(
            "%d batch(es) loaded after the staging models ran, left for the next transform: %s",
            len(balances.waiting),
            ", ".join(balances.waiting),
        )
    broken = [b for b in balances if not b.balanced]
    if broken:
        raise ReconciliationError(
            f"{len(broken)} of {len(balances)} batch(es) do not balance:\n"
            + "\n".join(b.describe() for b in broken)
        )
    return balances
