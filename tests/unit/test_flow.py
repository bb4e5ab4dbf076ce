"""When the flow counts as settled, and which DAG runs it fails on (ndc.flow), on the run and
queued Asset event records Airflow's REST API returns."""

from ndc.flow import failed_runs, unsettled


def _run(run_id: str, state: str, queued_at: str, end_date: str | None = None) -> dict:
    return {"dag_run_id": run_id, "state": state, "queued_at": queued_at, "end_date": end_date}


def _queued(dag_id: str, asset_id: int = 1) -> dict:
    return {"dag_id": dag_id, "asset_id": asset_id, "created_at": "2025-07-01T00:03:00Z"}


def test_settled_when_every_event_has_its_run_and_none_is_active():
    runs = {
        "transform": [_run("t1", "success", "2025-07-01T00:00:02Z", "2025-07-01T00:01:00Z")],
        "sync_population": [_run("s1", "success", "2025-07-01T00:01:01Z")],
    }
    assert unsettled(runs, {"transform": [], "sync_population": []}) == []
    assert failed_runs(runs) == []


def test_a_queued_follow_up_transform_is_waited_for():
    runs = {
        "transform": [
            _run("t1", "success", "2025-07-01T00:00:02Z"),
            _run("t2", "queued", "2025-07-01T00:00:30Z"),
        ],
        "sync_population": [_run("s1", "success", "2025-07-01T00:01:01Z")],
    }
    assert unsettled(runs, {"transform": [], "sync_population": []}) == ["transform t2 queued"]


def test_an_asset_event_without_its_run_yet_is_waited_for():
    # The last transform published marts__citizens; the scheduler has not queued the sync yet.
    runs = {
        "transform": [_run("t2", "success", "2025-07-01T00:02:00Z")],
        "sync_population": [_run("s1", "success", "2025-07-01T00:01:01Z")],
    }
    waiting = unsettled(runs, {"transform": [], "sync_population": [_queued("sync_population")]})
    assert waiting == ["sync_population: the run for 1 queued Asset event(s)"]


def test_every_failed_run_is_named_not_only_the_first_one_waited_for():
    runs = {
        "transform": [
            _run("t1", "success", "2025-07-01T00:00:02Z"),
            _run("t2", "failed", "2025-07-01T00:00:30Z"),
        ],
        "sync_population": [
            _run("s1", "success", "2025-07-01T00:01:01Z"),
            _run("s2", "failed", "2025-07-01T00:03:01Z"),
        ],
    }
    assert unsettled(runs, {}) == []
    assert failed_runs(runs) == [("transform", "t2", "failed"), ("sync_population", "s2", "failed")]
