"""When the code or reference data an incremental model was built with changes, rebuild it.

An incremental staging model conforms each batch once (dbt_project/README.md). Its rows stay
right only while what it was conformed with stays the same: the model's SQL and config, every
macro it calls (and the macros those call), the seeds and models upstream of it (dictionary
code lists, the population citizens model) and the project's vars. A *fingerprint* hashes
all of that from dbt's manifest; ``ops.model_fingerprint`` holds the fingerprint each table was
last built with. Before a transform, :func:`drop_changed_models` drops every incremental table
whose fingerprint changed (and what depends on it), so the run's ``dbt build`` builds it in
full; after a successful build :func:`record_fingerprints` stores the new fingerprints. Data
changes are not code changes: new batches and population changes are what the incremental
runs process.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import cache
from pathlib import Path

import psycopg
from psycopg import sql

from ndc.settings import DBT_PROJECT_DIR, libpq_url
from ndc.warehouse import POPULATION_SNAPSHOT_LOG

log = logging.getLogger(__name__)

STATE_DDL = """
create schema if not exists ops;
create table if not exists ops.model_fingerprint (
    model text primary key,
    relation text not null,
    fingerprint text not null,
    recorded_at timestamptz not null default now()
);
-- The last transform that finished: the whole project's fingerprint and the population
-- snapshot it conformed against (one row).
create table if not exists ops.transform_built (
    id integer primary key default 1 check (id = 1),
    project_fingerprint text not null,
    snapshot_seq bigint not null,
    built_at timestamptz not null default now()
)
"""


def _hash(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def fingerprints(
    manifest_path: Path, project_vars: dict | None = None, incremental_only: bool = True
) -> dict[str, dict]:
    """Per incremental model (unique id; every model and seed without ``incremental_only``):
    its relation and fingerprint."""
    manifest = json.loads(Path(manifest_path).read_text())
    nodes, macros = manifest["nodes"], manifest["macros"]
    if project_vars is None:
        project_vars = _project_vars(DBT_PROJECT_DIR / "dbt_project.yml")

    @cache
    def macro_print(uid: str) -> str:
        macro = macros.get(uid)
        if macro is None:  # a dbt built-in that is not in the manifest
            return uid
        closure = sorted(macro_print(m) for m in macro["depends_on"]["macros"])
        return _hash(macro["macro_sql"], closure)

    @cache
    def node_print(uid: str) -> str:
        node = nodes.get(uid)
        if node is None:  # a source: data, not code
            return uid
        if node["resource_type"] == "seed":
            return _hash("seed", node["checksum"]["checksum"], node["config"].get("column_types"))
        config = {k: v for k, v in node["config"].items() if k not in ("tags", "meta", "docs")}
        return _hash(
            node["raw_code"],
            config,
            sorted(macro_print(m) for m in node["depends_on"]["macros"]),
            sorted(node_print(n) for n in node["depends_on"]["nodes"]),
        )

    built = {
        uid: {
            "relation": node["relation_name"],
            "fingerprint": _hash(node_print(uid), project_vars),
        }
        for uid, node in nodes.items()
        if node["resource_type"] in ("model", "seed")
    }
    if not incremental_only:
        return built
    return {
        uid: state
        for uid, state in built.items()
        if nodes[uid]["config"].get("materialized") == "incremental"
    }


def project_fingerprint(manifest_path: Path) -> str:
    """One hash of every model and seed of the project (their code, config, macros and vars)."""
    every = fingerprints(manifest_path, incremental_only=False)
    return _hash(sorted((uid, state["fingerprint"]) for uid, state in every.items()))


def _project_vars(project_file: Path) -> dict:
    import yaml

    return (yaml.safe_load(project_file.read_text()) or {}).get("vars", {})


def _recorded(conn: psycopg.Connection) -> dict[str, str]:
    conn.execute(STATE_DDL)
    return dict(conn.execute("select model, fingerprint from ops.model_fingerprint").fetchall())


def drop_changed_models(warehouse_url: str, manifest_path: Path) -> list[str]:
    """Drop the tables of incremental models whose fingerprint changed; returns their ids."""
    current = fingerprints(manifest_path)
    dropped = []
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as conn:
        recorded = _recorded(conn)
        for uid, state in sorted(current.items()):
            if recorded.get(uid) == state["fingerprint"]:
                continue
            schema, table = (part.strip('"') for part in state["relation"].split(".")[-2:])
            exists = conn.execute(
                "select to_regclass(%s) is not null", (f"{schema}.{table}",)
            ).fetchone()[0]
            if exists:
                conn.execute(
                    sql.SQL("drop table {}.{} cascade").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                )
                dropped.append(uid)
                log.info("%s changed since it was built: dropped, it is built in full", uid)
    return dropped


def record_fingerprints(warehouse_url: str, manifest_path: Path) -> int:
    """Store the fingerprint of every incremental model (after a successful build)."""
    current = fingerprints(manifest_path)
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as conn:
        conn.execute(STATE_DDL)
        with conn.transaction():
            for uid, state in current.items():
                conn.execute(
                    """
                    insert into ops.model_fingerprint (model, relation, fingerprint)
                    values (%s, %s, %s)
                    on conflict (model) do update set relation = excluded.relation,
                        fingerprint = excluded.fingerprint, recorded_at = now()
                    """,
                    (uid, state["relation"], state["fingerprint"]),
                )
    return len(current)


# A ledger batch the staging models have not conformed and reconciled at its current version
# (never reconciled, loaded again since, or reconciled unbalanced).
_PENDING_BATCHES = """
select count(*)
from ops.load_ledger as ledger
left join ops.reconciliation as checked on checked.batch_id = ledger.batch_id
where checked.batch_id is null
    or checked.loaded_at is distinct from ledger.loaded_at
    or not checked.balanced
