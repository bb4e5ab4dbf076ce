"""The dbt project run directly, outside Airflow: `dbt build` of every unit test, seed, model
and data test on a tiny country loaded by the real extract and load code."""

import json
from collections import Counter

import pytest

from ndc.registry import load_registry, raw_table
from ndc.warehouse import connect
from tests.integration.conftest import DBT_PROJECT

pytestmark = pytest.mark.integration


def _declared_unit_tests() -> int:
    """How many unit tests the project declares (the manifest of the session's build)."""
    import yaml

    count = 0
    for path in (DBT_PROJECT / "models").rglob("_*.yml"):
        count += len((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("unit_tests", []))
    return count


def test_dbt_build_runs_every_unit_test_model_and_data_test(built_warehouse):
    results = built_warehouse.results
    by_type = Counter(r.node.resource_type for r in results)
    statuses = Counter((str(r.node.resource_type), str(r.status)) for r in results)
    # Every node succeeded or passed: no error, no failure, no warning-that-hides-a-failure.
    bad = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in results
        if str(r.status) not in ("success", "pass")
    ]
    assert bad == [], json.dumps(bad, ensure_ascii=False, indent=1)
    # The unit tests ran, every one the project declares, and passed.
    declared = _declared_unit_tests()
    assert declared >= 40
    assert by_type["unit_test"] == declared == statuses[("unit_test", "pass")]
    assert by_type["test"] > 100 and by_type["model"] > 20 and by_type["seed"] > 5


def test_the_built_warehouse_balances_and_quarantines_the_defects(built_warehouse):
    balances = built_warehouse.balances
    # Every source system landed something (a tiny country has no marriage on some days).
    assert {b.source for b in balances} == set(load_registry())
    assert len({(b.source, b.entity) for b in balances}) >= 8
    assert all(b.balanced for b in balances)
    assert sum(b.quarantined for b in balances) > 0 and sum(b.merged for b in balances) > 0
    with connect(built_warehouse.url) as conn:
        citizens = conn.execute("select count(*) from marts.citizens").fetchone()[0]
    assert citizens > 0


def test_the_synthetic_sources_send_no_undeclared_column(built_warehouse):
    """The registry declares everything the synthetic country sends (the land registry's
    owners nested in parcels, an address as codes or as text, the export's document
    attributes): no batch lists schema drift and no raw row carries an _extra."""
    with connect(built_warehouse.url) as conn:
        drifted = conn.execute(
            "select batch_id, undeclared_columns, undeclared_rows from ops.load_ledger "
            "where undeclared_columns is not null or undeclared_rows <> 0"
        ).fetchall()
        with_extra = {
            table: conn.execute(f"select count(_extra) from raw.{table}").fetchone()[0]
            for source in load_registry().values()
            for table in (raw_table(source.name, e.name) for e in source.entities)
        }
    assert drifted == []
    assert set(with_extra.values()) == {0}, with_extra


@pytest.mark.dbt_unit
def test_dbt_unit_tests_pass_on_an_empty_warehouse(pg_database, registry, tmp_path):
    """The dbt unit tests alone (`make test-fast`): seeds and models built on a bootstrapped,
    empty warehouse (every relation a unit test's inputs need, no rows; `dbt build --empty`
    cannot: a `ref() as alias` in stg_social_insurance__insured_persons breaks its limit-0
    wrapping), then every unit test; no data test."""
    from ndc.warehouse import bootstrap
    from tests.integration.conftest import run_dbt

    bootstrap(pg_database, registry)
    res = run_dbt(pg_database, tmp_path, "build", "--exclude", "test_type:data")
    ran = Counter(str(r.node.resource_type) for r in res.result)
    assert ran["unit_test"] == _declared_unit_tests()
    assert all(str(r.status) in ("success", "pass") for r in res.result)


def test_the_scorecard_measures_the_reconciliation_and_says_what_it_cannot(built_warehouse):
    """marts.quality_scorecard's clean measure divides the reconciliation's own counts; a
    measure the platform cannot take is null with its status, never a number; one row
    per source, entity, measure and day the source delivered; the DAG's check names the agency
    and the figure."""
    from ndc.report import build_report
    from ndc.scorecard import ScorecardError, check_source

    with connect(built_warehouse.url) as conn:
        clean = {
            (r[0], r[1], r[2]): (r[3], r[4], r[5])
            for r in conn.execute(
                "select source, entity, day, numerator, denominator, value "
                "from marts.quality_scorecard where measure = 'conformed_share' and status = 'measured'"
            )
        }
        reconciled = {
            (r[0], r[1], r[2]): (r[3], r[4])
            for r in conn.execute(
                "select r.source, r.entity, b.extraction_day, sum(r.rows_conformed), "
                "sum(r.rows_loaded) from ops.reconciliation r "
                "join staging.stg_ops__load_batches b using (batch_id) "
                "where r.rows_loaded > 0 group by 1, 2, 3"
            )
        }
        not_measured = conn.execute(
            "select distinct measure, value, met, numerator, status from marts.quality_scorecard "
            "where measure = 'population_coverage' or property = 'shared'"
        ).fetchall()
        per_day = conn.execute(
            """
            select s.source, s.entity, s.measure, count(*), count(distinct s.day),
                   (select count(distinct extraction_day) from staging.stg_ops__load_batches b
                    where b.source = s.source and b.entity = s.entity)
            from marts.quality_scorecard s group by 1, 2, 3
            """
        ).fetchall()
        missing = conn.execute(
            "select source from marts.quality_scorecard where met is false limit 1"
        ).fetchone()
    assert reconciled and {k: v[:2] for k, v in clean.items()} == reconciled
    assert all(float(v[2]) == round(v[0] / v[1], 6) for v in clean.values())
    # No source declares an expected count; nothing was delivered, so nothing is due yet (the
    # shared measures: tests/integration/test_sharing_delivery.py).
    assert not_measured == [("population_coverage", None, None, None, "not_measured")]
    assert per_day and all(n == days == ledger_days for *_, n, days, ledger_days in per_day)

    registry = load_registry()
    report = build_report(built_warehouse.url, built_warehouse.population_url, registry)
    assert set(report["scorecard"]) == set(registry)
    for properties in report["scorecard"].values():
        assert properties["shared"]["status"] == "not_applicable"  # the deliveries' property
        assert properties["clean"]["status"] == "measured"
    # The synthetic country's deliberate defects miss a target somewhere: the check says whose.
    assert missing is not None
    agency = registry[missing[0]].owner_agency
    with pytest.raises(ScorecardError, match="target") as failed:
        check_source(built_warehouse.url, missing[0], agency)
    assert agency in str(failed.value) and missing[0] in str(failed.value)
