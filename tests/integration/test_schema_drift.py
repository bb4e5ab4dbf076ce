"""Schema drift of every extractor kind, through a real load: the values of a column the
registry does not declare land in their rows' raw ``_extra``, the load ledger names the column
and counts the rows, `ndc report` shows it; a declared column the source no longer sends fails
the extract, naming source, entity and column. (SQL sources: tests/integration/
test_sql_extract.py.)"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import Workbook

from ndc.extract import extract_source
from ndc.landing import LocalLandingZone
from ndc.load import load_source
from ndc.report import format_report, schema_drift
from ndc.warehouse import bootstrap, connect
from tests.conftest import write_csv
from tests.unit.test_extract_files import HEADER as BIRTH_HEADER
from tests.unit.test_extract_files import ROW as BIRTH_ROW
from tests.unit.test_extract_xlsx import HEADER as ENTERPRISE_HEADER
from tests.unit.test_extract_xml import document, owner, parcel

pytestmark = pytest.mark.integration

# What COPY's CSV and the jsonb input must carry through unchanged.
AWKWARD = 'dòng 1\ndòng 2, "trích" \\ hết'


def _load(pg_database, landing, source) -> None:
    bootstrap(pg_database, {source.name: source})
    load_source(pg_database, landing, source)


def _extra(pg_database, table: str, key: str) -> dict:
    """{key column: _extra} of a raw table."""
    with connect(pg_database) as conn:
        return dict(conn.execute(f"select {key}, _extra from raw.{table} order by 1").fetchall())


def _ledger(pg_database) -> dict:
    """{entity: (undeclared_columns, undeclared_rows)} of the load ledger."""
    with connect(pg_database) as conn:
        rows = conn.execute(
            "select entity, undeclared_columns, undeclared_rows from ops.load_ledger"
        ).fetchall()
    return {entity: (columns, n) for entity, columns, n in rows}


def _report_line(pg_database, entity: str) -> str:
    with connect(pg_database) as conn:
        drift = schema_drift(conn)
    text = format_report({"sources": {}, "population": {"citizens": 0}, "schema_drift": drift})
    [line] = [line for line in text.splitlines() if line.startswith(f"schema drift: {entity} ")]
    return line


def test_csv_undeclared_columns_are_kept_in_raw(registry, pg_database, tmp_path):
    """An undeclared header column and a nameless one (drift once it carries a value)."""
    source = registry["civil_registration"]
    source = source.model_copy(update={"entities": [source.entity("birth")]})
    inbox = tmp_path / "inbox"
    write_csv(
        inbox / "births_01_20250601.csv",
        [*BIRTH_HEADER, "email", ""],
        [
            [*BIRTH_ROW, "", ""],
            ["KS-2", *BIRTH_ROW[1:], "an@example.vn", "ghi chú"],
            ["KS-3", *BIRTH_ROW[1:], AWKWARD, ""],
        ],
    )
    landing = LocalLandingZone(tmp_path / "landing")
    result = extract_source(source, str(inbox), landing, "2025-06-01")
    assert result.errors == []
    _load(pg_database, landing, source)
    assert _extra(pg_database, "civil_registration__birth", "so_dang_ky") == {
        "KS-01-1": None,
        "KS-2": {"email": "an@example.vn", "#11": "ghi chú"},
        "KS-3": {"email": AWKWARD},
    }
    assert _ledger(pg_database) == {"birth": (["email", "#11"], 2)}
    assert "undeclared column(s) #11, email (since " in _report_line(
        pg_database, "civil_registration.birth"
    )
    assert "2 row(s) with values, kept in raw.civil_registration__birth._extra" in (
        _report_line(pg_database, "civil_registration.birth")
    )

    write_csv(inbox / "births_79_20250602.csv", BIRTH_HEADER[:-1], [BIRTH_ROW[:-1]])
    [error] = extract_source(source, str(inbox), landing, "2025-06-02").set_aside_messages
    assert error.startswith("civil_registration: births_79_20250602.csv: missing column(s) ")
    assert "['so_dinh_danh_me'] of entity birth" in error


def _workbook(path, header, rows):
    book = Workbook()
    ws = book.active
    ws.title = "DoanhNghiep"
    ws.append(header)
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def test_xlsx_undeclared_columns_are_kept_in_raw(registry, pg_database, tmp_path):
    source = registry["business_registry"]
    inbox = tmp_path / "inbox"
    row = ["", "Công ty", "TNHH", "2019-03-04", "", "01", "Nguyễn Thị Hoa", "", "Đang hoạt động"]
    _workbook(
        inbox / "enterprises_2025W26.xlsx",
        [*ENTERPRISE_HEADER, "so_lao_dong", "email"],
        [["0101234567", *row[1:], 25, None], ["0309876543", *row[1:], None, "mekong@ví.dụ"]],
    )
    landing = LocalLandingZone(tmp_path / "landing")
    assert extract_source(source, str(inbox), landing, "2025-06-30").errors == []
    _load(pg_database, landing, source)
    assert _extra(pg_database, "business_registry__enterprise", "ma_so_thue") == {
        "0101234567": {"so_lao_dong": "25"},  # a number cell as the text raw keeps
        "0309876543": {"email": "mekong@ví.dụ"},
    }
    assert _ledger(pg_database) == {"enterprise": (["so_lao_dong", "email"], 2)}

    _workbook(inbox / "enterprises_2025W27.xlsx", ENTERPRISE_HEADER[:-1], [row[:-1]])
    [error] = extract_source(source, str(inbox), landing, "2025-07-07").set_aside_messages
    assert error.startswith("business_registry: enterprises_2025W27.xlsx: missing column(s) ")
    assert "['trang_thai'] of entity enterprise" in error


def test_xml_unmapped_attributes_and_elements_are_kept_in_raw(registry, pg_database, tmp_path):
    """A parcel's unmapped attribute, an attribute of a mapped element and a new element; an
    owner's new element and a nested block. The owners nested in a parcel are not the
    parcel's drift."""
    source = registry["land_registry"]
    drifting = (
        parcel(
            "P1",
            owner(1).replace("</ChuSuDung>", "<Email>an@example.vn</Email></ChuSuDung>")
            + owner(2).replace(
                "</ChuSuDung>", '<GiayTo Loai="CCCD"><So>001090000001</So></GiayTo></ChuSuDung>'
            ),
            address='<DiaChi MaHuyen="001" MaXa="00001" MaTinh="01"/>',
        )
        .replace('SoThua="34">', 'SoThua="34" SoGiay="GCN-1">')
        .replace("</ThuaDat>", f"<GhiChu>{AWKWARD}</GhiChu></ThuaDat>")
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "land_01_20250628.xml").write_text(
        document(drifting + parcel("P2", owner(1))), encoding="utf-8"
    )
    landing = LocalLandingZone(tmp_path / "landing")
    result = extract_source(source, str(inbox), landing, "2025-06-28")
    assert result.errors == []
    _load(pg_database, landing, source)
    assert _extra(pg_database, "land_registry__parcel", "ma_thua") == {
        "P1": {"@SoGiay": "GCN-1", "DiaChi/@MaTinh": "01", "GhiChu": AWKWARD},
        "P2": None,
    }
    assert _extra(pg_database, "land_registry__owner", "ma_thua || '/' || stt") == {
        "P1/1": {"Email": "an@example.vn"},
        "P1/2": {"GiayTo": '<GiayTo Loai="CCCD"><So>001090000001</So></GiayTo>'},
        "P2/1": None,
    }
    assert _ledger(pg_database) == {
        "parcel": (["@SoGiay", "DiaChi/@MaTinh", "GhiChu"], 1),
        "owner": (["Email", "GiayTo"], 2),
    }
    assert "undeclared column(s) Email, GiayTo" in _report_line(pg_database, "land_registry.owner")

    # A declared field no record of a file has fails the file (a field only some records
    # lack is an optional element: null there).
    lost = parcel("P3", owner(1).replace("<TyLeSoHuu>50</TyLeSoHuu>", ""))
    (inbox / "land_01_20250629.xml").write_text(document(lost), encoding="utf-8")
    [error] = extract_source(source, str(inbox), landing, "2025-06-29").set_aside_messages
    assert error.startswith("land_registry: owner: land_01_20250629.xml: missing column(s) ")
    assert "['ty_le_so_huu']" in error


