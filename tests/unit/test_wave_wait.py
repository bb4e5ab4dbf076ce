"""The transform's wait for the ingest and sync runs in flight (ndc.transform), against a task
instance that answers Airflow's run count as the task SDK does (`get_dr_count`)."""

from ndc.transform import IN_FLIGHT, wait_for_runs_in_flight


class CountingTaskInstance:
    """Answers get_dr_count from a script: per DAG, the in-flight counts of successive polls
    (the last repeats)."""

    def __init__(self, script: dict[str, list[int]]):
        self.script = script
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def get_dr_count(self, dag_id: str, states: list[str]) -> int:
        self.asked.append((dag_id, tuple(states)))
        counts = self.script.get(dag_id, [0])
        return counts.pop(0) if len(counts) > 1 else counts[0]


def test_nothing_in_flight_returns_at_once_without_a_word():
    ti, said = CountingTaskInstance({}), []
    assert wait_for_runs_in_flight(ti, ["ingest_a", "sync_population"], 60, said.append) == []
    assert said == []
    assert ti.asked == [("ingest_a", IN_FLIGHT), ("sync_population", IN_FLIGHT)]


def test_waits_until_the_wave_has_landed():
    ti, said = CountingTaskInstance({"ingest_a": [1, 1, 0], "ingest_b": [1, 0]}), []
    busy = wait_for_runs_in_flight(ti, ["ingest_a", "ingest_b"], 60, said.append, poll_s=0)
    assert busy == []
    assert said == [
        "waiting for the runs in flight: ingest_a, ingest_b",
        "the runs in flight have finished",
    ]
    assert len(ti.asked) > 2


def test_gives_up_after_the_wait_and_names_what_is_left_to_the_next_run():
    ti, said = CountingTaskInstance({"ingest_slow": [1]}), []
    busy = wait_for_runs_in_flight(ti, ["ingest_fast", "ingest_slow"], 0.05, said.append, 0.01)
    assert busy == ["ingest_slow"]
    assert said[-1].startswith("still in flight after 0 s: ingest_slow; transforming")
