"""When a transform has nothing to do, the transform DAG skips it (prepare_warehouse raises
AirflowSkipException). What counts as work, checked on copies of the session's built
warehouse: nothing after a finished transform; a batch loaded again, a population change or a
change of the dbt project each make work again, named."""

from __future__ import annotations

import json
import uuid

import pytest

from ndc.population import snapshot_to_warehouse
from ndc.registry import load_registry
from ndc.transform import MANIFEST, finish
from ndc.transform_state import work_to_do
from ndc.warehouse import connect, drop_database
from tests.conftest import PG_URL

pytestmark = pytest.mark.integration


@pytest.fixture
def copied(built_warehouse):
    """A copy of the built warehouse and of its population database."""
    name = f"ndc_test_work_{uuid.uuid4().hex[:8]}"
    url, population = f"{PG_URL}/{name}", f"{PG_URL}/{name}_pop"
    with connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        for copy, original in (
            (url, built_warehouse.url),
            (population, built_warehouse.population_url),
        ):
            conn.execute(
                f'create database "{copy.rsplit("/", 1)[1]}" template "{original.rsplit("/", 1)[1]}"'
            )
    try:
        yield url, population
    finally:
        drop_database(url)
        drop_database(population)


def test_nothing_to_do_after_a_finished_transform_until_something_changes(copied, tmp_path):
    url, population = copied
    # Built and reconciled, but no transform recorded that it finished.
    assert work_to_do(url, MANIFEST, []) == ["no transform has finished on this warehouse yet"]
    # Finished as the transform DAG's reconcile task finishes a run.
    with connect(url) as conn:
        seq = conn.execute("select max(seq) from ops.population_snapshot").fetchone()[0]
    finish(url, load_registry(), snapshot_seq=seq)
    snapshot_to_warehouse(population, url)  # the next transform's snapshot: no change
    assert work_to_do(url, MANIFEST, []) == []

    # A batch loaded again (a new ledger version) must be conformed again.
    with connect(url) as conn:
        batch = conn.execute(
            "update ops.load_ledger set loaded_at = now() where batch_id = "
            "(select min(batch_id) from ops.load_ledger) returning batch_id"
        ).fetchone()[0]
    assert work_to_do(url, MANIFEST, []) == ["1 batch(es) not conformed yet"], batch

    # A citizen changed in the population database, seen by the next snapshot.
    with connect(population) as conn:
        conn.execute(
            "update citizen set full_name = full_name || ' Văn', updated_at = now() "
            "where personal_id = (select min(personal_id) from citizen)"
        )
    snapshot_to_warehouse(population, url)
    work = work_to_do(url, MANIFEST, ["model.ndc.stg_residence__household_members"])
    assert work == [
        "1 incremental model(s) changed",
        "1 population change(s) since the last transform",
        "1 batch(es) not conformed yet",
    ]

    # A model's code changed (a new deployment): work, even for a model that is not incremental.
    manifest = json.loads(MANIFEST.read_text())
    manifest["nodes"]["model.ndc.citizens"]["raw_code"] += "\n-- changed"
    changed = tmp_path / "manifest.json"
    changed.write_text(json.dumps(manifest))
    assert "the dbt project changed since the last transform" in work_to_do(url, changed, [])
