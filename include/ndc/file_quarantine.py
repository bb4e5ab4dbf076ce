"""File-level quarantine: a file that cannot be read is set aside with its reason, the others
of the inbox land and load.

A set-aside file gets a record in the landing zone,
``quarantine/<source>/<entity>/<file>@<sha256[:12]>.json`` (:class:`SetAside`: source, entity,
file, sha256, reason code, message naming the row, when). The next extract finds the record
and skips the same bytes with the same reason, so a bad file is neither retried forever nor
lost from sight; a corrected file (other bytes, another sha256) lands normally. The load copies
the records into ``ops.file_quarantine`` (:func:`record_set_aside`), from which ``ndc report``
lists the files still set aside. The file itself stays in the source's inbox, untouched.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from ndc.landing import LandingZone

QUARANTINE_PREFIX = "quarantine"
_UNSAFE = re.compile(r"[^\w.-]+")


def safe_component(name: str) -> str:
    """A file name as one safe landing-key component: every run of characters other than
    letters, digits, ``_``, ``.`` and ``-`` (a slash, a space, a shell character, a control
    character) becomes ``_``, and leading dots go, so ``..`` and ``.hidden`` cannot be one."""
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    return cleaned or "_"


@dataclass(frozen=True)
class SetAside:
    """A file set aside: why, and where in it."""

    source: str
    entity: str
    file: str
    sha256: str
    reason: str  # a reason code: empty_file, missing_columns, field_count, encoding, ...
    message: str  # names the source, file and row
    row: int | None = None
    set_aside_at: str = ""

    @property
    def key(self) -> str:
        return set_aside_key(self.source, self.entity, self.file, self.sha256)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> SetAside:
        return cls(**json.loads(data))


def set_aside_key(source: str, entity: str, file: str, sha256: str) -> str:
    return f"{QUARANTINE_PREFIX}/{source}/{entity}/{safe_component(file)}@{sha256[:12]}.json"


def set_aside(
    landing: LandingZone,
    source: str,
    entity: str,
    file: str,
    sha256: str,
    reason: str,
    message: str,
    row: int | None = None,
) -> SetAside:
    """Write the record of a set-aside file (kept as first written when it exists)."""
    key = set_aside_key(source, entity, file, sha256)
    if landing.exists(key):
        return SetAside.from_json(landing.get_bytes(key))
    record = SetAside(
        source, entity, file, sha256, reason, message, row, datetime.now(UTC).isoformat()
    )
    landing.put_bytes(key, record.to_json())
    return record


def set_aside_record(
    landing: LandingZone, source: str, entity: str, file: str, sha256: str
) -> SetAside | None:
    """The record of these bytes of a file when they were set aside before."""
    key = set_aside_key(source, entity, file, sha256)
    return SetAside.from_json(landing.get_bytes(key)) if landing.exists(key) else None


def set_aside_records(landing: LandingZone, source: str) -> list[SetAside]:
    """Every file of a source ever set aside."""
    return [
        SetAside.from_json(landing.get_bytes(k))
        for k in landing.list(f"{QUARANTINE_PREFIX}/{source}/")
        if k.endswith(".json")
    ]


FILE_QUARANTINE_DDL = """
create table if not exists ops.file_quarantine (
    source text not null,
    entity text not null,
    file text not null,
    sha256 text not null,
    reason text not null,
    message text not null,
    row bigint,
    set_aside_at timestamptz not null,
    recorded_at timestamptz not null default now(),
    primary key (source, entity, file, sha256)
);
"""


def record_set_aside(conn, landing: LandingZone, source: str) -> int:
    """Copy the landing zone's set-aside records of a source into ``ops.file_quarantine``
    (idempotent); returns how many the source has."""
    records = set_aside_records(landing, source)
    if not records:
        return 0
    if conn.execute("select to_regclass('ops.file_quarantine')").fetchone()[0] is None:
        conn.execute(FILE_QUARANTINE_DDL)  # a warehouse bootstrapped before it existed
    with conn.cursor() as cur:
        cur.executemany(
            """
            insert into ops.file_quarantine
                (source, entity, file, sha256, reason, message, row, set_aside_at)
            values (%s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (source, entity, file, sha256) do nothing
            """,
            [
                (r.source, r.entity, r.file, r.sha256, r.reason, r.message, r.row, r.set_aside_at)
                for r in records
            ],
        )
    return len(records)


# The files still set aside: no batch of the same source, entity and file name was loaded
# after it (a corrected file under the same name replaces it).
OPEN_SET_ASIDE = """
select q.source, q.entity, q.file, q.sha256, q.reason, q.message, q.row, q.set_aside_at
from ops.file_quarantine q
where not exists (
    select 1 from ops.load_ledger l
    where l.source = q.source and l.entity = q.entity and l.source_file = q.file
      and l.loaded_at > q.set_aside_at
)
order by q.source, q.entity, q.file, q.set_aside_at
"""
