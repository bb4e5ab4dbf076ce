"""`ndc report` counts what the real dbt models built: the discrepancy marts per agency and
kind, and each batch's reconciliation (the session's warehouse, tests/integration/conftest.py)."""

import pandas as pd
import pytest

from ndc.registry import load_registry
from ndc.report import DISCREPANCY_KINDS, build_report, format_report
from ndc.warehouse import connect

pytestmark = pytest.mark.integration


def _mart_counts(url: str, source: str) -> dict[str, int]:
    with connect(url) as conn:
        rows = conn.execute(
            f"select discrepancy, count(*) from marts.discrepancies_{source} group by 1"
        ).fetchall()
    return {kind: n for kind, n in rows}


def test_report_counts_each_agencys_discrepancies_by_kind(built_warehouse):
    registry = load_registry()
    report = build_report(built_warehouse.url, built_warehouse.population_url, registry)
    truth = pd.read_csv(built_warehouse.data / "truth" / "defects.csv", dtype=str)
    expected = truth[truth.expected_handling == "discrepancy"].groupby("source").size()
    assert set(report["discrepancies"]) == set(registry)
    for source, counts in report["discrepancies"].items():
        built = _mart_counts(built_warehouse.url, source)
        # Every kind the marts produce is one the report knows, counted as the mart holds it.
        assert set(built) <= set(DISCREPANCY_KINDS), source
        assert counts == {
            "total": sum(built.values()),
            "by_kind": dict.fromkeys(DISCREPANCY_KINDS, 0) | built,
        }, source
        # Each discrepancy the generator planted for this agency is reported (a record may
        # carry more than one, and the population database finds some of its own).
        assert counts["total"] >= expected.get(source, 0), source
    assert sum(c["total"] for c in report["discrepancies"].values()) > 0
    lines = [line.split() for line in format_report(report).splitlines()]
    for source, counts in report["discrepancies"].items():
        by_kind = [str(counts["by_kind"][k]) for k in DISCREPANCY_KINDS]
        assert [source, str(counts["total"]), *by_kind] in lines


def test_report_reconciles_every_batch_the_models_conformed(built_warehouse):
    registry = load_registry()
    report = build_report(built_warehouse.url, built_warehouse.population_url, registry)
    by_entity = {}
    for b in built_warehouse.balances:
        loaded, conformed, quarantined, merged = by_entity.get((b.source, b.entity), (0, 0, 0, 0))
        by_entity[(b.source, b.entity)] = (
            loaded + b.loaded,
            conformed + b.conformed,
            quarantined + b.quarantined,
            merged + b.merged,
        )
    for source, entities in report["sources"].items():
        for entity, c in entities.items():
            assert c["balanced"], (source, entity, c)
            assert (c["loaded"], c["conformed"], c["quarantined"], c["merged"]) == by_entity.get(
                (source, entity), (0, 0, 0, 0)
            ), (source, entity)
    quarantined = sum(c["quarantined"] for e in report["sources"].values() for c in e.values())
    assert quarantined > 0


def test_every_count_starts_at_the_source_and_matches_what_the_generator_wrote(built_warehouse):
    """The source's own count of each batch (a count query, a second parse of each file, the
    API's total) reached the load ledger and the reconciliation; per source and entity it is
    what the synthetic country holds, and `ndc report` shows it as `at_source`."""
    registry = load_registry()
    report = build_report(built_warehouse.url, built_warehouse.population_url, registry)
    with connect(built_warehouse.url) as conn:
        missing = conn.execute(
            "select count(*) from ops.load_ledger l join ops.reconciliation r using (batch_id) "
            "where l.rows_at_source is null or r.rows_at_source is distinct from l.rows_at_source"
        ).fetchone()[0]
    assert missing == 0
    assert all(b.at_source == b.extracted for b in built_warehouse.balances)
    at_source = {
        source: {entity: c["at_source"] for entity, c in entities.items()}
        for source, entities in report["sources"].items()
    }
    assert at_source == {s: built_warehouse.generated[s] for s in registry}
    header = format_report(report).splitlines()[0].split()
    assert header[3:5] == ["at_source", "extracted"]
