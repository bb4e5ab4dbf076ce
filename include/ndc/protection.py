"""Warehouse access control: the roles, what each may read and write, and the analyst
pseudonym key (README.md, "Protection").

The roles are NOLOGIN group roles: an operator grants one to a real login
(``grant ndc_analyst to alice``), so no password exists anywhere in ndc. Roles are
cluster-wide in PostgreSQL while privileges live in each database: the roles have fixed names
and are created once per server, idempotently (concurrent bootstraps of other stacks may race
to create them), and every bootstrap grants them what they may do in its own database only.
So two stacks or test runs on one server share the roles but never each other's grants.

The grants on tables dbt builds are given by dbt itself, in the same transaction as the build
(post-hooks in dbt_project/macros/protection.sql), since dbt drops and recreates tables: the
discrepancy mart of each agency, the agencies' rows of the shared quarantine tables (row-level
security by their `source` column), the analyst marts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

import psycopg
from psycopg import errors, sql

LOADER = "ndc_loader"
TRANSFORMER = "ndc_transformer"
ANALYST = "ndc_analyst"
AGENCY_PREFIX = "ndc_agency_"
# The schemas dbt builds (dbt_project.yml), created here so grants on them can be given before
# the first build; owned by the transformer when dbt runs as it.
DBT_SCHEMAS = ("staging", "quarantine", "intermediate", "marts", "analyst", "dictionary")
# Where the pseudonym key lives: no role but the bootstrap's own (the database owner or a
# superuser) may use the schema. The transformer computes pseudonyms through ops.pseudonym(),
# a SECURITY DEFINER function, and never reads the key.
VAULT = "vault"
HMAC_BLOCK = 64  # bytes, SHA-256's block size


class ProtectionError(RuntimeError):
    """The roles cannot be created or granted (the bootstrap's login lacks the privilege)."""


def agency_role(source: str) -> str:
    return f"{AGENCY_PREFIX}{source}"


def roles(sources: Iterable[str]) -> list[str]:
    """Every role of the warehouse, for the registry's sources."""
    return [LOADER, TRANSFORMER, ANALYST, *(agency_role(s) for s in sorted(sources))]


def ensure_roles(conn: psycopg.Connection, names: Iterable[str]) -> None:
    """Create the NOLOGIN roles that do not exist yet (cluster-wide; a role another bootstrap
    creates at the same moment is taken as it is)."""
    have = {r[0] for r in conn.execute("select rolname from pg_roles")}
    for name in names:
        if name in have:
            continue
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(name)))
        except (errors.DuplicateObject, errors.UniqueViolation):
            pass
        except errors.InsufficientPrivilege as e:
            raise ProtectionError(
                f"cannot create role {name}: the warehouse login needs CREATEROLE (or an "
                f"operator creates the roles once: README.md, Protection): {e}"
            ) from e


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of HMAC-SHA256 (RFC 2104), so the database computes
    the HMAC with its built-in sha256() alone (no pgcrypto in the embedded PostgreSQL)."""
    if len(key) > HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


# The pseudonym's hex digits 0-9 written as the letters g-p: 32 letters a-p, never a run of
# digits that a reader (or a scanner for personal IDs) could take for a number.
PSEUDONYM_DIGITS = ("0123456789", "ghijklmnop")


def pseudonym(key: bytes, value: str) -> str:
    """What ops.pseudonym(value) returns for this key: 128 bits of HMAC-SHA256, as letters."""
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    return digest.translate(str.maketrans(*PSEUDONYM_DIGITS))


PSEUDONYM_DDL = f"""
create schema if not exists {VAULT};
revoke all on schema {VAULT} from public;
create table if not exists {VAULT}.pseudonym_key (
    only_row boolean primary key default true check (only_row),
    inner_pad bytea not null,
    outer_pad bytea not null,
    set_at timestamptz not null default now()
);
create or replace function ops.pseudonym(value text) returns text
language sql stable strict security definer
set search_path = pg_catalog, pg_temp
as $fn$
    select translate(
        left(encode(
            sha256(k.outer_pad || sha256(k.inner_pad || convert_to(value, 'UTF8'))), 'hex'
        ), 32),
        '{PSEUDONYM_DIGITS[0]}', '{PSEUDONYM_DIGITS[1]}'
    )
    from {VAULT}.pseudonym_key as k
