"""Source and delivery faults (ndc.reliability.source_cases) through the real extract, landing
zone and load: each case's faulty run ends with every row of the clean run, none twice, a
balanced ledger, and the operator told what happened in ndc's words."""

import dataclasses
import uuid

import pytest

from ndc.reliability.cases import CaseContext
from ndc.reliability.source_cases import CASES
from ndc.settings import load
from tests.conftest import PG_URL, databases_like

pytestmark = pytest.mark.integration

# What the operator sees: the failed task's message (or the file set aside), by case.
OPERATOR_SAW = {
    "sql_unreachable": ["social_insurance: cannot connect", "Connection refused"],
    "sql_changed_while_extracted": ["nothing"],
    "sql_late_commit": ["nothing"],
    "api_http_500": ["education: ", "/api/v1/students?page=2", "HTTP 500"],
    "api_timeout": ["education: ", "/api/v1/students?page=2", "timed out"],
    "api_truncated_page": ["education: ", "/api/v1/students?page=2", "not a page of records"],
    "api_repeated_page": ["education.student: ", "page=2", "the API repeated a page"],
    "file_delivered_twice": ["civil_registration: ", " (1).csv: the same bytes as batch"],
    "file_corrected": ["nothing"],
    "days_out_of_order": ["nothing"],
    "concurrent_ingest": ["nothing"],
}


def test_every_case_is_checked_here_and_the_ci_ones_are_few():
    assert {c.name for c in CASES} == set(OPERATOR_SAW)
    assert 2 <= sum(c.bounded for c in CASES) <= 3


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_nothing_lost_nothing_doubled(case, tmp_path):
    prefix = f"ndc_test_sf_{uuid.uuid4().hex[:6]}"
    settings = dataclasses.replace(load(), pg_url=PG_URL, db_prefix=prefix)
    lines: list[str] = []
    result = case.run(CaseContext(settings, tmp_path, log=lines.append))

    assert result.detail["rows_clean"] > 0, lines  # a comparison of something
    assert (result.rows_lost, result.rows_duplicated) == (0, 0), (result.detail, lines)
    assert result.detail["ledger"] == "balanced"
    assert result.recovered and result.operator_action is None, result
    assert result.recover_s is not None and result.recover_s < 30
    for needle in OPERATOR_SAW[case.name]:
        assert needle in result.operator_saw, result.operator_saw
    assert databases_like(prefix) == []  # the case's warehouses are dropped
