"""Per-batch reconciliation: extracted = landed = loaded = conformed + quarantined."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ndc.registry import Source
from ndc.warehouse import connect

QUARANTINE_TABLE = "quarantine.quarantined_rows"


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

    @property
    def balanced(self) -> bool:
        return self.extracted == self.landed == self.loaded == self.conformed + self.quarantined

    def describe(self) -> str:
        return (
            f"batch {self.batch_id} ({self.source}.{self.entity}): extracted {self.extracted}, "
            f"landed {self.landed}, loaded {self.loaded}, conformed {self.conformed} + "
            f"quarantined {self.quarantined} = {self.conformed + self.quarantined}"
        )


_QUERY = """
select l.batch_id, l.source, l.entity, l.rows_extracted, l.rows_landed, l.rows_loaded,
       coalesce(s.conformed, 0), coalesce(q.quarantined, 0)
from ops.load_ledger l
left join (
    select _batch_id, count(*) filter (where quarantine_reason_code is null) as conformed
    from staging.{view} group by _batch_id
) s on s._batch_id = l.batch_id
left join (
    select _batch_id, count(*) as quarantined from {quarantine}
    where source = %(source)s and entity = %(entity)s group by _batch_id
) q on q._batch_id = l.batch_id
where l.source = %(source)s and l.entity = %(entity)s
order by l.batch_id
"""

_UPSERT = """
insert into ops.reconciliation (batch_id, source, entity, rows_extracted, rows_landed,
    rows_loaded, rows_conformed, rows_quarantined, balanced, checked_at)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())
on conflict (batch_id) do update set
    rows_extracted = excluded.rows_extracted, rows_landed = excluded.rows_landed,
    rows_loaded = excluded.rows_loaded, rows_conformed = excluded.rows_conformed,
    rows_quarantined = excluded.rows_quarantined, balanced = excluded.balanced,
    checked_at = excluded.checked_at
"""


def reconcile(warehouse_url: str, sources: dict[str, Source]) -> list[BatchBalance]:
    """Check every loaded batch, store the outcome in ``ops.reconciliation``, fail if unbalanced."""
    schema, table = QUARANTINE_TABLE.split(".")
    balances: list[BatchBalance] = []
    with connect(warehouse_url) as conn:
        for source in sources.values():
            for entity in source.entities:
                query = sql.SQL(_QUERY).format(
                    view=sql.Identifier(staging_view(source.name, entity.name)),
                    quarantine=sql.Identifier(schema, table),
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