$fn$;
revoke all on function ops.pseudonym(text) from public;
"""


def ensure_pseudonym_key(conn: psycopg.Connection, key: str | None) -> None:
    """The key of ops.pseudonym(): the configured one (NDC_PSEUDONYM_KEY), or, when none is
    configured, a random key made once per warehouse and kept in it (never in the repository)."""
    conn.execute(PSEUDONYM_DDL)
    if key:
        inner, outer = hmac_pads(key.encode("utf-8"))
        conn.execute(
            f"insert into {VAULT}.pseudonym_key (inner_pad, outer_pad) values (%s, %s) "
            "on conflict (only_row) do update set inner_pad = excluded.inner_pad, "
            "outer_pad = excluded.outer_pad, set_at = now() "
            f"where {VAULT}.pseudonym_key.inner_pad is distinct from excluded.inner_pad",
            (inner, outer),
        )
    else:
        inner, outer = hmac_pads(secrets.token_bytes(32))
        conn.execute(
            f"insert into {VAULT}.pseudonym_key (inner_pad, outer_pad) values (%s, %s) "
            "on conflict (only_row) do nothing",
            (inner, outer),
        )


def _grant(conn: psycopg.Connection, statement: str, **names: str) -> None:
    conn.execute(sql.SQL(statement).format(**{k: sql.Identifier(v) for k, v in names.items()}))


def grant_roles(conn: psycopg.Connection, sources: Iterable[str]) -> None:
    """What each role may do in this database, on what the bootstrap creates (raw, ops, the
    schemas dbt fills); the tables dbt builds are granted by dbt (macros/protection.sql)."""
    db = conn.info.dbname
    for schema in DBT_SCHEMAS:
        _grant(conn, "create schema if not exists {s}", s=schema)
    # The loader: the raw tables and the ledger; nothing dbt builds.
    _grant(conn, "grant usage, create on schema raw, ops to {r}", r=LOADER)
    _grant(
        conn,
        "grant select, insert, update, delete on all tables in schema raw, ops to {r}",
        r=LOADER,
    )
    _grant(conn, "grant usage on all sequences in schema ops to {r}", r=LOADER)
    # The transformer (dbt): reads raw and ops, keeps its own state in ops (model_state,
    # retired_rows), builds the dbt schemas, computes pseudonyms without reading their key.
    _grant(conn, "grant create on database {d} to {r}", d=db, r=TRANSFORMER)
    _grant(conn, "grant usage, create on schema raw, ops to {r}", r=TRANSFORMER)
    _grant(conn, "grant select on all tables in schema raw to {r}", r=TRANSFORMER)
    _grant(
        conn,
        "grant select, insert, update, delete on all tables in schema ops to {r}",
        r=TRANSFORMER,
    )
    _grant(conn, "grant usage on all sequences in schema ops to {r}", r=TRANSFORMER)
    for schema in DBT_SCHEMAS:
        _grant(conn, "grant usage, create on schema {s} to {r}", s=schema, r=TRANSFORMER)
    _grant(conn, "grant execute on function ops.pseudonym(text) to {r}", r=TRANSFORMER)
    # Tables the loader creates later (a new entity) are readable by the transformer.
    _grant(
        conn,
        "alter default privileges for role {l} in schema raw grant select on tables to {r}",
        l=LOADER,
        r=TRANSFORMER,
    )
    # The analyst: the analyst schema only (its tables are granted as dbt builds them).
    _grant(conn, "grant usage on schema analyst to {r}", r=ANALYST)
    # Each agency: its discrepancy mart and its quarantined rows (granted as dbt builds them).
    for source in sources:
        _grant(conn, "grant usage on schema marts, quarantine to {r}", r=agency_role(source))


def _owner(schema: str, relation: str, loader: str | None, transformer: str | None) -> str | None:
    """Who should own a relation when the load and dbt run as their roles; None: leave it."""
    if (schema, relation) in TRANSFORMER_STATE:
        return transformer
    if schema in DBT_SCHEMAS:
        return transformer
    if schema == "raw" and not relation.startswith("population__"):
        return loader
    return None


# The state dbt's on-run-start hook creates and migrates (macros/incremental.sql).
TRANSFORMER_STATE = {
    ("ops", "model_state"),
    ("ops", "retired_rows"),
    ("raw", "population__citizen_change"),
}


def hand_over(conn: psycopg.Connection, loader: str | None, transformer: str | None) -> None:
    """When the load and dbt run as their roles (NDC_WAREHOUSE_LOADER_ROLE,
    NDC_WAREHOUSE_TRANSFORMER_ROLE), make them own what they alter: the loader the registry's
    raw tables (it adds the columns a batch brings), the transformer the dbt schemas, what is
    in them and the state dbt keeps (it drops and recreates its tables). Only what someone
    else owns is altered (an ALTER OWNER locks the table)."""
    if transformer:
        for schema, owner in conn.execute(
            "select nspname, pg_get_userbyid(nspowner) from pg_namespace where nspname = any(%s)",
            (list(DBT_SCHEMAS),),
        ).fetchall():
            if owner != transformer:
                _grant(conn, "alter schema {s} owner to {r}", s=schema, r=transformer)
    relations = conn.execute(
        "select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p')",
        (["raw", "ops", *DBT_SCHEMAS],),
    ).fetchall()
    for schema, name, kind, owner in relations:
        role = _owner(schema, name, loader, transformer)
        if role is None or role == owner:
            continue
        what = {"v": "view", "m": "materialized view"}.get(kind, "table")
        conn.execute(
            sql.SQL("alter {} {}.{} owner to {}").format(
                sql.SQL(what), sql.Identifier(schema), sql.Identifier(name), sql.Identifier(role)
            )
        )


def protect(
    conn: psycopg.Connection,
    sources: Iterable[str],
    pseudonym_key: str | None = None,
    loader: str | None = None,
    transformer: str | None = None,
) -> None:
    """Roles, grants and the pseudonym key of the connection's database (bootstrap)."""
    sources = sorted(sources)
    ensure_roles(conn, roles(sources))
    ensure_pseudonym_key(conn, pseudonym_key)
    grant_roles(conn, sources)
    if loader or transformer:
        hand_over(conn, loader, transformer)
