"""`ndc evaluate` through the CLI: the whole pipeline through an Airflow and databases of its
own, scored against the ground truth of a country written by `ndc generate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pandas as pd
import pytest

from ndc.synthetic import generate
from tests.conftest import PG_URL, databases_like

pytestmark = pytest.mark.e2e

# The targets (on 100,000 persons): at least 98% of each defect class handled as
# expected, at most 0.1% of clean records wrongly quarantined, merged, reported or altered.
# This small country is held to every class in full and no clean record changed.


def test_evaluate_scores_every_defect_class_in_its_own_databases(tmp_path):
    data = tmp_path / "country"
    generate(data, persons=300, seed=11, days=3)
    truth = pd.read_parquet(data / "truth" / "defects.parquet")
    prefix = f"ndc_e2e_{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NDC_", "AIRFLOW"))} | {
        "NDC_HOME": str(tmp_path / "home"),
        "NDC_PG_URL": PG_URL,
        "NDC_DB_PREFIX": prefix,
        # The user's settings, which evaluate must not use.
        "NDC_WAREHOUSE_URL": f"{PG_URL}/{prefix}_not_this_one",
        "NDC_AIRFLOW_PORT": "1",
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ndc.cli", "evaluate", "--persons", "300"]
            + ["--data", str(data), "--json", "--cleanup"],
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        assert proc.returncode == 0, proc.stderr[-5000:]
        result = json.loads(proc.stdout)  # progress goes to stderr: stdout is the JSON alone
        assert "scoring against the ground truth" in proc.stderr

        assert set(result["classes"]) == set(truth.defect_class)
        expected = truth.groupby("defect_class").size()
        for name, c in result["classes"].items():
            assert c["expected"] == expected[name], name
            assert 0 <= c["handled"] <= c["expected"], name
            assert c["rate"] == pytest.approx(c["handled"] / c["expected"]), name
        missed = {n: c for n, c in result["classes"].items() if c["rate"] < 1.0}
        assert missed == {}, json.dumps(missed, ensure_ascii=False, indent=1)
        clean = result["clean"]
        assert clean["records"] > 1000
        assert clean["wrongly_changed"] == 0, json.dumps(clean, ensure_ascii=False, indent=1)
        assert clean["rate"] == pytest.approx(clean["wrongly_changed"] / clean["records"])
        # Its own databases, dropped by --cleanup; the user's were never created.
        assert databases_like(prefix) == []
        assert not (tmp_path / "home" / "evaluate").exists()
    finally:
        from ndc.warehouse import drop_database

        for name in databases_like(prefix):
            drop_database(f"{PG_URL}/{name}")
