"""A batch's ``_extra`` column: the values of undeclared columns per row, JSON text; a null
array (next to nothing) when the source sent none; batches landed before it still count."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from ndc.extract.batch import BatchWriter, extra_json, extra_text, record_batch, schema
from ndc.landing import LocalLandingZone
from ndc.load import undeclared_rows


def test_extra_json_keeps_the_sources_order_and_leaves_nulls_out():
    assert (
        extra_json(["b", "a", "c"], ["2", None, 'Đặng "Hà"']) == '{"b": "2", "c": "Đặng \\"Hà\\""}'
    )
    assert extra_json(["a"], [None]) is None
    assert extra_text({"ward": "00001", "n": 5}) == '{"ward": "00001", "n": 5}'
    assert extra_text(3.0) == "3"  # as a declared column's text


def test_a_chunk_without_drift_has_a_null_extra():
    arrow_schema = schema(["a"])
    assert arrow_schema.names == ["a", "_source_row", "_extra"]
    chunk = record_batch([["x", "y"]], range(1, 3), arrow_schema)
    assert chunk.column("_extra").null_count == 2
    drifted = record_batch([["x", "y"]], [1, 2], arrow_schema, [None, '{"b": "1"}'])
    assert drifted.column("_extra").to_pylist() == [None, '{"b": "1"}']


def test_rows_with_undeclared_values_are_counted_from_the_parquet(registry, tmp_path):
    entity = registry["civil_registration"].entity("birth")
    arrow_schema = schema(entity.columns)
    empty = [[None] * 3 for _ in entity.columns]
    landing = LocalLandingZone(tmp_path / "landing")
    with BatchWriter(entity) as writer:
        writer.write(record_batch(empty, [1, 2, 3], arrow_schema))
        writer.write(record_batch(empty, [4, 5, 6], arrow_schema, [None, '{"x": "1"}', None]))
        # A caller's chunk without _extra (ndc.bench's) gets a null one.
        plain = pa.RecordBatch.from_arrays(
            [pa.array(c, pa.string()) for c in empty] + [pa.array([7, 8, 9], pa.int64())],
            names=[*entity.columns, "_source_row"],
        )
        writer.write(plain)
        manifest = writer.land(landing, "civil_registration", "2025-06-01", "b1")
    with landing.local_path(manifest.key) as path:
        assert pq.ParquetFile(path).metadata.num_row_groups == 3
        assert undeclared_rows(path) == 1
        assert json.loads(pq.read_table(path).column("_extra")[4].as_py()) == {"x": "1"}


def test_a_batch_from_before_extra_has_no_undeclared_rows(tmp_path):
    path = tmp_path / "old.parquet"
    pq.write_table(pa.table({"a": ["x"], "_source_row": pa.array([1], pa.int64())}), path)
    assert undeclared_rows(path) == 0


def test_a_parquet_without_statistics_is_counted_by_reading_the_column(tmp_path):
    path = tmp_path / "nostats.parquet"
    extra = pa.array([None, '{"b": "1"}', '{"b": "2"}'], pa.string())
    table = pa.table({"a": ["x", "y", "z"], "_source_row": [1, 2, 3], "_extra": extra})
    pq.write_table(table, path, write_statistics=False)
    assert pq.ParquetFile(path).metadata.row_group(0).column(2).statistics is None
    assert undeclared_rows(path) == 2
