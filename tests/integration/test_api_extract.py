"""The education REST API source: every page, then only what changed since the watermark."""

import sqlite3

import pyarrow.parquet as pq
import pytest

from ndc.extract import extract_source
from ndc.landing import LocalLandingZone
from ndc.synthetic import generate
from ndc.synthetic.education_api import serve

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def education(tmp_path_factory):
    out = tmp_path_factory.mktemp("country")
    generate(out, persons=800, seed=11, days=1)
    db = out / "education" / "education.sqlite"
    server, url = serve(db, port=0)
    yield db, url
    server.shutdown()


def _small_pages(source, size=7):
    return source.model_copy(update={"api": source.api.model_copy(update={"page_size": size})})


def _count(db, table, since=None):
    with sqlite3.connect(db) as conn:
        if since is None:
            return conn.execute(f"select count(*) from {table}").fetchone()[0]
        return conn.execute(
            f"select count(*) from {table} where updated_at > ?", (since,)
        ).fetchone()[0]


def test_every_page_lands_once_then_only_updates(registry, education, tmp_path):
    db, url = education
    source = _small_pages(registry["education"])
    landing = LocalLandingZone(tmp_path / "landing")
    first = extract_source(source, url, landing, "2025-06-28")
    assert first.errors == []
    by_entity = {m.entity: m for m in first.landed}
    assert by_entity["student"].rows_landed == _count(db, "students") > 7  # several pages
    with landing.local_path(by_entity["student"].key) as path:
        students = pq.read_table(path)
    ids = students.column("student_id").to_pylist()
    assert len(ids) == len(set(ids))  # no record twice across pages
    assert students.column("_source_row").to_pylist() == list(range(1, students.num_rows + 1))
    high = by_entity["student"].watermark_to
    assert high == max(students.column("updated_at").to_pylist())

    # Nothing changed upstream: nothing lands.
    assert extract_source(source, url, landing, "2025-06-29").landed == []

    # Records updated after the watermark arrive, and only they.
    with sqlite3.connect(db) as conn:
        conn.execute(
            "update students set full_name = full_name || '', updated_at = '2099-01-01T00:00:00Z' "
            "where rowid in (select rowid from students limit 3)"
        )
    again = extract_source(source, url, landing, "2025-06-30").landed
    assert [(m.entity, m.rows_landed, m.watermark_from) for m in again] == [("student", 3, high)]


def test_api_down_is_a_clear_error(registry, tmp_path):
    result = extract_source(
        registry["education"], "http://127.0.0.1:9", LocalLandingZone(tmp_path), "d"
    )
    assert result.landed == [] and len(result.errors) == 3
    assert result.errors[0].startswith("education: http://127.0.0.1:9/api/v1/students")
    assert "request failed" in result.errors[0]


def test_batches_carry_the_apis_total_and_a_dropped_record_fails(
    registry, education, tmp_path, monkeypatch
):
    """The API's reported total is the batch's count at the source: an extractor that loses a
    record of a page fails the entity naming the query and both counts, and lands nothing."""
    from ndc.extract import api as api_mod
    from tests.unit.test_source_count import _drop_one

    db, url = education
    source = _small_pages(registry["education"])
    landing = LocalLandingZone(tmp_path / "landing")
    monkeypatch.setattr(api_mod, "_entity_chunks", _drop_one(api_mod._entity_chunks))
    result = extract_source(source, url, landing, "2025-06-28")
    assert result.landed == [] and len(result.errors) == 3
    students = _count(db, "students")
    assert result.errors[0] == (
        f"education.student: {url}/api/v1/students?page=1&page_size=7: the source counts "
        f"{students} row(s), the extractor read {students - 1}: batch not landed (a count "
        "mismatch is the extractor's bug: rows dropped?)"
    )
    monkeypatch.undo()
    landed = extract_source(source, url, landing, "2025-06-28").landed
    assert {m.entity: (m.rows_at_source, m.rows_landed) for m in landed} == {
        entity: (_count(db, table), _count(db, table))
        for entity, table in [
            ("student", "students"),
            ("enrolment", "enrolments"),
            ("graduation", "graduations"),
        ]
    }
