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
from ndc.settings import DAGS_DIR, DBT_PROJECT_DIR, REPO_ROOT

DBT_THREADS = (os.cpu_count() or 1) + 3

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
            "params": {k: dag.params.get_param(k).resolve() for k in dag.params},
            "task_types": {t.task_id: type(t).__name__ for t in dag.tasks},
            "upstream": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
        }
    producer = bag.dags["transform"].get_task("dbt.dbt_producer_watcher")
    watchers = [t for t in bag.dags["transform"].tasks if hasattr(t, "model_unique_id")]
    out["producer"] = {
        "dbt_cmd_flags": producer.dbt_cmd_flags,
        "full_refresh": producer.full_refresh,
        "invocation_mode": producer.invocation_mode.value,
        "profiles_yml": str(producer.profile_config.profiles_yml_filepath),
        "target": producer.profile_config.target_name,
        "env": producer.env,
        "watchers": {t.task_id: t.model_unique_id for t in watchers},
        "deferrable": sorted({t.deferrable for t in watchers}),
        "mode": sorted({t.mode for t in watchers}),
        "pools": {"producer": producer.pool, "watchers": sorted({t.pool for t in watchers})},
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
        # Not this machine's core count, so the test sees the setting reach the dbt build.
        "NDC_DBT_THREADS": str(DBT_THREADS),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO_ROOT / "include"), os.environ.get("PYTHONPATH")])
        ),
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


def _file_products() -> list[str]:
    from ndc.sharing.registry import DeliveryKind, load_sharing_registry

    return [n for n, p in load_sharing_registry().items() if p.delivery.kind is DeliveryKind.FILES]


def test_one_ingest_dag_per_registry_file_one_share_dag_per_files_product(parsed):
    expected = (
        {f"ingest_{name}" for name in load_registry()}
        | {f"share_{name}" for name in _file_products()}
        | {"transform", "sync_population", "quality_scorecard"}
    )
    assert set(parsed["dags"]) == expected
    # The three products on main; the api product has no DAG (it is pulled, not pushed).
    assert len(_file_products()) >= 3


def test_ingest_dags_take_a_param_to_rescan_the_landing_zone(parsed):
    for name in load_registry():
        assert parsed["dags"][f"ingest_{name}"]["params"] == {"rescan_landing": False}, name


def test_share_dags_run_on_the_marts_they_read_and_take_a_full_snapshot_param(parsed):
    for name in _file_products():
        dag = parsed["dags"][f"share_{name}"]
        assert "Asset" in dag["schedule"], name
        assert dag["tasks"] == ["deliver"]
        assert dag["params"] == {"full_snapshot": False}
        assert "share" in dag["tags"]


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
    assert "Asset" in parsed["dags"]["quality_scorecard"]["schedule"]


def test_scorecard_checks_each_agency_and_the_deliveries_in_their_own_task(parsed):
    assert parsed["dags"]["quality_scorecard"]["tasks"] == sorted(
        [f"check_{name}" for name in load_registry()] + ["check_sharing"]
    )


def _manifest_nodes(*resource_types: str) -> dict[str, dict]:
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    return {k: n for k, n in manifest["nodes"].items() if n["resource_type"] in resource_types}


def test_transform_runs_one_dbt_build_between_prepare_and_reconcile(parsed):
    dag = parsed["dags"]["transform"]
    producers = [t for t, kind in dag["task_types"].items() if kind == "DbtProducerWatcherOperator"]
    assert producers == ["dbt.dbt_producer_watcher"]
    # Nothing else in the group runs dbt on a first attempt: every other dbt task watches.
    others = {kind for t, kind in dag["task_types"].items() if t.startswith("dbt.")} - {
        "DbtProducerWatcherOperator",
        "EmptyOperator",
    }
    assert others <= {"DbtRunWatcherOperator", "DbtSeedWatcherOperator", "DbtTestWatcherOperator"}
    assert dag["upstream"]["dbt.dbt_producer_watcher"] == ["prepare_warehouse"]
    group = {t for t in dag["tasks"] if t.startswith("dbt.")}
    downstream_of_group = {t for t in dag["tasks"] if set(dag["upstream"][t]) & group} - group
    assert downstream_of_group == {"reconcile"}
    assert "dbt.dbt_producer_watcher_done" in dag["upstream"]["reconcile"]


