"""Incremental staging on a tiny country: what a run conforms, and that a batch loaded again
(same batch id, new content) replaces its conformed rows exactly as a full refresh would."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndc.compare import differences, table_hashes
from ndc.landing import LocalLandingZone, Manifest
from ndc.load import load_source
from ndc.registry import load_registry
from ndc.synthetic import generate
from ndc.warehouse import connect, drop_database
from tests.conftest import PG_URL
from tests.integration.conftest import load_country, run_dbt

pytestmark = pytest.mark.integration

# The model under test and what it reads (seeds, the population citizens), with their tests.
MODEL = "stg_residence__household_members"
BUILD = ("build", "--select", f"+{MODEL}", "--exclude", "test_type:unit")


def _staging_rows(url: str, batch_id: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(
            "select _source_row, personal_id, _loaded_at from staging.stg_residence__household_members"
            " where _batch_id = %s order by _source_row",
            (batch_id,),
        ).fetchall()


def _reland_changed(landing: LocalLandingZone, manifest: Manifest) -> Manifest:
    """The same batch extracted again with other content: its last row gone, the first row's
    personal ID changed. Same batch id and landing key, new bytes, a new pending marker."""
    path = landing.root / manifest.key
    table = pq.read_table(path)
    ids = table.column("so_dinh_danh").to_pylist()
    ids[0] = "001099012345"
    table = table.set_column(
        table.schema.get_field_index("so_dinh_danh"), "so_dinh_danh", pa.array(ids, pa.string())
    ).slice(0, table.num_rows - 1)
    pq.write_table(table, path)
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    changed = Manifest(
        **{
            **manifest.__dict__,
            "sha256": sha,
            "rows_extracted": table.num_rows,
            "rows_landed": table.num_rows,
            "rows_at_source": table.num_rows,  # what the source held when extracted again
        }
    )
    landing.write_manifest(changed)
    return changed


def test_a_batch_loaded_again_replaces_its_rows_as_a_full_refresh_would(tmp_path):
    name = f"ndc_test_incr_{uuid.uuid4().hex[:8]}"
    url, population, copy = f"{PG_URL}/{name}", f"{PG_URL}/{name}_pop", f"{PG_URL}/{name}_full"
    generate(tmp_path / "country", persons=150, seed=5, days=1)
    landing = LocalLandingZone(tmp_path / "landing")
    try:
        load_country(tmp_path / "country", url, population, tmp_path / "landing")
        run_dbt(url, tmp_path, *BUILD)
        keys = landing.manifests("residence", "household_member")
        manifest = max((landing.read_manifest(k) for k in keys), key=lambda m: m.rows_landed)
        before = _staging_rows(url, manifest.batch_id)
        assert len(before) == manifest.rows_landed > 2

        # A second run with nothing new conforms nothing: every row keeps its version.
        run_dbt(url, tmp_path, *BUILD)
        assert _staging_rows(url, manifest.batch_id) == before

        changed = _reland_changed(landing, manifest)
        loaded = load_source(url, landing, load_registry()["residence"]).loaded
        assert [b for b, _ in loaded] == [manifest.batch_id]
        run_dbt(url, tmp_path, *BUILD)
        after = _staging_rows(url, manifest.batch_id)
        # The old version is gone, row for row: one row fewer, the new value, a new load time.
        assert len(after) == changed.rows_landed == len(before) - 1
        assert after[0][1] == "001099012345"
        assert {r[2] for r in after} != {r[2] for r in before}

        # The same warehouse rebuilt from scratch holds exactly the same rows.
        with connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'create database "{name}_full" template "{name}"')
        run_dbt(copy, tmp_path / "full", *BUILD, "--full-refresh")
        relations = [f"staging.{MODEL}"]
        assert differences(table_hashes(url, relations), table_hashes(copy, relations)) == {}
    finally:
        for db in (url, population, copy):
            drop_database(db)