"""


def work_to_do(warehouse_url: str, manifest_path: Path, dropped: list[str]) -> list[str]:
    """Why a transform has work to do now (empty: the warehouse already holds everything).

    Work is: an incremental model dropped because its code changed, no finished transform
    yet, any model, seed or macro changed since the last finished transform, population
    changes logged after the snapshot that transform conformed against, a ledger batch
    not yet conformed and balanced, or a record linked (or a link reviewed) since then
    (ndc.linkage.flow)."""
    reasons = [f"{len(dropped)} incremental model(s) changed"] if dropped else []
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as conn:
        conn.execute(STATE_DDL)
        built = conn.execute(
            "select project_fingerprint, snapshot_seq from ops.transform_built"
        ).fetchone()
        if built is None:
            return reasons + ["no transform has finished on this warehouse yet"]
        if built[0] != project_fingerprint(manifest_path):
            reasons.append("the dbt project changed since the last transform")
        changes = conn.execute(
            f"select coalesce(sum(citizens_changed), 0) from {POPULATION_SNAPSHOT_LOG} "
            "where seq > %s",
            (built[1],),
        ).fetchone()[0]
        if changes:
            reasons.append(f"{changes} population change(s) since the last transform")
        pending = conn.execute(_PENDING_BATCHES).fetchone()[0]
        if pending:
            reasons.append(f"{pending} batch(es) not conformed yet")
        if conn.execute("select to_regclass('ops.person_links') is not null").fetchone()[0]:
            relinked = conn.execute(
                "select count(*) from ops.person_links p, ops.transform_built b "
                "where p._changed_at > b.built_at"
            ).fetchone()[0]
            if relinked:
                reasons.append(f"{relinked} record link(s) made or reviewed since then")
    return reasons


def record_built(warehouse_url: str, manifest_path: Path, snapshot_seq: int) -> None:
    """After a finished transform: the project it was built with, the snapshot it used."""
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as conn:
        conn.execute(STATE_DDL)
        conn.execute(
            """
            insert into ops.transform_built (id, project_fingerprint, snapshot_seq)
            values (1, %s, %s)
            on conflict (id) do update set project_fingerprint = excluded.project_fingerprint,
                snapshot_seq = excluded.snapshot_seq, built_at = now()
            """,
            (project_fingerprint(manifest_path), snapshot_seq),
        )
