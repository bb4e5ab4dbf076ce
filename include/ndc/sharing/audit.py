"""``ops.access_log``: every call of the lookup service, allowed or refused, with who asked,
for which citizen, which fields, for what purpose, the outcome and the time.

A lookup's answer is sent only after its log row is committed: no read of a person goes
unrecorded (the service answers 503 when the log cannot be written).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import psycopg

from ndc.sharing.keys import KEYS_DDL
from ndc.warehouse import connect


class Outcome(StrEnum):
    ALLOWED = "allowed"  # 200: the facts were returned
    NOT_FOUND = "not_found"  # 404: an entitled agency asked for an unknown personal ID
    UNAUTHENTICATED = "unauthenticated"  # 401: no key, or not a valid one
    FORBIDDEN = "forbidden"  # 403: no legal basis for the purpose or a field
    INVALID = "invalid"  # 422: a malformed personal ID, field list or purpose
    RATE_LIMITED = "rate_limited"  # 429
    UNAVAILABLE = "unavailable"  # 503: the population database could not be read


ACCESS_LOG_DDL = f"""
create table if not exists ops.access_log (
    id bigserial primary key,
    logged_at timestamptz not null default now(),
    agency text,  -- null when the caller presented no valid key
    key_id text,  -- the key presented, when it was shaped like one
    personal_id text,  -- as asked (possibly malformed)
    fields text[],
    purpose text,
    outcome text not null check (outcome in ({", ".join(f"'{o.value}'" for o in Outcome)})),
    status integer not null,
    detail text,
    client text
);
create index if not exists access_log_personal_id_idx on ops.access_log (personal_id);
create index if not exists access_log_agency_logged_at_idx on ops.access_log (agency, logged_at);
-- Append-only: a row once written is never changed or removed by the service's connections
-- (purging past the log's own retention is a deliberate act: disable the trigger, purge).
create or replace function ops.access_log_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'ops.access_log is append-only: % refused', tg_op;
end
$$;
create or replace trigger access_log_append_only before update or delete on ops.access_log
    for each row execute function ops.access_log_append_only();
create or replace trigger access_log_no_truncate before truncate on ops.access_log
    for each statement execute function ops.access_log_append_only();
"""

# What a caller sends is logged as sent, within bounds: no NUL (PostgreSQL text holds none),
# no lone surrogate, nothing unbounded.
_MAX_TEXT = 200
_MAX_FIELDS = 50


def clean(value: str | None, limit: int = _MAX_TEXT) -> str | None:
    if value is None:
        return None
    text = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return text[:limit]


@dataclass(frozen=True)
class Access:
    outcome: Outcome
    status: int
    agency: str | None = None
    key_id: str | None = None
    personal_id: str | None = None
    fields: tuple[str, ...] = ()
    purpose: str | None = None
    detail: str | None = None
    client: str | None = None


def ensure_tables(warehouse_url: str) -> None:
    """Create ``ops.api_key`` and ``ops.access_log`` when missing."""
    with connect(warehouse_url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('ndc.sharing.ddl'))")
        conn.execute("create schema if not exists ops")
        conn.execute(KEYS_DDL)
        conn.execute(ACCESS_LOG_DDL)


def record(conn: psycopg.Connection, access: Access) -> None:
    """Write one call to ``ops.access_log`` (the caller commits)."""
    conn.execute(
        "insert into ops.access_log (agency, key_id, personal_id, fields, purpose, outcome,"
        " status, detail, client) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            access.agency,
            access.key_id,
            clean(access.personal_id, 64),
            [clean(f, 64) for f in access.fields[:_MAX_FIELDS]],
            clean(access.purpose),
            access.outcome.value,
            access.status,
            clean(access.detail, 2000),
            clean(access.client, 100),
        ),
    )