STUDENT = {
    "student_id": "HS-1",
    "citizen_id": "001209000001",
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "2009-05-01",
    "gender": "1",
    "ethnicity_code": "01",
    "updated_at": "2025-06-01T08:00:00Z",
}


def _student(n: int, **more) -> dict:
    return {**STUDENT, "student_id": f"HS-{n}", **more}


class _Pages(BaseHTTPRequestHandler):
    """GET /api/v1/students?page=N: the server's `pages`, each linking the next."""

    pages: list[list[dict]] = []

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        host = f"http://{self.headers['Host']}"
        nxt = f"{host}{url.path}?page={page + 1}" if page < len(self.pages) else None
        body = json.dumps({"data": self.pages[page - 1], "next": nxt}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def api():
    """An API serving the pages a test sets: (base URL, set_pages)."""
    handler = type("Pages", (_Pages,), {"pages": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def set_pages(pages):
        handler.pages = pages

    yield f"http://127.0.0.1:{server.server_address[1]}", set_pages
    server.shutdown()
    server.server_close()


def test_api_undeclared_fields_are_kept_in_raw_page_by_page(registry, pg_database, tmp_path, api):
    """Fields the registry does not declare appear on later pages: each is found on its page;
    a nested object is kept as its JSON text."""
    source = registry["education"]
    source = source.model_copy(update={"entities": [source.entity("student")]})
    url, set_pages = api
    set_pages(
        [
            [_student(1), _student(2)],
            [_student(3, email="an@example.vn", address={"ward": "00001", "so_nha": 5})],
            [_student(4, email=None, nickname=AWKWARD)],
        ]
    )
    landing = LocalLandingZone(tmp_path / "landing")
    result = extract_source(source, url, landing, "2025-06-01")
    assert result.errors == []
    assert result.landed[0].extra == {"undeclared_columns": ["email", "address", "nickname"]}
    _load(pg_database, landing, source)
    assert _extra(pg_database, "education__student", "student_id") == {
        "HS-1": None,
        "HS-2": None,
        "HS-3": {"email": "an@example.vn", "address": '{"ward": "00001", "so_nha": 5}'},
        "HS-4": {"nickname": AWKWARD},  # a null value is left out
    }
    assert _ledger(pg_database) == {"student": (["email", "address", "nickname"], 2)}

    gone = _student(5, updated_at="2025-06-02T08:00:00Z")
    del gone["gender"]
    set_pages([[gone]])
    [error] = extract_source(source, url, landing, "2025-06-02").errors
    assert error.startswith("education.student: ") and "lacks declared field(s) ['gender']" in error
