"""The golden record in the population database: each attribute's current value with its
provenance (``citizen_attribute``) and every version of it (``citizen_history``), written by
the population sync from the warehouse mart ``marts.citizen_attribute_versions``.

The attributes are the dictionary's elements with a ``survivorship`` (the golden record beyond
identity); the mart applies the rules. A version is valid from ``valid_from`` (the date its
source record took effect, by the record itself) to ``valid_to`` (exclusive, null while
current), so the state of a citizen on any past date is the versions valid on that date
(``ndc.citizen_record``). The citizen row's own columns that such an attribute names
(commune, province, date of death) follow the golden record where the dictionary's authority
is not the population database: the master of identity (name, date of birth, sex) is never
overwritten here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

HISTORY_DDL = """
create table if not exists citizen_history (
    personal_id varchar(12) not null,
    attribute text not null,
    value text,
    valid_from date not null,
    valid_to date,
    source_system text not null,
    source_entity text,
    batch_id text not null,
    record_key text,
    primary key (personal_id, attribute, valid_from),
    check (valid_to is null or valid_to > valid_from)
);
create table if not exists citizen_attribute (
    personal_id varchar(12) not null,
    attribute text not null,
    value text,
    valid_from date not null,
    source_system text not null,
    source_entity text,
    batch_id text not null,
    record_key text,
    primary key (personal_id, attribute)
);
-- Every read of a person (ndc citizen show): who asked, when, for which citizen and date.
create schema if not exists audit;
create table if not exists audit.person_read (
    id bigserial primary key,
    read_at timestamptz not null default now(),
    requested_by text not null,
    personal_id varchar(12) not null,
    as_of date,
    purpose text,
    command text not null
);
create index if not exists person_read_personal_id_idx on audit.person_read (personal_id);
"""

# HISTORY_DDL has run (its last table and index exist). Whoever adds a statement to it
# renames that index, so existing databases run it once.
HISTORY_DDL_DONE = "select to_regclass('audit.person_read_personal_id_idx') is not null"

VERSIONS_MART = "marts.citizen_attribute_versions"
VERSION_COLUMNS = (
    "personal_id",
    "attribute",
    "value",
    "valid_from",
    "valid_to",
    "source_system",
    "source_entity",
    "batch_id",
    "record_key",
)
ATTRIBUTE_COLUMNS = tuple(c for c in VERSION_COLUMNS if c != "valid_to")


@dataclass(frozen=True)
class HistoryResult:
    versions_sent: int
    persons: int
    history_written: int
    citizens_updated: int


def citizen_columns(conn) -> dict[str, str]:
    """The citizen columns the golden record updates -> their SQL type: the attributes (the
    dictionary's elements with a survivorship) the citizen table has a column for, whose
    authority is not the population database (the master of identity)."""
    from ndc.dictionary.model import golden_attributes

    types = dict(
        conn.execute(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = 'citizen'::regclass and attnum > 0 and not attisdropped"
        ).fetchall()
    )
    return {
        e["name"]: types[e["name"]]
        for e in golden_attributes()
        if e["name"] in types and e["authoritative_source"] != "population_db"
    }


def persons_query(src, since: datetime | None) -> sql.Composed | None:
    """The citizens whose versions to send: every citizen of the mart when ``since`` is None;
    else those with a version written since then, or removed since then (the mart's rows the
    dbt strategy retired, ops.retired_rows, while it keeps them). None when the warehouse has
    no such mart (an older release)."""
    if src.execute("select to_regclass(%s)", (VERSIONS_MART,)).fetchone()[0] is None:
        return None
    mart = sql.SQL(VERSIONS_MART)
    if since is None:
        return sql.SQL("select distinct personal_id from {}").format(mart)
    query = sql.SQL("select distinct personal_id from {} where _built_at >= {}").format(
        mart, sql.Literal(since)
    )
    if src.execute("select to_regclass('ops.retired_rows')").fetchone()[0] is not None:
        query += sql.SQL(
            " union select row->>'personal_id' from ops.retired_rows"
            " where model = {} and retired_at >= {}"
        ).format(sql.Literal(VERSIONS_MART.rpartition(".")[2]), sql.Literal(since))
    return query


def versions_query(persons: sql.Composed) -> sql.Composed:
    """The mart's versions of the citizens ``persons`` selects."""
    return sql.SQL("select {} from {} where personal_id in ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, VERSION_COLUMNS)), sql.SQL(VERSIONS_MART), persons
    )


def _same(left: str, right: str, columns: tuple[str, ...]) -> str:
    """Two rows hold the same values (nulls equal)."""
    return (
        f"row({', '.join(f'{left}.{c}' for c in columns)}) is not distinct from "
        f"row({', '.join(f'{right}.{c}' for c in columns)})"
    )


def apply_versions(dst, full: bool = False) -> HistoryResult:
    """Bring citizen_history and citizen_attribute of the citizens in ``history_persons`` to
    their versions in ``history_incoming`` (none: a citizen whose versions all went away),
    writing only the rows that differ, then the citizen columns of those citizens and of the
    ones in ``citizen_incoming`` (just inserted or changed by the sync) to their current
    golden values. ``full``: the persons are every citizen of the mart, so the rows of any
    other go too. In the caller's transaction."""
    cols = ", ".join(VERSION_COLUMNS)
    attr_cols = ", ".join(ATTRIBUTE_COLUMNS)
    sent = dst.execute("select count(*) from history_incoming").fetchone()[0]
    persons = dst.execute("select count(*) from history_persons").fetchone()[0]
    # Every lookup below is by citizen: a day's few against the whole history, or a full sync.
    dst.execute("create index on history_incoming (personal_id)")
    dst.execute("analyze history_incoming; analyze history_persons")

    def sent_to(alias: str) -> str:
        if full:
            return "true"
        return f"{alias}.personal_id in (select personal_id from history_persons)"

    written = dst.execute(
        f"""
        delete from citizen_history h
        where {sent_to("h")}
            and not exists (select from history_incoming i
                            where i.personal_id = h.personal_id
                                and {_same("i", "h", VERSION_COLUMNS)})
        """
    ).rowcount
    written += dst.execute(
        f"""
        insert into citizen_history ({cols})
        select {cols} from history_incoming i
        where not exists (select from citizen_history h
                          where h.personal_id = i.personal_id
                              and {_same("i", "h", VERSION_COLUMNS)})
        """
    ).rowcount
    dst.execute(
        f"""
        delete from citizen_attribute a
        where {sent_to("a")}
            and not exists (select from history_incoming i
                            where i.personal_id = a.personal_id and i.valid_to is null
                                and {_same("i", "a", ATTRIBUTE_COLUMNS)})
        """
    )
    dst.execute(
        f"""
        insert into citizen_attribute ({attr_cols})
        select {attr_cols} from history_incoming i
        where i.valid_to is null
            and not exists (select from citizen_attribute a
                            where a.personal_id = i.personal_id
                                and {_same("i", "a", ATTRIBUTE_COLUMNS)})
        """
    )
    updated: set[str] = set()
    for column, type_ in citizen_columns(dst).items():
        rows = dst.execute(
            sql.SQL(
                """
                update citizen c set {column} = a.value::{type}
                from citizen_attribute a
                where a.personal_id = c.personal_id and a.attribute = {attribute}
                    and a.value is not null
                    and c.{column} is distinct from a.value::{type}
                    and c.personal_id in (
                        select personal_id from history_persons
                        union select personal_id from citizen_incoming)
                returning c.personal_id
                """
            ).format(
                column=sql.Identifier(column),
                type=sql.SQL(type_),
                attribute=sql.Literal(column),
            )
        ).fetchall()
        updated.update(r[0] for r in rows)
    return HistoryResult(sent, persons, written, len(updated))
