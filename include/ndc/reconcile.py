"""Per-batch reconciliation: extracted = landed = loaded = conformed + quarantined + merged.

Conformed rows are the staging rows neither quarantined nor merged into another row as a
duplicate; quarantined rows are counted in ``quarantine.quarantined_rows`` and merged
duplicates in ``quarantine.merged_duplicates``, so the three dbt outputs check each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ndc.registry import Source
from ndc.warehouse import connect

QUARANTINE_TABLE = "quarantine.quarantined_rows"
MERGED_TABLE = "quarantine.merged_duplicates"
# Set on the staging rows collapsed into another row; staging models of entities that cannot
# hold duplicates do not have the column.
DUPLICATE_COLUMN = "duplicate_of_record_key"


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

    @property
    def accounted(self) -> int:
        """Rows the transformation accounts for: conformed, quarantined or merged."""
        return self.conformed + self.quarantined + self.merged

    @property
    def balanced(self) -> bool:
        return self.extracted == self.landed == self.loaded == self.accounted

    def describe(self) -> str:
        return (
            f"batch {self.batch_id} ({self.source}.{self.entity}): extracted {self.extracted}, "
            f"landed {self.landed}, loaded {self.loaded}, conformed {self.conformed} + "
            f"quarantined {self.quarantined} + merged {self.merged} = {self.accounted}"
        )


_QUERY = """
select l.batch_id, l.source, l.entity, l.rows_extracted, l.rows_landed, l.rows_loaded,
       coalesce(s.conformed, 0), coalesce(q.quarantined, 0), coalesce(m.merged, 0)
from ops.load_ledger l
left join (
    select _batch_id,
           count(*) filter (where quarantine_reason_code is null{not_merged}) as conformed
    from staging.{view} group by _batch_id
) s on s._batch_id = l.batch_id
left join (
    select _batch_id, count(*) as quarantined from {quarantine}
    where source = %(source)s and entity = %(entity)s group by _batch_id
) q on q._batch_id = l.batch_id
left join (
    select _batch_id, count(*) as merged from {merged}
    where source = %(source)s and entity = %(entity)s group by _batch_id
) m on m._batch_id = l.batch_id
where l.source = %(source)s and l.entity = %(entity)s
order by l.batch_id
"""

_UPSERT = """
insert into ops.reconciliation (batch_id, source, entity, rows_extracted, rows_landed,
    rows_loaded, rows_conformed, rows_quarantined, rows_merged, balanced, checked_at)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
on conflict (batch_id) do update set
    rows_extracted = excluded.rows_extracted, rows_landed = excluded.rows_landed,
    rows_loaded = excluded.rows_loaded, rows_conformed = excluded.rows_conformed,
    rows_quarantined = excluded.rows_quarantined, rows_merged = excluded.rows_merged,
    balanced = excluded.balanced, checked_at = excluded.checked_at
"""


def _has_column(conn, schema: str, relation: str, column: str) -> bool:
    found = conn.execute(
        "select 1 from information_schema.columns "
        "where table_schema = %s and table_name = %s and column_name = %s",
        (schema, relation, column),
    ).fetchone()
    return found is not None


def reconcile(warehouse_url: str, sources: dict[str, Source]) -> list[BatchBalance]:
    """Check every loaded batch, store the outcome in ``ops.reconciliation``, fail if unbalanced."""
    balances: list[BatchBalance] = []
    with connect(warehouse_url) as conn:
        for source in sources.values():
            for entity in source.entities:
                view = staging_view(source.name, entity.name)
                not_merged = (
                    sql.SQL(" and {} is null").format(sql.Identifier(DUPLICATE_COLUMN))
                    if _has_column(conn, "staging", view, DUPLICATE_COLUMN)
                    else sql.SQL("")
                )
                query = sql.SQL(_QUERY).format(
                    view=sql.Identifier(view),
                    not_merged=not_merged,
                    quarantine=sql.Identifier(*QUARANTINE_TABLE.split(".")),
                    merged=sql.Identifier(*MERGED_TABLE.split(".")),
                )
                rows = conn.execute(query, {"source": source.name, "entity": entity.name})
                balances += [BatchBalance(*row) for row in rows]
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
                    )
                    for b in balances
                ],
            )
    broken = [b for b in balances if not b.balanced]
    if broken:
        raise ReconciliationError(
            f"{len(broken)} of {len(balances)} batch(es) do not balance:\n"
            + "\n".join(b.describe() for b in broken)
        )
    return balances