def test_transform_has_a_watcher_per_model_and_a_placeholder_per_seed(parsed):
    watched = set(parsed["producer"]["watchers"].values())
    models, seeds = _manifest_nodes("model"), _manifest_nodes("seed")
    # Exactly the models are watched: no task per test or seed (their processes would double
    # the transform's; the tests run in the producer's build).
    assert models and watched == set(models)
    dag = parsed["dags"]["transform"]
    for node in models.values():
        assert (
            f"dbt.{node['name']}_run" in dag["tasks"] or f"dbt.{node['name']}.run" in dag["tasks"]
        )
    for node in seeds.values():
        task = next(t for t in dag["tasks"] if t.startswith(f"dbt.{node['name']}"))
        assert dag["task_types"][task] == "EmptyOperator", task
    assert not [t for t in dag["tasks"] if t.endswith(".test") or "_test" in t]
    # Watchers poke in a worker slot (not deferred: dags/transform.py says why).
    assert parsed["producer"]["deferrable"] == [False]
    assert parsed["producer"]["mode"] == ["poke"]


def test_transform_build_runs_the_data_tests_but_not_the_unit_tests(parsed):
    flags = parsed["producer"]["dbt_cmd_flags"]
    types = [flags[i + 1] for i, f in enumerate(flags) if f == "--resource-type"]
    assert {"model", "seed", "test"} <= set(types)
    assert "unit_test" not in types


def test_transform_build_is_in_process_threaded_and_skips_unit_tests(parsed):
    producer = parsed["producer"]
    assert producer["invocation_mode"] == "dbt_runner"
    flags = producer["dbt_cmd_flags"]
    assert flags[flags.index("--threads") + 1] == str(DBT_THREADS)
    assert flags[flags.index("--exclude") + 1] == "test_type:unit"


def test_watchers_poke_in_a_pool_that_leaves_the_producer_a_slot(parsed):
    """A killed producer's retry must find a slot: the watchers waiting for its results never
    hold every slot the transform DAG may use (the reliability suite's kill_transform_build)."""
    from ndc.dag_defaults import MAX_ACTIVE_TASKS_PER_DAG, WATCHER_POOL, WATCHER_POOL_SLOTS

    pools = parsed["producer"]["pools"]
    assert pools["watchers"] == [WATCHER_POOL]
    assert pools["producer"] != WATCHER_POOL
    assert WATCHER_POOL_SLOTS < MAX_ACTIVE_TASKS_PER_DAG


def test_transform_full_refresh_param(parsed):
    assert parsed["dags"]["transform"]["params"] == {"full_refresh": False}
    assert parsed["producer"]["full_refresh"] == "{{ params.full_refresh }}"


def test_transform_uses_the_committed_profile_with_the_warehouse_connection(parsed):
    producer = parsed["producer"]
    assert producer["profiles_yml"] == str(DBT_PROJECT_DIR / "profiles.yml")
    assert producer["target"] == "warehouse"
    # The connection fields come from the Airflow connection when the task runs; no value
    # (no password) is written into the DAG.
    assert producer["env"] == {
        "NDC_WAREHOUSE_HOST": "{{ conn.ndc_warehouse.host }}",
        "NDC_WAREHOUSE_PORT": "{{ conn.ndc_warehouse.port }}",
        "NDC_WAREHOUSE_USER": "{{ conn.ndc_warehouse.login }}",
        "NDC_WAREHOUSE_PASSWORD": "{{ conn.ndc_warehouse.password }}",
        "NDC_WAREHOUSE_DB": "{{ conn.ndc_warehouse.schema }}",
    }
    profiles = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    for var in producer["env"]:
        assert f"env_var('{var}'" in profiles


def test_dbt_threads_default_to_the_core_count(monkeypatch):
    from ndc import settings

    monkeypatch.delenv("NDC_DBT_THREADS", raising=False)
    assert settings.load().dbt_threads == (os.cpu_count() or 1)
    monkeypatch.setenv("NDC_DBT_THREADS", "7")
    assert settings.load().dbt_threads == 7
