"""Cosmos 1.15's watcher mode without a per-event cost that dominates small builds.

In watcher mode the dbt producer reports each node to its watcher through XCom. Besides the
node's status (what the watcher turns green or red on), it pushes the node's dbt event, under
one key per node, on each of dbt's four lifecycle events of that node (NodeStart,
NodeCompiling, NodeExecuting, NodeFinished): every push a synchronous call to the api-server
under one lock shared by dbt's threads. The watcher reads that key once, when its node is
done, and logs it: it only ever sees the last value. Keeping NodeFinished and the error events
(which carry dbt's error text) leaves every watcher's log as it was and cuts the pushes by
three quarters (some 1,200 to 300 a build of this project).

No watcher reads a test's event at all (the transform renders no test tasks: the data tests
run in the producer's build), so a test node's event is not pushed: some 240 calls a build.

The allowlist is a private constant of Cosmos (pinned in requirements.txt);
:func:`trim_node_event_pushes` fails loudly if an upgrade moves it, rather than silently
applying nothing.
"""

from __future__ import annotations

NODE_EVENTS_KEPT = ("NodeFinished",)


def trim_node_event_pushes() -> frozenset[str]:
    """Push a node's dbt event only when it finishes or errs, and never a test's; returns the
    events pushed."""
    from cosmos.operators._watcher import base

    for name in ("_DBT_EVENT_ALLOWLIST", "_DBT_ERROR_EVENTS_TYPES", "_DBT_NODE_STATUS_EVENT_TYPES"):
        if not hasattr(base, name):
            raise RuntimeError(
                f"cosmos.operators._watcher.base.{name} is gone: this Cosmos is not the one "
                "ndc.cosmos_watcher was written for (see requirements.txt)"
            )
    if not set(NODE_EVENTS_KEPT) <= base._DBT_NODE_STATUS_EVENT_TYPES:
        raise RuntimeError(f"Cosmos no longer reports {NODE_EVENTS_KEPT} to watchers")
    base._DBT_EVENT_ALLOWLIST = base._DBT_ERROR_EVENTS_TYPES | frozenset(NODE_EVENTS_KEPT)
    if not getattr(base._process_dbt_log_event, "_ndc_skips_tests", False):
        from ndc.reliability.faults import point as fault_point

        pushes_event = base._process_dbt_log_event

        def push_unless_test(task_instance, dbt_log: dict) -> None:
            node = (dbt_log.get("data") or {}).get("node_info") or {}
            if node.get("resource_type") != "test":
                pushes_event(task_instance, dbt_log)
                fault_point("transform.build")  # a model has finished: mid-build

        push_unless_test._ndc_skips_tests = True
        base._process_dbt_log_event = push_unless_test
    return base._DBT_EVENT_ALLOWLIST
