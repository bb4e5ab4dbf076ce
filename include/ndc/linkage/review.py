"""Clerical review of the links in the review band (``ops.link_review``).

A clerk accepts or rejects a queued link; the decision, who made it and when are kept in the
queue. An accepted link acts as an auto-link (``ops.person_links.linked``, link method
``probabilistic_reviewed``): the next transform takes the record out of quarantine. A rejected
one stays quarantined with its reason. :func:`labels` gives the decisions as labels for the
next training or calibration (record -> personal ID, or none), and :func:`review_labels` as
the labelled records the calibration reads (``python -m ndc.linkage.flow --warehouse URL``).
"""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from ndc.linkage.flow import ensure_tables
from ndc.linkage.model import ReviewLabels
from ndc.settings import libpq_url

DECISIONS = {"accept": "accepted", "reject": "rejected"}
_SELECT = """
select r.review_id, r.source, r.entity, r._batch_id, r._source_row, r.record_key,
       r.personal_id, r.match_probability, r.model_version, r.queued_at,
       r.decision, r.decided_by, r.decided_at, l.reason_code
from ops.link_review r
left join ops.person_links l
    on l.source = r.source and l.entity = r.entity
    and l._batch_id = r._batch_id and l._source_row = r._source_row
"""


class ReviewError(ValueError):
    """No such review, or it cannot take this decision; the message says which."""


def _connect(warehouse_url: str) -> psycopg.Connection:
    conn = psycopg.connect(libpq_url(warehouse_url), autocommit=True, row_factory=dict_row)
    ensure_tables(conn)
    return conn


def list_reviews(warehouse_url: str, everything: bool = False) -> list[dict]:
    """The links waiting for a decision (every queued link with ``everything``), oldest first."""
    where = "" if everything else "where r.decision is null"
    with _connect(warehouse_url) as conn:
        return conn.execute(f"{_SELECT} {where} order by r.review_id").fetchall()


def show_review(warehouse_url: str, review_id: int) -> dict:
    """One queued link with the record's staging row and the candidate citizen."""
    with _connect(warehouse_url) as conn:
        review = conn.execute(f"{_SELECT} where r.review_id = %s", (review_id,)).fetchone()
        if review is None:
            raise ReviewError(f"no review {review_id} in ops.link_review")
        review["record"] = _staging_row(conn, review)
        review["candidate"] = (
            conn.execute(
                "select personal_id, full_name, date_of_birth, sex_code "
                "from staging.stg_population__citizens where personal_id = %s",
                (review["personal_id"],),
            ).fetchone()
            if _exists(conn, "staging.stg_population__citizens")
            else None
        )
        return review


def _exists(conn, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null as x", (relation,)).fetchone()["x"]


def _staging_row(conn, review: dict) -> dict | None:
    from ndc.linkage.flow import _staging_table

    table = _staging_table(conn, review["source"], review["entity"])
    if table is None:
        return None
    columns = ("record_key", "full_name", "date_of_birth", "sex_code", "quarantine_reason_code")
    have = {
        r["column_name"]
        for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'staging' and table_name = %s",
            (table,),
        )
    }
    wanted = ", ".join(c for c in columns if c in have) or "_source_row"
    return conn.execute(
        f'select {wanted} from staging."{table}" where _batch_id = %s and _source_row = %s',
        (review["_batch_id"], review["_source_row"]),
    ).fetchone()


