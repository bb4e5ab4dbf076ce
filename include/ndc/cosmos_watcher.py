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


class _FirstTry:
    """A task instance that tells Cosmos's producer it is on its first try; everything else is
    the real task instance's."""

    try_number = 1

    def __init__(self, ti):
        object.__setattr__(self, "_ti", ti)

    def __getattr__(self, name):
        return getattr(self._ti, name)

    def __setattr__(self, name, value):
        setattr(self._ti, name, value)


def rebuild_on_retry() -> None:
    """A retry of the dbt producer runs the build again, instead of Cosmos's skip.

    Cosmos 1.15's producer skips on any try after the first, leaving each model's watcher to
    fall back to `dbt run --select` its own model. Here that fallback cannot work: the seeds
    are rendered as placeholders (loaded only by the build) and the data tests run only in the
    build, so after a producer killed early in a fresh warehouse's first build every fallback
    failed on a missing seed table (the reliability suite's kill_transform_build). The build is
    idempotent (incremental models keyed by batch, ndc's pre-hooks), so the retry builds
    again and the watchers, still poking, read its results. A build that fails for a reason
    that stays (a data test) costs its retries' builds before the run fails."""
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    if getattr(DbtProducerWatcherOperator.execute, "_ndc_rebuilds", False):
        return
    execute = DbtProducerWatcherOperator.execute

    def execute_again_on_retry(self, context, **kwargs):
        ti = context["ti"]
        if getattr(ti, "try_number", 1) > 1:
            self.log.warning(
                "try %s: the last try's build did not finish; building again", ti.try_number
            )
            first = _FirstTry(ti)
            context = {**context, "ti": first, "task_instance": first}
        return execute(self, context, **kwargs)

    execute_again_on_retry._ndc_rebuilds = True
    DbtProducerWatcherOperator.execute = execute_again_on_retry
