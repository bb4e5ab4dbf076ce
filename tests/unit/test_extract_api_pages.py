"""An API that repeats a page: a clear error, never its rows twice (ndc.extract.api)."""

import pytest

from ndc.extract import ExtractError
from ndc.extract.api import _entity_chunks


def _student(i: int, updated_at: str = "2025-06-28T10:00:00Z") -> dict:
    return {
        "student_id": f"HS{i:04d}", "citizen_id": None, "full_name": "Lê Thị Hoa",
        "date_of_birth": "2010-01-02", "gender": "F", "ethnicity_code": "01",
        "updated_at": updated_at,
    }  # fmt: skip


def _rows(entity, pages):
    state = {"undeclared": []}
    return sum(b.num_rows for b in _entity_chunks("education", entity, iter(pages), state))


def test_a_repeated_page_fails_naming_the_record_and_both_pages(registry):
    entity = registry["education"].entity("student")
    page1 = [_student(1), _student(2)]
    pages = [("http://api/p1", page1), ("http://api/p2", list(page1)), ("http://api/p3", [])]
    with pytest.raises(ExtractError) as info:
        _rows(entity, pages)
    assert info.value.reason == "repeated_page" and info.value.row == 3
    message = str(info.value)
    assert "student_id HS0001" in message and "http://api/p2" in message
    assert "http://api/p1" in message


def test_a_record_updated_while_paging_is_a_new_version_not_a_repeat(registry):
    entity = registry["education"].entity("student")
    pages = [
        ("http://api/p1", [_student(1), _student(2)]),
        ("http://api/p2", [_student(3), _student(1, "2025-06-28T10:00:09Z")]),
    ]
    assert _rows(entity, pages) == 4
