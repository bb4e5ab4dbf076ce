"""ndc.synthetic.education_api: the education system's REST API over its tables."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request

from ndc.synthetic import GenerationSummary
from tests.unit.synthetic_files import read_table


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_education_api(country11: GenerationSummary) -> None:
    from ndc.synthetic.education_api import serve

    db = country11.out / "education" / "education.sqlite"
    server, url = serve(db, port=0)
    try:
        assert _get(f"{url}/health") == (200, {"status": "ok"})
        students = read_table(db, "students")
        seen, page_url, pages = [], f"{url}/api/v1/students?page_size=37", 0
        while page_url:
            status, body = _get(page_url)
            assert status == 200 and body["total"] == len(students) and body["page_size"] == 37
            seen.extend(body["data"])
            page_url = body["next"]
            pages += 1
        assert pages == math.ceil(len(students) / 37)
        assert [s["student_id"] for s in seen] == list(
            students.sort_values(["updated_at", "student_id"])["student_id"]
        )
        assert set(seen[0]) == set(students.columns)
        cut = sorted(students["updated_at"])[len(students) // 2]
        status, body = _get(f"{url}/api/v1/students?updated_since={cut}&page_size=1000")
        assert status == 200
        expected = students[students["updated_at"] > cut]
        assert body["total"] == len(expected) == len(body["data"]) and body["next"] is None
        assert all(r["updated_at"] > cut for r in body["data"])
        status, body = _get(f"{url}/api/v1/enrolments?updated_since=2025-06-29T00:00:00%2B00:00")
        assert status == 200 and all(r["updated_at"] > "2025-06-29" for r in body["data"])
        assert isinstance(body["data"][0]["grade"], int)
        status, body = _get(f"{url}/api/v1/graduations")
        assert status == 200 and body["page_size"] == 500
        assert _get(f"{url}/api/v1/teachers")[0] == 404
        for bad, name in (
            ("page_size=5000", "page_size"),
            ("page=0", "page"),
            ("page=x", "page"),
            ("updated_since=yesterday", "updated_since"),
        ):
            status, body = _get(f"{url}/api/v1/students?{bad}")
            assert status == 400 and name in body["error"]
    finally:
        server.shutdown()
        server.server_close()
