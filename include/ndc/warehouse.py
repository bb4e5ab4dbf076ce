"""Warehouse bootstrap: databases, schemas, the raw tables of the registry and ops tables."""

from __future__ import annotations

import psycopg
from psycopg import sql

from ndc.file_quarantine import FILE_QUARANTINE_DDL
from ndc.registry import EXTRA_COLUMN, Source, e164_column, raw_table
from ndc.settings import libpq_url

SCHEMAS = ("raw", "ops")
RAW_META_COLUMNS = (
    "_batch_id text not null",
    "_source_row bigint not null",
    "_loaded_at timestamptz not null default now()",
    # Schema drift: the row's values of the columns its source sent that the registry does
    # not declare, {column: text} (ndc.extract.batch); null when it carried none.
    f"{EXTRA_COLUMN} jsonb",
)

OPS_DDL = """
create table if not exists ops.load_ledger (
    batch_id text primary key,
    source text not null,
    entity text not null,
    landing_key text not null,
    source_file text,
    sha256 text not null,
    rows_extracted bigint not null,
    rows_landed bigint not null,
    rows_loaded bigint not null,
    watermark_from text,
    watermark_to text,
    extracted_at text,
    loaded_at timestamptz not null default now()
);
create table if not exists ops.reconciliation (
    batch_id text primary key references ops.load_ledger (batch_id),
    source text not null,
    entity text not null,
    rows_extracted bigint not null,
    rows_landed bigint not null,
    rows_loaded bigint not null,
    rows_conformed bigint not null,
    rows_quarantined bigint not null,
    balanced boolean not null,
    checked_at timestamptz not null default now()
);
-- Rows merged into another row as duplicates (quarantine.merged_duplicates); added after the
-- first release, so existing warehouses gain it here.
alter table ops.reconciliation add column if not exists rows_merged bigint not null default 0;
alter table ops.reconciliation add column if not exists rows_linked bigint not null default 0;
-- Schema drift: the columns a batch's source sent that the registry does not declare, and
-- how many of its rows carried values of them (kept in the raw table's _extra).
alter table ops.load_ledger add column if not exists undeclared_columns text[];
alter table ops.load_ledger add column if not exists undeclared_rows bigint;
-- The ledger version (loaded_at) of the batch checked: a batch loaded again is checked again.
alter table ops.reconciliation add column if not exists loaded_at timestamptz;
-- The source's own count of the batch (a count query in the extract's snapshot, a second
-- parse of the file, the API's total; ndc.extract.source_count), null for batches landed
-- before it was counted: reconciliation starts there.
alter table ops.load_ledger add column if not exists rows_at_source bigint;
alter table ops.reconciliation add column if not exists rows_at_source bigint;
"""
# Files set aside by the extract (ndc.file_quarantine), copied here by the load.
OPS_DDL += FILE_QUARANTINE_DDL

# Each population sync (ndc.population.sync_citizens): the mart rows it sent, and the mart's
# change marker (marts.citizens._changed_at) it read up to, when the mart has one.
POPULATION_SYNC_DDL = """
create table if not exists ops.population_sync (
    seq bigserial primary key,
    synced_at timestamptz not null default now(),
    watermark timestamptz,
    citizens_sent bigint not null,
    citizens_inserted bigint not null,
    citizens_updated bigint not null
)
"""

