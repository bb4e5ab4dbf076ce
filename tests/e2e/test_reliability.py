"""The bounded reliability run, as CI runs it: `ndc reliability --bounded --json` on a tiny
country. Its process case SIGKILLs the load's task process inside the COPY, through the
scheduler; Airflow's retry must finish the run with nothing lost and nothing doubled against a
run without the fault (rows and content hashes). The bounded source cases (a SQL source
down, an API repeating a page, a file delivered twice) run with it. The other cases (the sync,
the dbt build and the extract killed; databases and S3 cut) run in `make reliability`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from ndc.warehouse import drop_database
from tests.conftest import PG_URL, databases_like

pytestmark = pytest.mark.e2e


def test_bounded_faults_lose_nothing_and_recover_by_themselves(tmp_path):
    prefix = f"ndc_e2e_{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NDC_", "AIRFLOW"))} | {
        "NDC_HOME": str(tmp_path / "home"),
        "NDC_PG_URL": PG_URL,
        "NDC_DB_PREFIX": prefix,
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ndc.cli", "reliability", "--bounded", "--json"]
            + ["--persons", "120"],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert proc.returncode == 0, proc.stderr[-5000:]
        out = json.loads(proc.stdout)
        cases = {c["case"]: c for c in out["cases"]}
        # Every bounded case (the source cases' too, once merged) lost and doubled nothing.
        assert {"kill_load_copy", "sql_unreachable", "api_repeated_page"} <= set(cases)
        assert [c for c in cases.values() if c["rows_lost"] or c["rows_duplicated"]] == []
        for name, struck in (("kill_load_copy", ".load"),):
            case = cases[name]
            assert case["detail"]["struck"].endswith(struck), case
            assert (case["rows_lost"], case["rows_duplicated"]) == (0, 0), case
            assert case["detail"]["relations_differing"] == [], case
            assert case["recovered"] and case["operator_action"] is None, case
            assert case["recover_s"] > 0, case
            # The killed try is what an operator sees: failed, to be retried.
            assert case["detail"]["tries"][0][1] != "success", case
            assert case["detail"]["final_state"] == "success", case
        assert out["corpus"]["crashes"] == 0
        # Progress went to stderr, per stage.
        assert "reference: the flow without a fault" in proc.stderr
        assert f"case {len(cases)}/{len(cases)}" in proc.stderr
    finally:
        for name in databases_like(prefix):
            drop_database(f"{PG_URL}/{name}")
