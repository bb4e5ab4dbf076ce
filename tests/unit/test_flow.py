"""When the flow counts as settled, and which DAG runs it fails on (ndc.flow), on the run and
Asset event records Airflow's REST API returns."""

from ndc.flow import failed_runs, unsettled


def _run(run_id: str, state: str, queued_at: str, end_date: str | None = None) -> dict:
    return {"dag_run_id": run_id, "state": state, "queued_at": queued_at, "end_date": end_date}


def _event(uri: str, timestamp: str) -> dict:
    return {"uri": uri, "timestamp": timestamp}


RAW = "ndc://warehouse/raw/civil_registration"
MART = "ndc://warehouse/marts/citizens"


def test_settled_when_every_event_has_its_run_and_none_is_active():
    runs = {
        "transform": [_run("t1", "success", "2025-07-01T00:00:02Z", "2025-07-01T00:01:00Z")],
        "sync_population": [_run("s1", "success", "2025-07-01T00:01:01Z")],
    }
    events = [_event(RAW, "2025-07-01T00:00:01Z"), _event(MART, "2025-07-01T00:00:59Z")]
    assert unsettled(runs, events) == []
    assert failed_runs(runs) == []


def test_a_queued_follow_up_transform_is_waited_for():
    runs = {
        "transform": [
            _run("t1", "success", "2025-07-01T00:00:02Z"),
            _run("t2", "queued", "2025-07-01T00:00:30Z"),
        ],
        "sync_population": [_run("s1", "success", "2025-07-01T00:01:01Z")],
    }
    assert unsettled(runs, [_event(RAW, "2025-07-01T00:00:01Z")]) == ["transform t2 queued"]


def test_an_asset_event_without_its_run_yet_is_waited_for():
    # The last transform published marts__citizens; the scheduler has not queued the sync yet.
    runs = {
        "transform": [_run("t2", "success", "2025-07-01T00:02:00Z")],
        "sync_population": [_run("s1", "success", "2025-07-01T00:01:01Z")],
    }
    waiting = unsettled(runs, [_event(MART, "2025-07-01T00:03:00Z")])
    assert waiting == ["sync_population: the run for the Asset event of 2025-07-01T00:03:00Z"]


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
    assert unsettled(runs, []) == []
    assert failed_runs(runs) == [("transform", "t2", "failed"), ("sync_population", "s2", "failed")]
