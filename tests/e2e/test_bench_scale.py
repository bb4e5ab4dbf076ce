"""`ndc bench --only scale` through the CLI: a small country through its own Airflow, full and
then one more day, beside a plain dbt build; the figures a reader of the JSON would check.

Marked `bench` (minutes of Airflow and dbt): not part of `make test`; `pytest -m bench`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from ndc.warehouse import drop_database
from tests.conftest import PG_URL, databases_like

pytestmark = pytest.mark.bench

SOURCES = ("civil_registration", "social_insurance", "residence", "education", "business_registry")


def test_scale_benchmark_reports_full_and_increment_through_airflow(tmp_path):
    prefix = f"ndc_bench_{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NDC_", "AIRFLOW"))} | {
        "NDC_HOME": str(tmp_path / "home"),
        "NDC_PG_URL": PG_URL,
        "NDC_DB_PREFIX": prefix,
        "NDC_AIRFLOW_PORT": "1",  # the user's Airflow port, which the benchmark must not use
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ndc.cli", "bench", "--only", "scale"]
            + ["--persons", "300", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        assert proc.returncode == 0, proc.stderr[-5000:]
        result = json.loads(proc.stdout)  # progress goes to stderr: stdout is the JSON alone
        assert "full: starting every ingest DAG" in proc.stderr
        assert "increment: starting every ingest DAG" in proc.stderr

        assert result["persons"] == 300
        full, inc = result["full"], result["increment"]
        stages = {"generate", "transform", "sync"} | {f"extract_load.{s}" for s in SOURCES}
        assert set(full["stages"]) == stages
        assert set(inc["stages"]) == stages
        for name, stage in full["stages"].items():
            assert stage["wall_s"] > 0, name
            assert stage["rows"] > 0, name
            # Rounded to 0.1 in the JSON: a stage of a few rows has a few rows/s.
            per_s = stage["rows"] / stage["wall_s"]
            assert stage["rows_per_s"] == pytest.approx(per_s, rel=0.01, abs=0.05), name
        # Every Airflow stage ran as task processes that were sampled.
        for name in stages - {"generate"}:
            assert full["stages"][name]["peak_rss_mb"] > 50, name
        # The rows of a round are what its ingests loaded; the day added is a fraction of it.
        loaded = sum(full["stages"][f"extract_load.{s}"]["rows"] for s in SOURCES)
        assert full["rows"] == loaded == full["stages"]["transform"]["rows"]
        assert 0 < inc["rows"] < full["rows"]
        assert inc["rows"] == sum(inc["stages"][f"extract_load.{s}"]["rows"] for s in SOURCES)
        assert full["stages"]["sync"]["rows"] > inc["stages"]["sync"]["rows"]
        # The round's wall time spans the stages it contains (generation is outside it).
        assert full["wall_s"] >= full["stages"]["transform"]["wall_s"]
        assert full["wall_s"] >= full["stages"]["sync"]["wall_s"]
        assert result["increment_ratio"] == pytest.approx(inc["wall_s"] / full["wall_s"])
        dbt = result["dbt"]
        assert dbt["cosmos_s"] > 0 and dbt["plain_s"] > 0
        assert dbt["ratio"] == pytest.approx(dbt["cosmos_s"] / dbt["plain_s"])
        assert dbt["cosmos_s"] <= dbt["cosmos_round_s"] <= full["stages"]["transform"]["wall_s"]
        assert dbt["round_ratio"] == pytest.approx(dbt["cosmos_round_s"] / dbt["plain_s"])
        stage_peaks = [s["peak_rss_mb"] for r in (full, inc) for n, s in r["stages"].items()
                       if n != "generate" and s["peak_rss_mb"]]  # fmt: skip
        assert result["peak_rss_mb"] == max(stage_peaks)
        targets = result["targets"]
        assert targets["full_wall_s"]["ok"] is None  # the 15-minute target is for 1M persons
        assert targets["increment_ratio"]["ok"] == (result["increment_ratio"] <= 0.10)
        # Its own databases, dropped afterwards; the user's were never created.
        assert databases_like(prefix) == []
        assert not (tmp_path / "home" / "bench_scale").exists()
    finally:
        for name in databases_like(prefix):
            drop_database(f"{PG_URL}/{name}")
