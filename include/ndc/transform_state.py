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

log = logging.getLogger(__name__)

STATE_DDL = """
create schema if not exists ops;
create table if not exists ops.model_fingerprint (
    model text primary key,
    relation text not null,
    fingerprint text not null,
    recorded_at timestamptz not null default now()
)
"""


def _hash(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def fingerprints(manifest_path: Path, project_vars: dict | None = None) -> dict[str, dict]:
    """Per incremental model (unique id): its relation and fingerprint."""
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

    return {
        uid: {
            "relation": node["relation_name"],
            "fingerprint": _hash(node_print(uid), project_vars),
        }
        for uid, node in nodes.items()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }


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
