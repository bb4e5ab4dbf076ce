"""The population database: its citizen table, its baseline, and the sync from the mart.

The population database is the master of a citizen's identity (Decree 70/2024, once-only).
The sync therefore inserts citizens it does not know (newly registered births, people first
seen in a sectoral system), fills values it lacks and records deaths, but never overwrites a
value it already holds: a sectoral system disagreeing with it is a discrepancy to report to
that agency, not a correction of the master.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ndc.warehouse import (
    POPULATION_SNAPSHOT_COLUMNS,
    POPULATION_SNAPSHOT_DDL,
    POPULATION_SNAPSHOT_TABLE,
    connect,
    ensure_database,
)

log = logging.getLogger(__name__)

CITIZEN_DDL = """
create table if not exists citizen (
    personal_id varchar(12) primary key,
    full_name text not null,
    date_of_birth date,
    sex_code varchar(1),
    date_of_death date,
    source_systems text,
    cmnd varchar(9),
    ethnicity_code varchar(2),
    province_code varchar(2),
    commune_code varchar(5),
    household_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
-- Columns added since the first release of the table.
alter table citizen add column if not exists cmnd varchar(9);
alter table citizen add column if not exists ethnicity_code varchar(2);
alter table citizen add column if not exists province_code varchar(2);
alter table citizen add column if not exists commune_code varchar(5);
alter table citizen add column if not exists household_id text;
"""

COLUMNS = (
    "personal_id",
    "full_name",
    "date_of_birth",
    "sex_code",
    "date_of_death",
    "source_systems",
)

# Fill what the master lacks, never overwrite what it holds; a death is never undone.
UPSERT = """
with upserted as (
    insert into citizen as c (personal_id, full_name, date_of_birth, sex_code, date_of_death,
                              source_systems)
    select personal_id, full_name, date_of_birth, sex_code, date_of_death, source_systems
    from citizen_incoming
    on conflict (personal_id) do update set
        full_name = coalesce(c.full_name, excluded.full_name),
        date_of_birth = coalesce(c.date_of_birth, excluded.date_of_birth),
        sex_code = coalesce(c.sex_code, excluded.sex_code),
        date_of_death = coalesce(c.date_of_death, excluded.date_of_death),
        source_systems = excluded.source_systems,
        updated_at = now()
    where (c.full_name, c.date_of_birth, c.sex_code, c.date_of_death, c.source_systems)
        is distinct from (
            coalesce(c.full_name, excluded.full_name),
            coalesce(c.date_of_birth, excluded.date_of_birth),
            coalesce(c.sex_code, excluded.sex_code),
            coalesce(c.date_of_death, excluded.date_of_death),
            excluded.source_systems)
    returning (xmax = 0) as inserted
)
select count(*) filter (where inserted), count(*) filter (where not inserted) from upserted
"""

# The citizen table's own columns: what a baseline holds and what the warehouse snapshot copies.
BASELINE_COLUMNS = POPULATION_SNAPSHOT_COLUMNS


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


def _stream(src, query: str, dst, target: str) -> None:
    """COPY a query's rows from one database into a table of another, block by block."""
    with src.cursor() as out_cur, dst.cursor() as in_cur:
        with (
            out_cur.copy(f"copy ({query}) to stdout") as out,
            in_cur.copy(f"copy {target} from stdin") as inp,
        ):
            for block in out:
                inp.write(block)


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
        _stream(src, f"select {cols} from {mart}", dst, f"citizen_incoming ({cols})")
        incoming = dst.execute("select count(*) from citizen_incoming").fetchone()[0]
        inserted, updated = dst.execute(UPSERT).fetchone()
        citizens = dst.execute("select count(*) from citizen").fetchone()[0]
    result = SyncResult(incoming, inserted, updated, citizens)
    log.info("%s", result.summary())
    return result


def load_baseline(population_url: str, path: Path) -> int:
    """Load the population database's state before ndc ran (a Parquet snapshot), once.

    Returns the rows loaded; 0 when the citizen table already holds data (never mixed in).
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    ensure_population_db(population_url)
    with connect(population_url) as conn:
        if conn.execute("select exists (select 1 from citizen)").fetchone()[0]:
            log.info("population database already holds citizens; baseline not loaded")
            return 0
        snapshot = pq.ParquetFile(path)
        columns = [c for c in BASELINE_COLUMNS if c in snapshot.schema_arrow.names]
        options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        rows = 0
        with (
            conn.cursor() as cur,
            cur.copy(f"copy citizen ({', '.join(columns)}) from stdin (format csv)") as copy,
        ):
            for batch in snapshot.iter_batches(batch_size=65_536, columns=columns):
                sink = pa.BufferOutputStream()
                pacsv.write_csv(batch, sink, options)
                copy.write(sink.getvalue())
                rows += batch.num_rows
    log.info("population database: loaded %d citizens from the baseline %s", rows, path)
    return rows


def snapshot_to_warehouse(population_url: str, warehouse_url: str) -> int:
    """Copy the population database's citizens into the warehouse (``raw.population__citizen``).

    Streamed with COPY in bounded blocks and swapped in one transaction (truncate + copy), so
    dbt never sees a half-written snapshot. Returns the number of citizens copied.
    """
    ensure_population_db(population_url)
    cols = ", ".join(POPULATION_SNAPSHOT_COLUMNS)
    with connect(population_url) as src, connect(warehouse_url) as dst:
        dst.execute("create schema if not exists raw")
        dst.execute(POPULATION_SNAPSHOT_DDL)
        dst.execute(f"truncate {POPULATION_SNAPSHOT_TABLE}")
        _stream(src, f"select {cols} from citizen", dst, f"{POPULATION_SNAPSHOT_TABLE} ({cols})")
        rows = dst.execute(f"select count(*) from {POPULATION_SNAPSHOT_TABLE}").fetchone()[0]
    log.info("population snapshot: %d citizens copied into %s", rows, POPULATION_SNAPSHOT_TABLE)
    return rows


def citizen_count(population_url: str) -> int:
    with connect(population_url) as conn:
        exists = conn.execute("select to_regclass('public.citizen')").fetchone()[0]
        return conn.execute("select count(*) from citizen").fetchone()[0] if exists else 0
