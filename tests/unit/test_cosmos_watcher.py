"""The producer pushes a node's dbt event to its watcher when the node ends or errs, not on
each of its lifecycle events (ndc.cosmos_watcher)."""

from __future__ import annotations

from cosmos.operators._watcher import base

from ndc.cosmos_watcher import trim_node_event_pushes


class RecordingTaskInstance:
    """Records what Cosmos pushes (the producer's task instance needs a running Airflow)."""

    def __init__(self):
        self.pushed: list[tuple[str, object]] = []

    def xcom_push(self, key, value):
        self.pushed.append((key, value))


def _event(name: str, status: str, msg: str = "", node: str = "model.ndc.citizens") -> dict:
    return {
        "info": {"name": name, "msg": msg},
        "data": {
            "node_info": {
                "unique_id": node,
                "resource_type": node.split(".")[0],
                "node_status": status,
                "node_started_at": "2026-12-03T10:00:00",
                "node_finished_at": "2026-12-03T10:00:02" if status == "success" else "",
            },
            "run_result": {"message": msg},
        },
    }


def test_only_the_finished_and_error_events_reach_the_watcher():
    kept = trim_node_event_pushes()
    assert "NodeFinished" in kept and {"NodeStart", "NodeCompiling", "NodeExecuting"}.isdisjoint(
        kept
    )
    assert {"RunResultError", "CheckNodeTestFailure"} <= kept

    ti = RecordingTaskInstance()
    for name, status in (
        ("NodeStart", "started"),
        ("NodeCompiling", "compiling"),
        ("NodeExecuting", "executing"),
    ):
        base._process_dbt_log_event(ti, _event(name, status))
    assert ti.pushed == []
    base._process_dbt_log_event(ti, _event("NodeFinished", "success", "SELECT 326"))
    base._process_dbt_log_event(ti, _event("RunResultError", "error", "relation does not exist"))
    assert [(k, v["status"], v["msg"]) for k, v in ti.pushed] == [
        ("model__ndc__citizens_dbt_event", "success", "SELECT 326"),
        ("model__ndc__citizens_dbt_event", "error", "relation does not exist"),
    ]


def test_a_test_nodes_event_is_not_pushed():
    """No watcher reads a data test's event (the tests run in the producer's build)."""
    trim_node_event_pushes()
    trim_node_event_pushes()  # idempotent: the wrapper is installed once
    ti = RecordingTaskInstance()
    test_node = "test.ndc.unique_citizens_personal_id.51b929bf55"
    base._process_dbt_log_event(ti, _event("NodeFinished", "fail", "Got 1 result", test_node))
    assert ti.pushed == []
    base._process_dbt_log_event(ti, _event("NodeFinished", "success", "SELECT 3"))
    assert [k for k, _ in ti.pushed] == ["model__ndc__citizens_dbt_event"]


class RetriedTaskInstance(RecordingTaskInstance):
    try_number = 2


class FirstTaskInstance(RecordingTaskInstance):
    try_number = 1


def test_a_retried_producer_builds_again_where_cosmos_would_skip(monkeypatch):
    """Cosmos's producer skips every try after the first; ndc's builds again (its watchers
    cannot run their own models: the seeds load only in the build)."""
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    from ndc.cosmos_watcher import rebuild_on_retry

    def cosmos_execute(self, context, **kwargs):
        """Stands in for Cosmos's execute: what it sees of the try, and its XCom pushes."""
        context["ti"].xcom_push("build", "started")
        return "skipped" if context["ti"].try_number > 1 else "built"

    monkeypatch.setattr(DbtProducerWatcherOperator, "execute", cosmos_execute)
    rebuild_on_retry()
    ti = RetriedTaskInstance()
    producer = object.__new__(DbtProducerWatcherOperator)
    assert DbtProducerWatcherOperator.execute(producer, {"ti": ti}) == "built"
    # The pushes reach the real task instance, which keeps its own try number.
    assert ti.pushed == [("build", "started")] and ti.try_number == 2
    # A first try goes straight through; patching twice wraps once.
    rebuild_on_retry()
    assert DbtProducerWatcherOperator.execute(producer, {"ti": FirstTaskInstance()}) == "built"
