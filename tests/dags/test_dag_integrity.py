"""Every DAG file imports cleanly, without touching a database or the network, and every DAG
carries what an operator needs (tags, retries, docs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ndc.registry import load_registry
from ndc.settings import DAGS_DIR, REPO_ROOT

# Parsing runs in a fresh interpreter where opening any socket raises, so a DAG file that
# connects to a database or the network at import time fails the test.
PARSE = textwrap.dedent(
    """
    import json, socket, sys
    def refuse(*args, **kwargs):
        raise RuntimeError(f"network access while parsing DAGs: {args}")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
    out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {
            "tags": sorted(dag.tags),
            "doc_md": dag.doc_md or "",
            "catchup": dag.catchup,
            "retries": [t.retries for t in dag.tasks],
            "owners": sorted({t.owner for t in dag.tasks}),
            "tasks": sorted(t.task_id for t in dag.tasks),
            "schedule": type(dag.timetable).__name__,
        }
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # An unreachable metadata database: parsing must not need one.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://nobody@127.0.0.1:1/none",
    }
    proc = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAGS_DIR)],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-5000:]
    return json.loads(lines[-1].removeprefix("RESULT"))


def test_no_import_errors(parsed):
    assert parsed["errors"] == {}


def test_one_ingest_dag_per_registry_file_plus_transform_and_sync(parsed):
    expected = {f"ingest_{name}" for name in load_registry()} | {"transform", "sync_population"}
    assert set(parsed["dags"]) == expected


@pytest.mark.parametrize("field", ["tags", "doc_md"])
def test_every_dag_is_documented_and_tagged(parsed, field):
    missing = [dag_id for dag_id, dag in parsed["dags"].items() if not dag[field]]
    assert missing == []


def test_every_task_retries_at_least_twice_and_has_an_owner(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert min(dag["retries"]) >= 2, dag_id
        assert dag["owners"] == ["ndc-data-engineering"], dag_id


def test_transform_renders_the_dbt_project_and_reconciles(parsed):
    tasks = parsed["dags"]["transform"]["tasks"]
    assert "prepare_warehouse" in tasks and "reconcile" in tasks
    assert any(t.startswith("dbt.") and "citizens" in t for t in tasks), tasks


def test_downstream_dags_are_scheduled_on_assets(parsed):
    assert "Asset" in parsed["dags"]["transform"]["schedule"]
    assert "Asset" in parsed["dags"]["sync_population"]["schedule"]
