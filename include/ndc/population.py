"""Sync the citizens mart into the population database (upsert keyed by personal ID number)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ndc.warehouse import connect, ensure_database

log = logging.getLogger(__name__)

CITIZEN_DDL = """
create table if not exists citizen (
    personal_id varchar(12) primary key,
    full_name text not null,
    date_of_birth date,
    sex_code varchar(1),
    date_of_death date,
    source_systems text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
"""

COLUMNS = (
    "personal_id",
    "full_name",
    "date_of_birth",
    "sex_code",
    "date_of_death",
    "source_systems",
)

# A death is never undone by a later run that does not carry it: the date of death is only
# set or corrected, not cleared.
UPSERT = """
with upserted as (
    insert into citizen as c (personal_id, full_name, date_of_birth, sex_code, date_of_death,
                              source_systems)
    select personal_id, full_name, date_of_birth, sex_code, date_of_death, source_systems
    from citizen_incoming
    on conflict (personal_id) do update set
        full_name = excluded.full_name,
        date_of_birth = excluded.date_of_birth,
        sex_code = excluded.sex_code,
        date_of_death = coalesce(excluded.date_of_death, c.date_of_death),
        source_systems = excluded.source_systems,
        updated_at = now()
    where (c.full_name, c.date_of_birth, c.sex_code, c.date_of_death, c.source_systems)
        is distinct from (excluded.full_name, excluded.date_of_birth, excluded.sex_code,
                          coalesce(excluded.date_of_death, c.date_of_death),
                          excluded.source_systems)
    returning (xmax = 0) as inserted
)
select count(*) filter (where inserted), count(*) filter (where not inserted) from upserted
"""


@dataclass(frozen=True)
class SyncResult:
    incoming: int
    inserted: int
    updated: int
    citizens: int

    @property
    def unchanged(self) -> int:
        return self.incoming - self.inserted - self.updated

    def summary(self) -> str:
        return (
            f"population sync: {self.incoming} citizens in the mart, {self.inserted} inserted, "
            f"{self.updated} updated, {self.unchanged} unchanged; {self.citizens} in the "
            "population database"
        )


def ensure_population_db(population_url: str) -> None:
    ensure_database(population_url)
    with connect(population_url) as conn:
        conn.execute(CITIZEN_DDL)


def sync_citizens(
    warehouse_url: str, population_url: str, mart: str = "marts.citizens"
) -> SyncResult:
    """Stream the mart out of the warehouse with COPY and upsert it in one transaction."""
    ensure_population_db(population_url)
    cols = ", ".join(COLUMNS)
    with connect(warehouse_url) as src, connect(population_url) as dst:
        dst.execute(
            "create temp table citizen_incoming (like citizen including defaults) on commit drop"
        )
        with src.cursor() as out_cur, dst.cursor() as in_cur:
            with (
                out_cur.copy(f"copy (select {cols} from {mart}) to stdout") as out,
                in_cur.copy(f"copy citizen_incoming ({cols}) from stdin") as inp,
            ):
                for block in out:
                    inp.write(block)
        incoming = dst.execute("select count(*) from citizen_incoming").fetchone()[0]
        inserted, updated = dst.execute(UPSERT).fetchone()
        citizens = dst.execute("select count(*) from citizen").fetchone()[0]
    result = SyncResult(incoming, inserted, updated, citizens)
    log.info("%s", result.summary())
    return result


def citizen_count(population_url: str) -> int:
    with connect(population_url) as conn:
        exists = conn.execute("select to_regclass('public.citizen')").fetchone()[0]
        return conn.execute("select count(*) from citizen").fetchone()[0] if exists else 0
