"""The executor setting: LocalExecutor by default, CeleryExecutor with two workers on
NDC_EXECUTOR=celery (the pipeline's end-to-end test runs it for real)."""

from __future__ import annotations

import socket

import pytest

from ndc import settings as settings_mod
from ndc import workers
from ndc.airflow_runtime import AirflowError, airflow_env, check_broker, components
from ndc.registry import load_registry


@pytest.fixture
def stack_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NDC_HOME", str(tmp_path))
    monkeypatch.setenv("NDC_DB_PREFIX", "ndc_unit")
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    for name in ("NDC_EXECUTOR", "NDC_CELERY_BROKER_URL", "NDC_CELERY_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_local_executor_is_the_default(stack_env):
    s = settings_mod.load()
    env = airflow_env(s, load_registry())
    assert not s.celery and env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert components(s) == ["api-server", "scheduler", "dag-processor", "triggerer"]
    assert not any(k.startswith("AIRFLOW__CELERY") for k in env)


def test_celery_executor_has_two_workers_on_redis_and_results_in_the_metadata_db(stack_env):
    stack_env.setenv("NDC_EXECUTOR", "Celery")
    s = settings_mod.load()
    env = airflow_env(s, load_registry())
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == (
        "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    assert env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX"] == "ndc_unit:"
    assert components(s)[-2:] == ["celery-worker-1", "celery-worker-2"]
    argvs = [workers.argv("airflow", s, w) for w in workers.names(s)]
    nodes = {a[a.index("--celery-hostname") + 1] for a in argvs}
    assert nodes == {"ndc_unit-celery-worker-1@%h", "ndc_unit-celery-worker-2@%h"}
    assert all("--skip-serve-logs" in a and a[1:3] == ["celery", "worker"] for a in argvs)


def test_an_unknown_executor_is_refused(stack_env):
    stack_env.setenv("NDC_EXECUTOR", "kubernetes")
    with pytest.raises(ValueError, match="NDC_EXECUTOR='kubernetes'"):
        settings_mod.load()


def test_a_workers_tasks_report_the_worker_as_their_host(monkeypatch):
    from airflow.sdk.api.client import get_hostname

    env = workers.worker_env({}, "celery-worker-2")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert get_hostname() == f"celery-worker-2.{socket.getfqdn()}"
    monkeypatch.delenv(workers.WORKER_NAME_VAR)
    assert workers.hostname() == socket.getfqdn()


def test_a_broker_that_does_not_answer_says_what_to_do(stack_env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stack_env.setenv("NDC_EXECUTOR", "celery")
    stack_env.setenv("NDC_CELERY_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    with pytest.raises(AirflowError, match="start Redis"):
        check_broker(settings_mod.load())


def test_down_stops_the_workers_a_stack_started_whatever_the_executor_now(stack_env):
    from ndc.airflow_runtime import _processes, down

    s = settings_mod.load()  # NDC_EXECUTOR unset: local
    procs = _processes(s)
    procs.start("celery-worker-3", ["sleep", "60"], {}, cwd=s.home)
    assert procs.pid("celery-worker-3") is not None
    stopped: list[str] = []
    down(s, log=stopped.append)
    assert stopped == ["airflow: stopped celery-worker-3"]
    assert procs.pid("celery-worker-3") is None