# The population database's citizens as the transform last saw them (refreshed by
# ndc.population.snapshot_to_warehouse before each dbt run, with the citizens changed since
# the last snapshot): what the staging models resolve CMND numbers against and what the
# discrepancy marts compare each agency's records with. Typed, unlike the raw source tables:
# it is a copy of an authoritative, typed table.
POPULATION_SNAPSHOT_TABLE = "raw.population__citizen"
# Per snapshot (ops.population_snapshot.seq), the old row (if any) and the new row of every
# citizen whose snapshot values changed: what incremental models rebuild from.
POPULATION_CHANGE_TABLE = "raw.population__citizen_change"
POPULATION_SNAPSHOT_LOG = "ops.population_snapshot"
POPULATION_SNAPSHOT_COLUMNS = (
    "personal_id",
    "full_name",
    "date_of_birth",
    "sex_code",
    "date_of_death",
    "cmnd",
    "ethnicity_code",
    "province_code",
    "commune_code",
    "household_id",
)
POPULATION_SNAPSHOT_DDL = f"""
create table if not exists {POPULATION_SNAPSHOT_TABLE} (
    personal_id text primary key,
    full_name text,
    date_of_birth date,
    sex_code text,
    date_of_death date,
    cmnd text,
    ethnicity_code text,
    province_code text,
    commune_code text,
    household_id text,
    _snapshot_at timestamptz not null default now()
);
create table if not exists {POPULATION_CHANGE_TABLE} (
    seq bigint not null,
    personal_id text,
    full_name text,
    date_of_birth date,
    sex_code text,
    date_of_death date,
    cmnd text,
    ethnicity_code text,
    province_code text,
    commune_code text,
    household_id text,
    -- 'old': the row before snapshot seq; 'new': the row it copied.
    _image text not null check (_image in ('old', 'new'))
);
create index if not exists population__citizen_change__seq_person_idx
    on {POPULATION_CHANGE_TABLE} (seq, personal_id);
drop index if exists raw.population__citizen_change__seq_idx;
-- A citizen's updated_at is not copied: it moves with every write to the population
-- database (the sync's own list of source systems too), which would make every such write a
-- change for the warehouse to re-conform, while no model reads it. Dropped from the copies
-- of earlier releases.
alter table {POPULATION_SNAPSHOT_TABLE} drop column if exists updated_at;
alter table {POPULATION_CHANGE_TABLE} drop column if exists updated_at;
create table if not exists {POPULATION_SNAPSHOT_LOG} (
    seq bigserial primary key,
    taken_at timestamptz not null default now(),
    watermark timestamptz,
    citizens_copied bigint,
    citizens_changed bigint
);
"""


def has_column(conn: psycopg.Connection, schema: str, relation: str, column: str) -> bool:
    """True when the relation has the column (a table or view of an older release may not)."""
    found = conn.execute(
        "select 1 from information_schema.columns "
        "where table_schema = %s and table_name = %s and column_name = %s",
        (schema, relation, column),
    ).fetchone()
    return found is not None


def connect(url: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), **kwargs)


