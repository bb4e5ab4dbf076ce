"""Content hashes of warehouse tables: proof that two builds produced the same data.

Each relation's rows are turned into text without the processing columns (when a row was
loaded, copied or synced: they differ between two runs of the same data), sorted, and hashed.
Two warehouses with equal hashes per relation hold the same rows.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ndc.settings import libpq_url

# When a row was loaded, snapshotted, changed or synced: differs between two runs of the
# same data, so left out of the comparison.
PROCESSING_COLUMNS = frozenset(
    {
        "_loaded_at",
        "loaded_at",
        "received_at",
        "_conformed_at",
        "_changed_at",
        "_built_at",
        "_snapshot_at",
        "updated_at",
        "created_at",
        "built_at",
        "synced_at",
    }
)
DBT_SCHEMAS = ("staging", "quarantine", "intermediate", "marts")


def relations(url: str, schemas=DBT_SCHEMAS) -> list[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            """
            select table_schema || '.' || table_name from information_schema.tables
            where table_schema = any(%s) order by 1
            """,
            (list(schemas),),
        ).fetchall()
    return [r[0] for r in rows]


def table_hash(conn: psycopg.Connection, relation: str, exclude=PROCESSING_COLUMNS) -> tuple:
    """(rows, md5 of the sorted row texts) of one relation, without the excluded columns."""
    schema, table = relation.split(".")
    columns = [
        r[0]
        for r in conn.execute(
            """
            select column_name from information_schema.columns
            where table_schema = %s and table_name = %s order by ordinal_position
            """,
            (schema, table),
        ).fetchall()
        if r[0] not in exclude
    ]
    row = sql.SQL("row({})::text").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
    query = sql.SQL(
        "select count(*), md5(coalesce(string_agg(r, E'\\n' order by r collate \"C\"), ''))"
        " from (select {} as r from {}.{}) as t"
    ).format(row, sql.Identifier(schema), sql.Identifier(table))
    return tuple(conn.execute(query).fetchone())


def table_hashes(url: str, names: list[str] | None = None, exclude=PROCESSING_COLUMNS) -> dict:
    """Per relation (schema.table) of the dbt schemas, or of ``names``: (rows, hash)."""
    names = names if names is not None else relations(url)
    with psycopg.connect(libpq_url(url)) as conn:
        return {name: table_hash(conn, name, exclude) for name in names}


def differences(left: dict, right: dict) -> dict:
    """Relations whose (rows, hash) differ, or that only one side has."""
    return {
        name: (left.get(name), right.get(name))
        for name in sorted(set(left) | set(right))
        if left.get(name) != right.get(name)
    }