def decide(warehouse_url: str, review_id: int, decision: str, by: str) -> dict:
    """Accept or reject a queued link (``decision``: accept or reject), recording who and when.
    A decided review is not decided again."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be accept or reject, not {decision!r}")
    with _connect(warehouse_url) as conn, conn.transaction():
        review = conn.execute(
            "select * from ops.link_review where review_id = %s for update", (review_id,)
        ).fetchone()
        if review is None:
            raise ReviewError(f"no review {review_id} in ops.link_review")
        if review["decision"] is not None:
            raise ReviewError(
                f"review {review_id} was already {review['decision']} by {review['decided_by']} "
                f"at {review['decided_at']:%Y-%m-%d %H:%M}"
            )
        decided = conn.execute(
            "update ops.link_review set decision = %s, decided_by = %s, decided_at = now() "
            "where review_id = %s returning *",
            (DECISIONS[decision], by, review_id),
        ).fetchone()
        if decision == "accept":
            # The link acts as an auto-link from the next transform on: the record's row in
            # ops.person_links, if it is still this model's result for it.
            conn.execute(
                """
                update ops.person_links set linked = true,
                    link_method = 'probabilistic_reviewed', _changed_at = now()
                where source = %s and entity = %s and _batch_id = %s and _source_row = %s
                    and model_version = %s and personal_id = %s
                """,
                (
                    review["source"],
                    review["entity"],
                    review["_batch_id"],
                    review["_source_row"],
                    review["model_version"],
                    review["personal_id"],
                ),
            )
        return decided


def labels(warehouse_url: str) -> dict[str, str | None]:
    """The decisions as labels: ``{"source/entity/batch/row": personal_id or None}`` (None: the
    candidate was rejected, so the record's person is unknown but not that citizen)."""
    with _connect(warehouse_url) as conn:
        rows = conn.execute(
            "select source, entity, _batch_id, _source_row, personal_id, decision "
            "from ops.link_review where decision is not null order by review_id"
        ).fetchall()
    return {
        f"{r['source']}/{r['entity']}/{r['_batch_id']}/{r['_source_row']}": (
            r["personal_id"] if r["decision"] == "accepted" else None
        )
        for r in rows
    }


def review_labels(warehouse_url: str) -> ReviewLabels:
    """The decided reviews as labelled records for calibration: each record's staging row (the
    columns the model compares), the population snapshot, and the accepted and rejected
    candidates by record (``source/entity/batch/row``). A record whose staging row is gone
    (its batch loaded again) is left out: its label may no longer describe it."""
    import pandas as pd
    from psycopg import sql

    from ndc.linkage.flow import (
        POPULATION,
        _columns,
        _select,
        _staging_table,
        comparison_columns,
        population,
    )
    from ndc.registry import load_registry

    registry = load_registry()

    accepted: dict[str, str] = {}
    rejected: dict[str, str] = {}
    frames = []
    with _connect(warehouse_url) as conn:
        decided = conn.execute(
            "select source, entity, _batch_id, _source_row, personal_id, decision "
            "from ops.link_review where decision is not null order by review_id"
        ).fetchall()
    # Tuple rows: the flow's helpers read them by position.
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as conn:
        for (source, entity), rows in _by_entity(decided).items():
            table = _staging_table(conn, source, entity)
            if table is None:
                continue
            compared = comparison_columns(registry, source, entity, _columns(conn, table))
            columns = list(compared)
            found = conn.execute(
                sql.SQL(
                    "select s._batch_id, s._source_row, {} from staging.{} as s "
                    "where (s._batch_id, s._source_row) in "
                    "(select * from unnest(%s::text[], %s::bigint[]))"
                ).format(_select(compared), sql.Identifier(table)),
                ([r["_batch_id"] for r in rows], [r["_source_row"] for r in rows]),
            ).fetchall()
            staged = {(f[0], f[1]): dict(zip(columns, f[2:], strict=True)) for f in found}
            for r in rows:
                row = staged.get((r["_batch_id"], r["_source_row"]))
                if row is None:
                    continue
                key = f"{source}/{entity}/{r['_batch_id']}/{r['_source_row']}"
                (accepted if r["decision"] == "accepted" else rejected)[key] = r["personal_id"]
                frames.append({"record_id": key, **{c: row[c] for c in columns}})
        pop = population(conn) if frames and _relation(conn, POPULATION) else None
    from ndc.linkage.flow import model_columns

    records = model_columns(pd.DataFrame(frames)) if frames else pd.DataFrame()
    if pop is None:
        pop = pd.DataFrame(columns=["personal_id", "full_name", "date_of_birth", "sex_code"])
    return ReviewLabels(records=records, population=pop, accepted=accepted, rejected=rejected)


def _relation(conn, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def _by_entity(rows: list[dict]) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        out.setdefault((r["source"], r["entity"]), []).append(r)
    return out
