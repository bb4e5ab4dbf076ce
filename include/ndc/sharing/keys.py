"""The agencies' API keys for the lookup service, stored as salted hashes in the warehouse.

A key is ``ndc_<key_id>_<secret>``: the key id (public, in the access log and in
``ndc serve key list``) finds the row, the secret is checked against its hash. The secret is
256 random bits, so a salted SHA-256 is enough (a slow password hash guards guessable
secrets, and these are not); the comparison is constant-time. The key itself is printed once,
by ``ndc serve key create``, and stored nowhere: a lost key is revoked and replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg

KEYS_DDL = """
create table if not exists ops.api_key (
    key_id text primary key,
    agency text not null,
    salt bytea not null,
    key_hash bytea not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
)
"""

_KEY = re.compile(r"ndc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    agency: str
    created_at: datetime
    revoked_at: datetime | None


def _hash(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("ascii")).digest()


def create_key(conn: psycopg.Connection, agency: str) -> str:
    """A new key for the agency: stored hashed, returned once."""
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
    conn.execute(
        "insert into ops.api_key (key_id, agency, salt, key_hash) values (%s, %s, %s, %s)",
        (key_id, agency, salt, _hash(salt, secret)),
    )
    return f"ndc_{key_id}_{secret}"


def key_id_of(presented: str | None) -> str | None:
    """The key id a presented key names, or None when it is not shaped like a key."""
    match = _KEY.fullmatch(presented or "")
    return match.group(1) if match else None


def verify_key(conn: psycopg.Connection, presented: str | None) -> str | None:
    """The agency of a valid, unrevoked key; None for a missing, malformed, unknown, revoked
    or wrong key (the caller cannot tell which)."""
    match = _KEY.fullmatch(presented or "")
    if not match:
        return None
    key_id, secret = match.groups()
    row = conn.execute(
        "select agency, salt, key_hash from ops.api_key where key_id = %s and revoked_at is null",
        (key_id,),
    ).fetchone()
    if row is None:
        return None
    agency, salt, key_hash = row
    return agency if hmac.compare_digest(_hash(bytes(salt), secret), bytes(key_hash)) else None


def list_keys(conn: psycopg.Connection) -> list[ApiKey]:
    rows = conn.execute(
        "select key_id, agency, created_at, revoked_at from ops.api_key order by created_at"
    ).fetchall()
    return [ApiKey(*row) for row in rows]


def revoke_key(conn: psycopg.Connection, key_id: str) -> bool:
    """Revoke a key by its id; False when there is no such unrevoked key."""
    cur = conn.execute(
        "update ops.api_key set revoked_at = now() where key_id = %s and revoked_at is null",
        (key_id,),
    )
    return cur.rowcount == 1