def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL if it does not exist; True if created."""
    base, _, name = libpq_url(database_url).rpartition("/")
    name = name.split("?")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return True


def drop_database(database_url: str) -> None:
    base, _, name = libpq_url(database_url).rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def raw_table_ddl(source: str, entity: str, columns: list[str]) -> sql.Composed:
    body = [sql.SQL("{} text").format(sql.Identifier(c)) for c in columns]
    body += [sql.SQL(c) for c in RAW_META_COLUMNS]
    return sql.SQL("create table if not exists raw.{} ({})").format(
        sql.Identifier(raw_table(source, entity)), sql.SQL(", ").join(body)
    )


def ensure_raw_table(
    conn: psycopg.Connection,
    source: str,
    entity: str,
    columns: list[str],
    phone_columns: list[str] | tuple[str, ...] = (),
) -> None:
    """Create the raw table, or add the columns a newer batch brings (never drops any), and
    ``_extra`` to a table of a release before it.

    The E.164 column of a phone column (`phone_columns`, ndc.phones) added to a table that
    already holds rows is filled from the rows' phone numbers, so the batches loaded before it
    existed conform as the new ones do when the staging model is rebuilt."""
    table = raw_table(source, entity)
    conn.execute(raw_table_ddl(source, entity, columns))
    conn.execute(
        sql.SQL("create index if not exists {} on raw.{} (_batch_id)").format(
            sql.Identifier(f"{table}__batch_idx"), sql.Identifier(table)
        )
    )
    have = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = %s",
            (table,),
        )
    }
    for column in columns:
        if column not in have:
            conn.execute(
                sql.SQL("alter table raw.{} add column {} text").format(
                    sql.Identifier(table), sql.Identifier(column)
                )
            )
    if EXTRA_COLUMN not in have:  # checked first: the ALTER locks the table even as a no-op
        conn.execute(
            sql.SQL("alter table raw.{} add column if not exists {} jsonb").format(
                sql.Identifier(table), sql.Identifier(EXTRA_COLUMN)
            )
        )
    for column in phone_columns:
        if column in have and e164_column(column) in columns and e164_column(column) not in have:
            _fill_e164(conn, table, column)


def _fill_e164(conn: psycopg.Connection, table: str, column: str) -> None:
    """Set raw.<table>.<column>_e164 from <column> on every row (once, when the column is new)."""
    from ndc.phones import to_e164

    values = [
        r[0]
        for r in conn.execute(
            sql.SQL("select distinct {} from raw.{} where {} is not null").format(
                sql.Identifier(column), sql.Identifier(table), sql.Identifier(column)
            )
        )
    ]
    conn.execute("create temp table _ndc_e164 (raw text, e164 text)")
    with conn.cursor().copy("copy _ndc_e164 (raw, e164) from stdin") as copy:
        for value in values:
            copy.write_row((value, to_e164(value)))
    conn.execute(
        sql.SQL("update raw.{t} set {e} = m.e164 from _ndc_e164 as m where {t}.{c} = m.raw").format(
            t=sql.Identifier(table), e=sql.Identifier(e164_column(column)), c=sql.Identifier(column)
        )
    )
    conn.execute("drop table _ndc_e164")


# Settings of the warehouse database for every session (loads, dbt, reconciliation), set by
# bootstrap with ALTER DATABASE, so they hold on any PostgreSQL server without touching its
# configuration file. The server defaults suit a transactional database: 4 MB of sort and hash
# memory made the NOT EXISTS of an incremental run's row comparison fall back from a hash to a
# loop over its subquery (82 s instead of under 1 s at 1,000,000 persons), JIT compilation cost
# more than it saved on every model (a staging model of 100,000 rows: 29 s with it, 16 s
# without), and a random page priced as on a spinning disk made the planner hash a million
# citizens to look up a day's few thousand instead of using their index.
WAREHOUSE_SETTINGS = {"work_mem": "64MB", "jit": "off", "random_page_cost": "1.1"}


def tune_database(conn: psycopg.Connection) -> None:
    """Set WAREHOUSE_SETTINGS on the connection's database where they differ (new sessions
    see them). Needs the database's owner or a superuser; otherwise the server's defaults stay."""
    current = dict(
        line.split("=", 1)
        for (lines,) in conn.execute(
            "select setconfig from pg_db_role_setting s "
            "join pg_database d on d.oid = s.setdatabase "
            "where d.datname = current_database() and s.setrole = 0"
        ).fetchall()
        for line in lines or []
    )
    for name, value in WAREHOUSE_SETTINGS.items():
        if current.get(name) != value:
            conn.execute(
                sql.SQL("alter database {} set {} = {}").format(
                    sql.Identifier(conn.info.dbname), sql.Identifier(name), sql.Literal(value)
                )
            )


# Held exclusively by a bootstrap, shared by a transaction that writes raw tables and the
# ledger (hold_off_bootstrap).
BOOTSTRAP_LOCK = "ndc.warehouse.bootstrap"


def hold_off_bootstrap(conn: psycopg.Connection) -> None:
    """In a transaction that writes a raw table and then the ledger (a batch's load): no
    bootstrap runs until it commits, and it waits for one that runs. Without this, a bootstrap
    (each ingest's load task runs one) that has locked the ledger (its no-op ALTERs take an
    exclusive lock) waits for the raw table this load holds, while the load waits for the
    ledger: PostgreSQL's deadlock detector then fails one of them. Taken first, so the two
    never hold a table the other waits for; loads still run side by side (a shared lock)."""
    conn.execute("select pg_advisory_xact_lock_shared(hashtext(%s))", (BOOTSTRAP_LOCK,))


def bootstrap(warehouse_url: str, sources: dict[str, Source]) -> None:
    """Schemas, ops tables, one raw table per registry entity, and the roles' access
    (ndc.protection) (idempotent)."""
    from ndc import settings
    from ndc.protection import protect

    configured = settings.load()
    ensure_database(warehouse_url)
    with connect(warehouse_url) as conn:
        # One bootstrap at a time (parallel tasks may call this together), and none while a
        # batch's load transaction is open (hold_off_bootstrap).
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (BOOTSTRAP_LOCK,))
        for schema in SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        tune_database(conn)
        conn.execute(OPS_DDL)
        conn.execute(POPULATION_SYNC_DDL)
        conn.execute(POPULATION_SNAPSHOT_DDL)
        # What linkage writes after a build, and the quarantine models read (ndc.linkage.flow).
        from ndc.linkage.flow import DDL as PERSON_LINKS_DDL

        conn.execute(PERSON_LINKS_DDL)
        # The deliveries of the data products, which the scorecard's shared measures read.
        from ndc.sharing.delivery import SHARING_DDL

        conn.execute(SHARING_DDL)
        for source in sources.values():
            for entity in source.entities:
                ensure_raw_table(
                    conn, source.name, entity.name, entity.raw_columns, entity.phone_columns
                )
        protect(
            conn,
            sources,
            configured.pseudonym_key,
            configured.loader_role,
            configured.transformer_role,
        )
