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
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
from psycopg import sql

from ndc.population_history import (
    HISTORY_DDL,
    HISTORY_DDL_DONE,
    VERSION_COLUMNS,
    HistoryResult,
    apply_versions,
    persons_query,
    versions_query,
)
from ndc.reliability.faults import point as fault_point
from ndc.warehouse import (
    POPULATION_CHANGE_TABLE,
    POPULATION_SNAPSHOT_COLUMNS,
    POPULATION_SNAPSHOT_DDL,
    POPULATION_SNAPSHOT_LOG,
    POPULATION_SNAPSHOT_TABLE,
    POPULATION_SYNC_DDL,
    connect,
    ensure_database,
    has_column,
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
-- What the warehouse snapshot reads: the citizens changed (updated_at) or added (created_at:
-- a baseline brings its own, older updated_at) since the last snapshot.
create index if not exists citizen_updated_at_idx on citizen (updated_at);
create index if not exists citizen_created_at_idx on citizen (created_at);
-- updated_at follows every change, whoever writes it (the sync sets it too).
create or replace function ndc_citizen_touch() returns trigger language plpgsql as $$
begin
    if new is distinct from old then
        new.updated_at := now();
    end if;
    return new;
end
$$;
create or replace trigger citizen_touch before update on citizen
    for each row execute function ndc_citizen_touch();
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

# The citizen table's own columns: what a baseline holds (the warehouse snapshot copies all
# but updated_at).
BASELINE_COLUMNS = (*POPULATION_SNAPSHOT_COLUMNS, "updated_at")

# How far before the last watermark an incremental read starts again, when the watermark query
# could not see every open transaction (another role's session: its start time is hidden
# without superuser or pg_read_all_stats), which may commit its older timestamps late. With
# every session visible the watermark is exact and nothing is read twice; re-read rows are
# compared by value, so a margin costs reading (all of a day's changes, when days follow each
# other within minutes, as in the benchmark), never a false change.
SNAPSHOT_MARGIN = timedelta(minutes=10)
SYNC_MARGIN = timedelta(minutes=10)
# The marts.citizens column that marks when a row's values last changed (set by dbt); without
# it the sync sends the whole mart.
MART_CHANGE_COLUMN = "_changed_at"

# A point in time before which every change visible later is visible now: this transaction's
# start, or the start of an older transaction still open in the database (it may yet commit
# rows stamped with its own start time).
_WATERMARK = """
select least(now(), min(xact_start)) from pg_stat_activity
where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
    and backend_type = 'client backend'
"""


# Whether this session sees every other session's transaction start (pg_stat_activity shows
# another role's xact_start only to a superuser or a member of pg_read_all_stats).
_SEES_EVERY_TRANSACTION = """
select rolsuper or pg_has_role(current_user, 'pg_read_all_stats', 'member')
from pg_roles where rolname = current_user
"""


def _margin(conn, margin: timedelta | None, default: timedelta) -> timedelta:
    """The margin to read again before a watermark: ``margin`` when given, else none when the
    watermark query saw every open transaction on this connection's server, else ``default``."""
    if margin is not None:
        return margin
    return timedelta(0) if conn.execute(_SEES_EVERY_TRANSACTION).fetchone()[0] else default


@dataclass(frozen=True)
class SyncResult:
    incoming: int
    inserted: int
    updated: int
    citizens: int
    # The golden record's attribute versions (ndc.population_history), when the warehouse
    # has them.
    history: HistoryResult | None = None

    @property
    def changed(self) -> bool:
        """Whether the sync changed the citizen table (the warehouse snapshot reads it)."""
        return bool(
            self.inserted or self.updated or (self.history and self.history.citizens_updated)
        )

    @property
    def unchanged(self) -> int:
        return self.incoming - self.inserted - self.updated

    def summary(self) -> str:
        return (
            f"population sync: {self.incoming} citizens sent from the mart, "
            f"{self.inserted} inserted, "
            f"{self.updated} updated, {self.unchanged} unchanged; {self.citizens} in the "
            "population database"
        ) + (
            ""
            if self.history is None
            else f"; {self.history.versions_sent} attribute versions of "
            f"{self.history.persons} citizens sent, {self.history.history_written} history "
            f"rows written, {self.history.citizens_updated} citizen rows updated from them"
        )


def _stream(src, query, dst, target: str) -> None:
    """COPY a query's rows from one database into a table of another, block by block."""
    query = sql.SQL(query) if isinstance(query, str) else query
    with src.cursor() as out_cur, dst.cursor() as in_cur:
        with (
            out_cur.copy(sql.SQL("copy ({}) to stdout").format(query)) as out,
            in_cur.copy(f"copy {target} from stdin") as inp,
        ):
            for block in out:
                inp.write(block)


# CITIZEN_DDL has run to its end (its last statement creates this trigger). ALTER TABLE and
# CREATE TRIGGER lock the table, waiting for every open writer (a long sync) and blocking
# readers behind them: they run only when something is missing. Whoever adds a statement to
# CITIZEN_DDL bumps the trigger's name, so existing databases run it once.
_CITIZEN_DDL_DONE = """
select exists (
    select from pg_trigger where tgname = 'citizen_touch' and tgrelid = to_regclass('citizen')
)
"""


def ensure_population_db(population_url: str) -> None:
    ensure_database(population_url)
    with connect(population_url) as conn:
        citizen, history = conn.execute(
            f"select ({_CITIZEN_DDL_DONE}), ({HISTORY_DDL_DONE})"
        ).fetchone()
        if citizen and history:
            return
        # The sync and the snapshot may start together: one DDL at a time.
        conn.execute("select pg_advisory_xact_lock(hashtext('ndc.population.ddl'))")
        if not citizen:
            conn.execute(CITIZEN_DDL)
        if not history:
            conn.execute(HISTORY_DDL)


def sync_citizens(
    warehouse_url: str,
    population_url: str,
    mart: str = "marts.citizens",
    full: bool = False,
    margin: timedelta | None = None,
) -> SyncResult:
    """Stream the mart rows changed since the last sync out of the warehouse with COPY and
    upsert them in one transaction.

    When the mart has a ``_changed_at`` column, only its rows changed since the last sync's
    watermark are sent (less ``margin``: by default none when this session sees every open
    transaction of the warehouse, else SYNC_MARGIN). The watermark is the point before which
    every change of the mart is visible to this sync (its snapshot's start, or the start of an
    older transaction still open: a build that commits later stamps its rows after it); it is
    stored in ``ops.population_sync`` after the population database committed, so a sync that
    stops in between sends the same rows again, which changes nothing. Without the column, or
    with ``full``, the whole mart is sent. Either way the upsert writes only the citizens whose
    values change, under the master-of-identity rules (UPSERT).
    """
    ensure_population_db(population_url)
    schema, _, table = mart.rpartition(".")
    cols = ", ".join(COLUMNS)
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("create schema if not exists ops")
        conn.execute(POPULATION_SYNC_DDL)
    with connect(warehouse_url) as src, connect(population_url) as dst:
        src.execute("set transaction isolation level repeatable read")
        watermark: datetime = src.execute(_WATERMARK).fetchone()[0]
        margin = _margin(src, margin, SYNC_MARGIN)
        marked = has_column(src, schema or "public", table, MART_CHANGE_COLUMN)
        last = src.execute(
            "select watermark from ops.population_sync where watermark is not null "
            "order by seq desc limit 1"
        ).fetchone()
        query = sql.SQL("select {}{} from {}").format(
            sql.SQL(cols),
            sql.SQL(f", {MART_CHANGE_COLUMN}") if marked else sql.SQL(""),
            sql.SQL(mart),
        )
        if marked and last and not full:
            query += sql.SQL(" where {} >= {}").format(
                sql.Identifier(MART_CHANGE_COLUMN), sql.Literal(last[0] - margin)
            )
        dst.execute("select pg_advisory_xact_lock(hashtext('ndc.population.sync'))")
        dst.execute(
            "create temp table citizen_incoming (like citizen including defaults) on commit drop"
        )
        target = f"citizen_incoming ({cols})"
        if marked:
            dst.execute(f"alter table citizen_incoming add column {MART_CHANGE_COLUMN} timestamptz")
            target = f"citizen_incoming ({cols}, {MART_CHANGE_COLUMN})"
        _stream(src, query, dst, target)
        incoming = dst.execute("select count(*) from citizen_incoming").fetchone()[0]
        fault_point("sync.upsert")  # reliability cases strike here (ndc.reliability.faults)
        inserted, updated = dst.execute(UPSERT).fetchone()
        # The golden record's versions of the citizens with a version written since the last
        # sync (by the same watermark), or all of them; then the citizen columns they set.
        history = None
        everyone = full or not last
        persons = persons_query(src, None if everyone else last[0] - margin)
        if persons is not None:
            dst.execute(
                "create temp table history_persons (personal_id varchar(12) primary key) "
                "on commit drop; "
                "create temp table history_incoming (like citizen_history) on commit drop"
            )
            _stream(src, persons, dst, "history_persons (personal_id)")
            _stream(
                src,
                versions_query(persons),
                dst,
                f"history_incoming ({', '.join(VERSION_COLUMNS)})",
            )
            history = apply_versions(dst, full=everyone)
        citizens = dst.execute("select count(*) from citizen").fetchone()[0]
        dst.commit()
        src.execute(
            "insert into ops.population_sync (watermark, citizens_sent, citizens_inserted, "
            "citizens_updated) values (%s, %s, %s, %s)",
            (watermark if marked else None, incoming, inserted, updated),
        )
    result = SyncResult(incoming, inserted, updated, citizens, history)
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


_SNAPSHOT_VALUES = ", ".join(POPULATION_SNAPSHOT_COLUMNS)


def _values(alias: str) -> str:
    return "(" + ", ".join(f"{alias}.{c}" for c in POPULATION_SNAPSHOT_COLUMNS) + ")"


def snapshot_to_warehouse(
    population_url: str,
    warehouse_url: str,
    full: bool = False,
    margin: timedelta | None = None,
) -> dict:
    """Bring ``raw.population__citizen`` up to date with the population database's citizens.

    Copies only the citizens changed or added since the last snapshot (``updated_at`` or
    ``created_at`` at or after its watermark, less ``margin``: by default none when this
    session sees every open transaction of the population database, else SNAPSHOT_MARGIN;
    every citizen with ``full``, on
    the first snapshot, or with no watermark yet), streamed with COPY. In one transaction, so
    dbt never sees half a snapshot: a row in ``ops.population_snapshot`` (its ``seq``); for
    each copied citizen whose values differ from the warehouse's (or who is new), its old row
    (if any) and its new row in ``raw.population__citizen_change`` under that ``seq``; then
    the upsert. A citizen copied again unchanged logs nothing, and the first snapshot (into an
    empty table) logs every citizen as new, so the change log alone tells an incremental model
    every row it has not seen. ``full`` also removes the citizens the population database
    no longer holds (logging their old rows); an incremental snapshot cannot see a deletion.

    Returns ``{"seq", "copied", "changed", "watermark"}``.
    """
    ensure_population_db(population_url)
    with connect(warehouse_url) as conn:  # DDL under the bootstrap's lock, briefly
        conn.execute("select pg_advisory_xact_lock(hashtext('ndc.warehouse.bootstrap'))")
        conn.execute("create schema if not exists raw; create schema if not exists ops")
        conn.execute(POPULATION_SNAPSHOT_DDL)
    with connect(population_url) as src, connect(warehouse_url) as dst:
        dst.execute("select pg_advisory_xact_lock(hashtext('ndc.population.snapshot'))")
        empty = not dst.execute(
            f"select exists (select 1 from {POPULATION_SNAPSHOT_TABLE})"
        ).fetchone()[0]
        last = dst.execute(
            f"select watermark from {POPULATION_SNAPSHOT_LOG} where watermark is not null "
            "order by seq desc limit 1"
        ).fetchone()
        # The watermark and the rows from one snapshot of the population database.
        src.execute("set transaction isolation level repeatable read")
        watermark: datetime = src.execute(_WATERMARK).fetchone()[0]
        query = sql.SQL(f"select {_SNAPSHOT_VALUES} from citizen")
        if not (full or empty or last is None):
            since = sql.Literal(last[0] - _margin(src, margin, SNAPSHOT_MARGIN))
            query += sql.SQL(" where updated_at >= {} or created_at >= {}").format(since, since)
        seq = dst.execute(
            f"insert into {POPULATION_SNAPSHOT_LOG} (watermark) values (%s) returning seq",
            (watermark,),
        ).fetchone()[0]
        if empty:  # the first snapshot: straight into the table, every citizen logged as new
            _stream(src, query, dst, f"{POPULATION_SNAPSHOT_TABLE} ({_SNAPSHOT_VALUES})")
            src.commit()
            copied = dst.execute(f"select count(*) from {POPULATION_SNAPSHOT_TABLE}").fetchone()[0]
            dst.execute(f"analyze {POPULATION_SNAPSHOT_TABLE}")
            changed = dst.execute(
                f"insert into {POPULATION_CHANGE_TABLE} (seq, {_SNAPSHOT_VALUES}, _image) "
                f"select %s, {_SNAPSHOT_VALUES}, 'new' from {POPULATION_SNAPSHOT_TABLE}",
                (seq,),
            ).rowcount
        else:
            copied, changed = _merge_snapshot(src, query, dst, seq, full)
        dst.execute(
            f"update {POPULATION_SNAPSHOT_LOG} set citizens_copied = %s, citizens_changed = %s "
            "where seq = %s",
            (copied, changed, seq),
        )
    log.info(
        "population snapshot %d: %d citizens copied, %d changed (watermark %s)",
        seq,
        copied,
        changed,
        watermark,
    )
    return {"seq": seq, "copied": copied, "changed": changed, "watermark": watermark.isoformat()}


def _estimated_rows(dst) -> float:
    return dst.execute(
        "select reltuples from pg_class where oid = %s::regclass", (POPULATION_SNAPSHOT_TABLE,)
    ).fetchone()[0]


def _merge_snapshot(src, query, dst, seq: int, full: bool) -> tuple[int, int]:
    """Copy the rows read into a temporary table, log the changes, upsert what changed."""
    dst.execute(
        f"create temp table population_incoming (like {POPULATION_SNAPSHOT_TABLE} "
        "including defaults) on commit drop"
    )
    _stream(src, query, dst, f"population_incoming ({_SNAPSHOT_VALUES})")
    src.commit()
    dst.execute("analyze population_incoming")
    copied = dst.execute("select count(*) from population_incoming").fetchone()[0]
    held = _estimated_rows(dst)
    if held < 0:  # never analysed (copied in before this version): statistics for the plans
        dst.execute(f"analyze {POPULATION_SNAPSHOT_TABLE}")
        held = _estimated_rows(dst)
    if copied * 20 < held:
        # A day's changes against the whole population: look each one up by its key. The
        # planner would hash the whole table (it prices an index probe as a disk read).
        dst.execute("set local enable_hashjoin = off; set local enable_mergejoin = off")
    changed = _log_changes(dst, seq, full)
    # An update joined to the rows read, then an insert of the new ones: planned as one hash
    # join for a full copy, index lookups for a day's changes (an upsert probes row by row).
    set_values = ", ".join(f"{c} = i.{c}" for c in POPULATION_SNAPSHOT_COLUMNS[1:])
    dst.execute(
        f"""
        update {POPULATION_SNAPSHOT_TABLE} r set {set_values}, _snapshot_at = now()
        from population_incoming i
        where i.personal_id = r.personal_id and {_values("r")} is distinct from {_values("i")}
        """
    )
    dst.execute(
        f"""
        insert into {POPULATION_SNAPSHOT_TABLE} ({_SNAPSHOT_VALUES})
        select {_SNAPSHOT_VALUES} from population_incoming i
        where not exists (
            select from {POPULATION_SNAPSHOT_TABLE} r where r.personal_id = i.personal_id
        )
        """
    )
    if full:
        dst.execute(
            f"delete from {POPULATION_SNAPSHOT_TABLE} r where not exists "
            "(select from population_incoming i where i.personal_id = r.personal_id)"
        )
    return copied, changed


def _log_changes(dst, seq: int, full: bool) -> int:
    """Old and new rows of the copied citizens whose values changed; returns how many."""
    cols = _SNAPSHOT_VALUES
    r_cols = ", ".join(f"r.{c}" for c in POPULATION_SNAPSHOT_COLUMNS)
    i_cols = ", ".join(f"i.{c}" for c in POPULATION_SNAPSHOT_COLUMNS)
    target = f"{POPULATION_CHANGE_TABLE} (seq, {cols}, _image)"
    dst.execute(
        f"""
        insert into {target}
        select %(seq)s, {r_cols}, 'old'
        from population_incoming i join {POPULATION_SNAPSHOT_TABLE} r using (personal_id)
        where {_values("r")} is distinct from {_values("i")}
        """,
        {"seq": seq},
    )
    changed = dst.execute(
        f"""
        insert into {target}
        select %(seq)s, {i_cols}, 'new'
        from population_incoming i left join {POPULATION_SNAPSHOT_TABLE} r using (personal_id)
        where r.personal_id is null or {_values("r")} is distinct from {_values("i")}
        """,
        {"seq": seq},
    ).rowcount
    if full:
        changed += dst.execute(
            f"""
            insert into {target}
            select %(seq)s, {r_cols}, 'old' from {POPULATION_SNAPSHOT_TABLE} r
            where not exists (select from population_incoming i where i.personal_id = r.personal_id)
            """,
            {"seq": seq},
        ).rowcount
    return changed


def citizen_count(population_url: str) -> int:
    with connect(population_url) as conn:
        exists = conn.execute("select to_regclass('public.citizen')").fetchone()[0]
        return conn.execute("select count(*) from citizen").fetchone()[0] if exists else 0
