"""Which cases a reliability run picks, and the soak's fault days."""

from __future__ import annotations

import pytest

from ndc.reliability import process_cases
from ndc.reliability.process_cases import pick_message
from ndc.reliability.runner import SOAK_FAULTS, all_cases, select, soak_plan


def test_the_process_cases_are_all_there_and_one_is_bounded():
    names = [c.name for c in all_cases()]
    assert set(SOAK_FAULTS) <= set(names)
    assert [c.name for c in select(process_cases.CASES, None, bounded=True)] == ["kill_load_copy"]


def test_cases_by_name_none_for_the_soak_alone_and_unknown_names_refused():
    assert [c.name for c in select(all_cases(), ["kill_sync"], False)] == ["kill_sync"]
    assert select(all_cases(), ["none"], False) == []
    with pytest.raises(ValueError, match="no case kill_nothing"):
        select(all_cases(), ["kill_nothing"], False)


def test_the_soak_plan_is_fixed_by_its_seed_and_strikes_different_faults():
    plan = soak_plan(30, 13)
    assert plan == soak_plan(30, 13) and plan != soak_plan(30, 14)
    assert len(plan) == 15 and all(1 <= day <= 30 for day in plan)
    # The first seven struck days strike seven different faults.
    assert len(set(list(plan.values())[: len(SOAK_FAULTS)])) == len(SOAK_FAULTS)


def test_what_the_operator_saw_names_the_exception_of_the_failed_try():
    log = [
        {"event": "Trying to run dbtRunner", "level": "info"},
        {
            "event": "Task failed with exception",
            "level": "error",
            "exception": [
                {
                    "exc_type": "OperationalError",
                    "exc_value": "terminating connection due to administrator command",
                    "frames": [],
                }
            ],
        },
    ]
    assert pick_message(log) == (
        "Task failed with exception: OperationalError: "
        "terminating connection due to administrator command"
    )
    assert pick_message([{"event": "done", "level": "info"}]) == "done"
