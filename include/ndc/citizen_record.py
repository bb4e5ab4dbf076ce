"""One citizen's golden record as the population database holds it, now or on a past date,
with each attribute's provenance and history; every read is recorded in ``audit.person_read``.

Identity (name, date of birth, sex, the old CMND, ethnicity) is the population database's own
(the master of identity; it keeps no history of it). The attributes beyond identity come from
``citizen_attribute`` (current) or, on a past date, from ``citizen_history``: the versions
valid on that date (``valid_from <= date < valid_to``), which is how the state of any citizen
on any past date is rebuilt.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ndc.population import ensure_population_db
from ndc.warehouse import connect

IDENTITY_COLUMNS = (
    "personal_id",
    "full_name",
    "date_of_birth",
    "sex_code",
    "cmnd",
    "ethnicity_code",
    "household_id",
    "source_systems",
)
PROVENANCE_COLUMNS = (
    "value",
    "valid_from",
    "valid_to",
    "source_system",
    "source_entity",
    "batch_id",
    "record_key",
)

_AS_OF = """
select attribute, {columns} from citizen_history
where personal_id = %(pid)s and valid_from <= %(as_of)s
    and (valid_to is null or valid_to > %(as_of)s)
order by attribute
"""
_CURRENT = """
select a.attribute, a.value, a.valid_from, null::date as valid_to, a.source_system,
    a.source_entity, a.batch_id, a.record_key
from citizen_attribute a
where a.personal_id = %(pid)s
order by a.attribute
"""
_HISTORY = """
select attribute, {columns} from citizen_history
where personal_id = %(pid)s and (%(as_of)s::date is null or valid_from <= %(as_of)s)
order by attribute, valid_from
"""


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def read_citizen(
    population_url: str,
    personal_id: str,
    requested_by: str,
    as_of: date | None = None,
    purpose: str | None = None,
    command: str = "ndc citizen show",
) -> dict[str, Any] | None:
    """The citizen's golden record (identity, attributes with provenance, history; on
    ``as_of`` when given), or None when the population database has no such citizen. The
    read is recorded (who asked, when, which citizen and date, the purpose) in the same
    transaction, found or not."""
    from ndc.dictionary.model import golden_attributes

    authority = {e["name"]: e["authoritative_source"] for e in golden_attributes()}
    ensure_population_db(population_url)
    params = {"pid": personal_id, "as_of": as_of}
    columns = ", ".join(PROVENANCE_COLUMNS)
    with connect(population_url) as conn:
        conn.execute(
            "insert into audit.person_read (requested_by, personal_id, as_of, purpose, command) "
            "values (%s, %s, %s, %s, %s)",
            (requested_by, personal_id, as_of, purpose, command),
        )
        row = conn.execute(
            f"select {', '.join(IDENTITY_COLUMNS)} from citizen where personal_id = %(pid)s",
            params,
        ).fetchone()
        current = conn.execute(
            _AS_OF.format(columns=columns) if as_of else _CURRENT, params
        ).fetchall()
        history = conn.execute(_HISTORY.format(columns=columns), params).fetchall()
    if row is None and not current:
        return None
    identity = dict(zip(IDENTITY_COLUMNS, map(_text, row), strict=True)) if row else None
    if identity is not None:
        identity["source_system"] = "population_db"
    return {
        "personal_id": personal_id,
        "as_of": _text(as_of),
        "identity": identity,
        "attributes": {
            r[0]: {
                **dict(zip(PROVENANCE_COLUMNS, map(_text, r[1:]), strict=True)),
                "authoritative_source": authority.get(r[0]),
            }
            for r in current
        },
        "history": [
            {"attribute": r[0], **dict(zip(PROVENANCE_COLUMNS, map(_text, r[1:]), strict=True))}
            for r in history
        ],
    }


def render(record: dict[str, Any]) -> str:
    """The record as text for a terminal."""
    lines = [
        f"citizen {record['personal_id']}"
        + (f" as of {record['as_of']}" if record["as_of"] else "")
    ]
    identity = record["identity"]
    if identity is None:
        lines.append("  identity: not in the citizen table (attributes only)")
    else:
        lines.append("  identity (population database, master of identity):")
        lines += [
            f"    {k}: {v}"
            for k, v in identity.items()
            if k not in ("personal_id", "source_system")
        ]
    lines.append("  attributes:")
    for name, a in record["attributes"].items():
        lines.append(
            f"    {name}: {a['value']}  (since {a['valid_from']}; {a['source_system']} "
            f"{a['source_entity']} {a['record_key']}, batch {a['batch_id']})"
        )
    if not record["attributes"]:
        lines.append("    (none)")
    lines.append("  history:")
    for v in record["history"]:
        lines.append(
            f"    {v['attribute']}: {v['value']}  [{v['valid_from']} .. {v['valid_to'] or ''})"
            f"  {v['source_system']} {v['source_entity']} {v['record_key']}, batch {v['batch_id']}"
        )
    return "\n".join(lines)
