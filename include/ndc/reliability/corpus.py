"""The bad-input corpus: broken, odd and hostile files and responses for every kind of source,
generated (:func:`generate`, ``scripts/make_bad_corpus.py``) into ``tests/corpus/bad_input``,
and run through the real extract and load (:func:`run_corpus`) with a verdict per case.

Each case is one file (CSV, workbook, XML, a SQLite database) or one API response (a JSON
page), with what the generator knows of it: its source and the rows it holds per entity
(counted as written, independently of the extractors) and the outcome expected:

- ``loaded``: landed and loaded, every row (odd values are the staging models' to quarantine,
  with a reason code, after the load);
- ``set_aside``: the file is set aside with a reason code (ndc.file_quarantine): its rows are
  counted as set aside, not lost;
- ``error``: the source's entity fails with ndc's own error naming the source, the response or
  table, and the row (API and SQL sources, which have no file to set aside).

A crash is any other end: an exception that is not ndc's own, or a file set aside as
``unexpected_error``. :func:`summarise` gives the figures (``{"files", "clear_errors",
"quarantined", "crashes", ...}``) that ``ndc reliability --corpus-only --json`` prints.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import sqlite3
import tempfile
import threading
import zipfile
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ndc.synthetic.encodings import encode_cp1258

log = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).resolve().parents[3] / "tests" / "corpus" / "bad_input"
CASES_FILE = "cases.json"
BIG_FIELD_BYTES = 3 << 20  # a multi-megabyte field: written at run time, not kept in the repo

BIRTH = [
    "so_dang_ky", "ngay_dang_ky", "so_dinh_danh", "ho_ten", "ngay_sinh", "gioi_tinh",
    "noi_sinh_tinh", "ho_ten_me", "so_dinh_danh_me",
]  # fmt: skip
ENTERPRISE = [
    "ma_so_thue", "ten_doanh_nghiep", "loai_hinh", "ngay_thanh_lap", "dia_chi_tru_so", "ma_tinh",
    "ho_ten_nguoi_dai_dien", "so_dinh_danh_nguoi_dai_dien", "trang_thai",
]  # fmt: skip
STUDENT = [
    "student_id", "citizen_id", "full_name", "date_of_birth", "gender", "ethnicity_code",
    "updated_at",
]  # fmt: skip
INSURED = [
    "ma_so_bhxh", "so_dinh_danh", "so_cmnd", "ho_ten", "ngay_sinh", "gioi_tinh", "ma_don_vi",
    "ma_so_thue_don_vi", "so_dien_thoai", "updated_at",
]  # fmt: skip
PERIOD = [
    "id", "ma_so_bhxh", "tu_thang", "den_thang", "muc_luong", "ma_so_thue_don_vi", "updated_at",
]  # fmt: skip


@dataclass
class Case:
    """One corpus file or response and what is expected of it."""

    name: str  # the file name under the source's folder
    source: str
    what: str  # the defect, for people
    expect: str  # loaded | set_aside | error
    rows: dict[str, int] = field(default_factory=dict)  # entity -> rows written
    reason: str | None = None  # the reason code expected (None: any of ndc's)


def birth_row(i: int, name: str = "Nguyễn Văn An") -> list[str]:
    return [
        f"KS-{i:05d}", "2025-06-01", f"0012050{i:05d}", name, "2025-05-20", "Nam", "01",
        "Trần Thị Bình", f"0011900{i:05d}",
    ]  # fmt: skip


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",", end: str = "\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=end)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _csv_cases() -> list[tuple[Case, bytes]]:
    from ndc import textcodecs

    textcodecs.register()
    good = [birth_row(i) for i in range(1, 4)]
    text = _csv(BIRTH, good)
    src = "civil_registration"

    def case(name, what, expect, data, rows=0, reason=None):
        return Case(f"births_{name}.csv", src, what, expect, {"birth": rows}, reason), data

    renamed = [("hoten" if c == "ho_ten" else c) for c in BIRTH]
    mixed = text.encode() + ",".join(birth_row(9, "Lê Văn Tám")).encode("tcvn3") + b"\n"
    return [
        case("01_good", "a good province file", "loaded", text.encode(), 3),
        case("02_empty", "an empty file (0 bytes)", "set_aside", b"", 0, "empty_file"),
        case("03_header_only", "a header and no rows", "loaded", _csv(BIRTH, []).encode(), 0),
        case("04_truncated", "cut in the middle of a row", "set_aside",
             text.encode()[:-30], 3, "field_count"),
        case("05_semicolon", "a wrong delimiter (;)", "set_aside",
             _csv(BIRTH, good, ";").encode(), 3, "missing_columns"),
        case("06_bom", "a UTF-8 byte-order mark", "loaded", b"\xef\xbb\xbf" + text.encode(), 3),
        case("07_mixed_encodings", "a TCVN3 row in a UTF-8 file", "loaded", mixed, 4),
        case("08_cp1258", "the whole file in Windows-1258", "loaded",
             encode_cp1258(text), 3),
        case("09_tcvn3", "the whole file in TCVN3", "loaded", text.encode("tcvn3"), 3),
        case("10_renamed_column", "a renamed column (ho_ten -> hoten)", "set_aside",
             _csv(renamed, good).encode(), 3, "missing_columns"),
        case("11_missing_column", "a declared column missing", "set_aside",
             _csv(BIRTH[:-1], [r[:-1] for r in good]).encode(), 3, "missing_columns"),
        case("12_extra_column", "an undeclared column (schema drift)", "loaded",
             _csv([*BIRTH, "email"], [[*r, "a@b.vn"] for r in good]).encode(), 3),
        case("13_repeated_column", "a column named twice", "loaded",
             _csv([*BIRTH, "ho_ten"], [[*r, "X"] for r in good]).encode(), 3),
        case("14_binary_garbage", "binary garbage", "set_aside",
             bytes((i * 151 + 7) % 256 for i in range(4096)), 0),
        case("15_open_quote", "a quote left open", "set_aside",
             text.encode() + b'KS-9,2025-06-01,"001,Nguyen\n', 4),
        case("16_nul_byte", "a NUL byte in a row", "set_aside",
             text.replace("Nguyễn Văn An", "Nguy\0n", 1).encode(), 3, "nul_character"),
        case("17_crlf", "Windows line ends", "loaded", _csv(BIRTH, good, end="\r\n").encode(), 3),
        case("18_cr_only", "old Mac line ends (CR)", "loaded",
             _csv(BIRTH, good, end="\r").encode(), 3),
        case("19_blank_line", "a blank line among the rows", "set_aside",
             text.replace("\n", "\n\n", 2).encode(), 3, "field_count"),
        case("20_dates_as_text", "dates written in words", "loaded",
             _csv(BIRTH, [[*r[:4], "hai mươi tháng năm", *r[5:]] for r in good]).encode(), 3),
        case("21_wrong_types", "letters in the personal ID", "loaded",
             _csv(BIRTH, [[*r[:2], "ABCDEF", *r[3:]] for r in good]).encode(), 3),
        case("22_whitespace_only", "only spaces and a newline", "set_aside", b"   \n", 0,
             "missing_columns"),
        case("23_utf16", "UTF-16 with its byte-order mark", "set_aside",
             text.encode("utf-16"), 3),
        case("24_upper_case_header", "the header in capitals", "set_aside",
             _csv([c.upper() for c in BIRTH], good).encode(), 3, "missing_columns"),
        case("25_extra_field", "a row with one field too many", "set_aside",
             _csv(BIRTH, [*good, [*birth_row(4), "x"]]).encode(), 4, "field_count"),
        case("26_quoted_newline", "a name with a line break in quotes", "loaded",
             _csv(BIRTH, [birth_row(1, "Nguyễn\nVăn An"), *good[1:]]).encode(), 3),
        case("27_sep_line", "Excel's sep=, line above the header", "set_aside",
             b"sep=,\n" + text.encode(), 3),
        case("28_padded_header", "spaces around the header names", "loaded",
             _csv([f" {c} " for c in BIRTH], good).encode(), 3),
        case("29_shell name $(touch pwned); rm -rf ~", "shell characters in the name",
             "loaded", _csv(BIRTH, [birth_row(i) for i in range(29, 32)]).encode(), 3),
    ]  # fmt: skip


def _workbook(sheets: dict[str, list[list]], merge: str | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        if merge and title == "DoanhNghiep":
            ws.merge_cells(merge)
    buf = io.BytesIO()
    book.save(buf)
    return _reproducible(buf.getvalue())


def _reproducible(data: bytes) -> bytes:
    """A workbook's zip with fixed timestamps (openpyxl stamps the time of saving into its
    properties and entries), so the generator writes the same bytes every time."""
    import re

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2025-06-30T00:00:00Z", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2025, 6, 30, 0, 0, 0))
            dst.writestr(fixed, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def enterprise_row(i: int) -> list:
    return [
        f"01012345{i:02d}", f"Công ty {i}", "TNHH", "2019-03-04", "Số 1 Tràng Tiền", "01",
        "Nguyễn Thị Hoa", f"0011800{i:05d}", "Đang hoạt động",
    ]  # fmt: skip


def _bomb() -> bytes:
    """A workbook-shaped zip whose sheet unpacks to 20 MiB of spaces (ratio ~1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, body in (
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/worksheets/sheet1.xml", b" " * (20 << 20)),
        ):
            z.writestr(
                zipfile.ZipInfo(name, date_time=(2025, 6, 30, 0, 0, 0)),
                body,
                zipfile.ZIP_DEFLATED,
                9,
            )
    return buf.getvalue()


def _xlsx_cases() -> list[tuple[Case, bytes]]:
    src = "business_registry"
    good = [enterprise_row(i) for i in range(1, 4)]

    def case(name, what, expect, data, rows=0, reason=None):
        rows_ = {"enterprise": rows}
        return Case(f"enterprises_{name}.xlsx", src, what, expect, rows_, reason), data

    book = _workbook({"DoanhNghiep": [ENTERPRISE, *good]})
    formulas = [[*r[:5], "=1+0", *r[6:]] for r in good]
    real_dates = [[*r[:3], __import__("datetime").date(2019, 3, 4), *r[4:]] for r in good]
    return [
        case("01_good", "a good workbook", "loaded", book, 3),
        case("02_several_sheets", "the sheet after two others", "loaded",
             _workbook({"Huong dan": [["đọc kỹ"]], "Tong hop": [[1, 2]],
                        "DoanhNghiep": [ENTERPRISE, *good]}), 3),
        case("03_no_such_sheet", "the sheet named otherwise", "set_aside",
             _workbook({"Sheet1": [ENTERPRISE, *good]}), 3, "missing_sheet"),
        case("04_merged_cells", "merged cells across rows", "loaded",
             _workbook({"DoanhNghiep": [ENTERPRISE, *good]}, merge="C2:C4"), 3),
        case("05_formulas", "formulas without cached values", "loaded",
             _workbook({"DoanhNghiep": [ENTERPRISE, *formulas]}), 3),
        case("06_real_dates", "dates as date cells, not text", "loaded",
             _workbook({"DoanhNghiep": [ENTERPRISE, *real_dates]}), 3),
        case("07_empty_sheet", "an empty sheet", "set_aside",
             _workbook({"DoanhNghiep": []}), 0, "empty_file"),
        case("08_truncated", "a workbook cut in half", "set_aside",
             book[: len(book) // 2], 3, "not_xlsx"),
        case("09_csv_named_xlsx", "a CSV file named .xlsx", "set_aside",
             _csv(ENTERPRISE, good).encode(), 3, "not_xlsx"),
        case("10_zero_bytes", "an empty .xlsx (0 bytes)", "set_aside", b"", 0, "not_xlsx"),
        case("11_missing_column", "a declared column missing", "set_aside",
             _workbook({"DoanhNghiep": [ENTERPRISE[:-1], *[r[:-1] for r in good]]}), 3,
             "missing_columns"),
        case("12_title_rows", "a title above the header", "set_aside",
             _workbook({"DoanhNghiep": [["DANH SÁCH DOANH NGHIỆP"], [], ENTERPRISE, *good]}), 3,
             "missing_columns"),
        case("13_numbers_for_text", "tax codes typed as numbers", "loaded",
             _workbook({"DoanhNghiep": [ENTERPRISE, *[[int(r[0]), *r[1:]] for r in good]]}), 3),
        case("14_decompression_bomb", "a zip bomb named .xlsx", "set_aside", _bomb(), 0,
             "decompression_bomb"),
    ]  # fmt: skip


def _parcel(i: int, owners: int = 1) -> str:
    people = "".join(
        f'<ChuSuDung STT="{k}"><SoDinhDanh>00109000{i:02d}{k:02d}</SoDinhDanh>'
        f"<HoTen>Nguyễn Văn An</HoTen><NgaySinh>1990-01-02</NgaySinh><TyLeSoHuu>50</TyLeSoHuu>"
        f"<MaXaThuongTru>00004</MaXaThuongTru></ChuSuDung>"
        for k in range(1, owners + 1)
    )
    return (
        f'<ThuaDat MaThua="T{i:04d}" SoTo="12" SoThua="{i}"><DienTich>250.5</DienTich>'
        f'<MucDichSuDung>ONT</MucDichSuDung><DiaChi MaHuyen="001" MaXa="00001"/>'
        f"<NgayCapNhat>2025-06-28</NgayCapNhat>{people}</ThuaDat>"
    )


def _xml(body: str, encoding: str = "UTF-8", doctype: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n{doctype}'
        f'<DuLieuDatDai MaTinh="01" NgayXuat="2025-06-28">\n{body}\n</DuLieuDatDai>\n'
    )


def _xml_cases() -> list[tuple[Case, bytes]]:
    src = "land_registry"
    body = "\n".join(_parcel(i, owners=2) for i in range(1, 4))
    good = _xml(body).encode()

    def case(name, what, expect, data, parcels=0, owners=0, reason=None):
        rows = {"parcel": parcels, "owner": owners}
        return Case(f"land_{name}.xml", src, what, expect, rows, reason), data

    laughs = (
        '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "]>\n"
    )
    xxe = '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    return [
        case("01_good", "a good file", "loaded", good, 3, 6),
        case("02_cut_in_half", "cut in half", "set_aside", good[: len(good) // 2], 3, 6,
             "malformed_xml"),
        case("03_empty", "an empty file", "set_aside", b"", 0, 0, "malformed_xml"),
        case("04_wrong_encoding", "declares ISO-8859-1", "set_aside",
             _xml(body, "ISO-8859-1").encode("latin-1", errors="replace"), 3, 6, "encoding"),
        case("05_windows_1258", "Windows-1258, declared", "loaded",
             encode_cp1258(_xml(body, "windows-1258")), 3, 6),
        case("06_garbage", "binary garbage", "set_aside",
             bytes((i * 97 + 13) % 256 for i in range(2048)), 0, 0),
        case("07_no_owners", "parcels without owners", "loaded",
             _xml("\n".join(_parcel(i, owners=0) for i in range(1, 3))).encode(), 2, 0),
        case("08_billion_laughs", "entity expansion (billion laughs)", "set_aside",
             _xml("<ThuaDat>&i;</ThuaDat>", doctype=laughs).encode(), 0, 0, "malformed_xml"),
        case("09_external_entity", "an external entity (XXE) to /etc/passwd", "set_aside",
             _xml(f'<ThuaDat MaThua="&x;"/>{body}', doctype=xxe).encode(), 4, 6,
             "malformed_xml"),
        case("10_not_utf8", "declares UTF-8, holds Windows-1258 bytes", "set_aside",
             encode_cp1258(_xml(body)), 3, 6, "malformed_xml"),
    ]  # fmt: skip


def student(i: int, **over) -> dict:
    record = {
        "student_id": f"HS{i:05d}", "citizen_id": f"0012100{i:05d}", "full_name": "Lê Thị Mai",
        "date_of_birth": "2010-09-01", "gender": "F", "ethnicity_code": "01",
        "updated_at": f"2025-06-01T00:00:{i:02d}",
    }  # fmt: skip
    record.update(over)
    return record


def _api_cases() -> list[tuple[Case, bytes]]:
    src = "education"

    def case(n, name, what, expect, body, rows=0, reason=None):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        name = f"students_{n:02d}_{name}.json"
        return Case(name, src, what, expect, {"student": rows}, reason), data

    def page(records, **extra):
        return {"data": records, "next": None, **extra}

    def good(n, k=3):
        return [student(n * 10 + j) for j in range(k)]

    return [
        case(1, "good", "a good page", "loaded", page(good(1)), 3),
        case(2, "html", "an HTML error page with status 200", "error",
             b"<html><body>502 Bad Gateway</body></html>", 0, "bad_response"),
        case(3, "array", "a JSON array, not a page", "error", good(3), 3, "bad_response"),
        case(4, "no_data", "a page without its data key", "error", {"items": good(4)}, 3,
             "bad_response"),
        case(5, "data_object", "data is an object", "error", {"data": student(50)}, 1,
             "bad_response"),
        case(6, "missing_field", "a record without a declared field", "error",
             page([*good(6, 2), {k: v for k, v in student(62).items() if k != "gender"}]), 3,
             "missing_columns"),
        case(7, "wrong_types", "numbers and booleans for text", "loaded",
             page([student(70, student_id=70, date_of_birth=20100901, gender=True)]), 1),
        case(8, "nested", "a nested object in a declared field", "loaded",
             page([student(80, full_name={"ho": "Lê", "ten": "Mai"})]), 1),
        case(9, "truncated", "JSON cut in half", "error",
             json.dumps(page(good(9))).encode()[:100], 3, "bad_response"),
        case(10, "empty_body", "an empty body", "error", b"", 0, "bad_response"),
        case(11, "next_number", "next is a number", "error", {"data": good(11), "next": 2}, 3,
             "bad_response"),
        case(12, "no_watermark", "no record has updated_at", "error",
             page([student(120, updated_at=None)]), 1, "missing_watermark"),
        case(13, "strings", "records that are strings", "error", page(["HS1", "HS2"]), 2,
             "bad_response"),
        case(14, "extra_field", "an undeclared field (schema drift)", "loaded",
             page([student(140, school="THPT Chu Văn An")]), 1),
        case(15, "null_body", "the JSON null", "error", b"null", 0, "bad_response"),
        case(16, "oversized", "a page over the size limit (limit lowered for the run)", "error",
             page([student(160 + j % 9, full_name="x" * 1000) for j in range(200)]), 200,
             "response_too_large"),
    ]  # fmt: skip


def _sqlite(build) -> bytes:
    """A SQLite database of the social-insurance shape, altered by ``build(conn)``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db.sqlite"
        conn = sqlite3.connect(path)
        build(conn)
        conn.commit()
        conn.close()
        return path.read_bytes()


def _insured_tables(
    conn, insured_types=None, rows=None, drop=None, watermark="2025-06-01 00:00:00"
) -> None:
    types = {c: "text" for c in INSURED} | (insured_types or {})
    cols = [c for c in INSURED if c != drop]
    conn.execute(f"create table insured_person ({', '.join(f'{c} {types[c]}' for c in cols)})")
    conn.execute(f"create table qua_trinh_dong ({', '.join(f'{c} text' for c in PERIOD)})")
    for values in rows or []:
        conn.execute(
            f"insert into insured_person ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
            [v for c, v in zip(INSURED, values, strict=True) if c != drop],
        )
    conn.execute(
        f"insert into qua_trinh_dong values ({', '.join('?' * len(PERIOD))})",
        ["1", "BH0001", "2024-01", "2024-12", "5000000", "0101234567", watermark],
    )


def insured(i: int, watermark: str) -> list:
    return [
        f"BH{i:04d}", f"0011900{i:05d}", None, "Phạm Văn Cường", "1990-01-02", "Nam", "DV01",
        "0101234567", "0912345678", watermark,
    ]  # fmt: skip


def _sql_cases() -> list[tuple[Case, bytes]]:
    src = "social_insurance"

    def case(n, name, what, expect, build, rows, reason=None):
        return Case(f"{n:02d}_{name}.sqlite", src, what, expect, rows, reason), _sqlite(build)

    def wm(n):
        return f"2025-06-{n:02d} 00:00:00"

    def tables(n, k=3, **kw):
        return lambda c: _insured_tables(
            c, rows=[insured(n * 10 + j, wm(n)) for j in range(k)], watermark=wm(n), **kw
        )

    def changed_type(c):
        _insured_tables(c, {"ngay_sinh": "integer", "ma_so_bhxh": "integer"}, watermark=wm(2))
        c.execute(
            "insert into insured_person (ma_so_bhxh, ho_ten, ngay_sinh, updated_at) "
            "values (20, 'Phạm Văn Cường', 19900102, ?)",
            (wm(2),),
        )

    def blob(c):
        _insured_tables(c, {"ho_ten": "blob"}, watermark=wm(5))
        c.execute(
            "insert into insured_person (ma_so_bhxh, ho_ten, updated_at) values ('BH0050', ?, ?)",
            (b"\xff\xfeP\x00h\x00", wm(5)),
        )

    def no_table(c):
        _insured_tables(c, watermark=wm(4))
        c.execute("drop table insured_person")

    one = {"insured_person": 1, "contribution_period": 1}
    return [
        case(1, "good", "a good database", "loaded", tables(1), {**one, "insured_person": 3}),
        case(2, "column_type_changed", "ngay_sinh and ma_so_bhxh became integers", "loaded",
             changed_type, one),
        case(3, "column_dropped", "a declared column dropped", "error",
             tables(3, drop="so_cmnd"), {**one, "insured_person": 3}, "missing_columns"),
        case(4, "table_dropped", "the insured_person table gone", "error", no_table,
             {"insured_person": 0, "contribution_period": 1}),
        case(5, "blob_in_text", "UTF-16 bytes (a NUL) in a name column", "error", blob,
             {**one, "contribution_period": 1}, "nul_character"),
    ]  # fmt: skip


def build_cases() -> list[tuple[Case, bytes]]:
    return [*_csv_cases(), *_xlsx_cases(), *_xml_cases(), *_api_cases(), *_sql_cases()]


def generate(out: Path = CORPUS_DIR) -> list[Case]:
    """Write every case under ``out/<source>/`` and the list of cases to ``out/cases.json``."""
    cases = build_cases()
    if out.exists():
        shutil.rmtree(out)
    for case, data in cases:
        path = out / case.source / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    big = Case(
        "births_30_big_field.csv", "civil_registration",
        f"a {BIG_FIELD_BYTES >> 20} MiB field (written at run time)", "set_aside",
        {"birth": 3}, "field_too_large",
    )  # fmt: skip
    listed = [asdict(c) for c, _ in cases] + [asdict(big)]
    (out / CASES_FILE).write_text(json.dumps(listed, ensure_ascii=False, indent=1) + "\n")
    return [c for c, _ in cases] + [big]


def big_field_csv() -> bytes:
    rows = [birth_row(1), [*birth_row(2)[:3], "x" * BIG_FIELD_BYTES, *birth_row(2)[4:]]]
    return _csv(BIRTH, [*rows, birth_row(3)]).encode()


def load_cases(corpus: Path = CORPUS_DIR) -> list[Case]:
    return [Case(**c) for c in json.loads((corpus / CASES_FILE).read_text())]


# Running the corpus -------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    outcome: str  # loaded | set_aside | error | crash
    reason: str | None = None
    message: str = ""
    rows_loaded: int = 0
    rows_set_aside: int = 0
    rows_in_error: int = 0

    @property
    def rows_in(self) -> int:
        return sum(self.case.rows.values())

    @property
    def balanced(self) -> bool:
        """Rows in = rows loaded + rows set aside (or failing with a clear error)."""
        return self.rows_in == self.rows_loaded + self.rows_set_aside + self.rows_in_error

    @property
    def as_expected(self) -> bool:
        return self.outcome == self.case.expect and (
            self.case.reason is None or self.reason == self.case.reason
        )


def _is_ndc_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("ndc.")


def _ledger_rows(warehouse_url: str) -> dict[tuple[str, str, str], int]:
    """Rows loaded per (source, entity, source_file or batch_id)."""
    from ndc.warehouse import connect

    with connect(warehouse_url) as conn:
        rows = conn.execute(
            "select source, entity, coalesce(source_file, batch_id), sum(rows_loaded) "
            "from ops.load_ledger group by 1, 2, 3"
        ).fetchall()
    return {(s, e, f): int(n) for s, e, f, n in rows}


def _file_source(source, cases, corpus, work, warehouse_url, day) -> list[Outcome]:
    """Every file of a files source in one inbox, one extract, one load."""
    from ndc.extract import extract_source
    from ndc.file_quarantine import set_aside_records
    from ndc.landing import LocalLandingZone
    from ndc.load import load_source

    inbox = work / source.name / "inbox"
    inbox.mkdir(parents=True)
    for case in cases:
        target = inbox / case.name
        if case.name == "births_30_big_field.csv":
            target.write_bytes(big_field_csv())
        else:
            shutil.copyfile(corpus / source.name / case.name, target)
    landing = LocalLandingZone(work / source.name / "landing")
    try:
        extract_source(source, str(inbox), landing, day)
        load_source(warehouse_url, landing, source)
    except Exception as exc:  # noqa: BLE001 - counted: a crash takes every file of the source
        log.exception("%s: the corpus run crashed", source.name)
        return [Outcome(c, "crash", type(exc).__name__, str(exc)) for c in cases]
    aside: dict[str, list] = {}
    for record in set_aside_records(landing, source.name):
        aside.setdefault(record.file, []).append(record)
    loaded = _ledger_rows(warehouse_url)
    outcomes = []
    for case in cases:
        records = aside.get(case.name, [])
        set_aside_rows = sum(case.rows.get(r.entity, 0) for r in records)
        rows = sum(v for (s, e, f), v in loaded.items() if s == source.name and f == case.name)
        if any(r.reason == "unexpected_error" for r in records):
            kind = "crash"
        elif records:
            kind = "set_aside"
        else:
            kind = "loaded"
        outcomes.append(
            Outcome(
                case,
                kind,
                records[0].reason if records else None,
                records[0].message if records else "",
                rows,
                set_aside_rows,
            )  # fmt: skip
        )
    return outcomes


class _Pages(BaseHTTPRequestHandler):
    bodies: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 - the http.server interface
        case, _, endpoint = self.path.lstrip("/").partition("/")
        body = (
            self.bodies.get(case, b"")
            if endpoint.startswith("api/v1/students")
            else b'{"data": [], "next": null}'
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _one_case(source, case, location, work, warehouse_url, day) -> Outcome:
    """One response or database: its own landing zone, extract, load."""
    from ndc.extract import extract_source
    from ndc.landing import LocalLandingZone
    from ndc.load import load_source

    landing = LocalLandingZone(work / source.name / case.name)
    try:
        result = extract_source(source, location, landing, day)
        loaded = load_source(warehouse_url, landing, source)
    except Exception as exc:  # noqa: BLE001
        if _is_ndc_error(exc):
            return Outcome(case, "error", getattr(exc, "reason", None), str(exc),
                           rows_in_error=sum(case.rows.values()))  # fmt: skip
        log.exception("%s: %s crashed", source.name, case.name)
        return Outcome(case, "crash", type(exc).__name__, str(exc))
    per_entity = {m.entity: m.rows_landed for m in result.landed}
    rows_loaded = sum(n for _, n in loaded.loaded)
    failed = [e for e in case.rows if e not in per_entity]
    if result.errors:
        # The entities that failed: their rows are in a clear error, not loaded, not lost.
        in_error = sum(case.rows.get(e, 0) for e in failed)
        reason = next((r for r in (_reason(m) for m in result.errors) if r), None)
        return Outcome(case, "error", reason, result.errors[0], rows_loaded, 0, in_error)
    return Outcome(case, "loaded", None, "", rows_loaded)


def _reason(message: str) -> str | None:
    """The reason code of an error kept as text (ExtractResult.errors) from its wording."""
    for needle, code in (
        ("not a page of records", "bad_response"),
        ("lacks declared field", "missing_columns"),
        ("declared column(s)", "missing_columns"),
        ("no watermark", "missing_watermark"),
        ("over the limit", "response_too_large"),
        ("query failed", "query_failed"),
        ("NUL character", "nul_character"),
    ):
        if needle in message:
            return code
    return None


def run_corpus(
    warehouse_url: str, corpus: Path = CORPUS_DIR, work: Path | None = None, day="2025-06-30"
) -> list[Outcome]:
    """Run every case through the real extract and load into ``warehouse_url`` (bootstrapped
    here); the outcome of each."""
    from ndc.extract import api
    from ndc.registry import SourceKind, load_registry
    from ndc.warehouse import bootstrap

    registry = load_registry()
    bootstrap(warehouse_url, registry)
    cases = load_cases(corpus)
    own_tmp = None
    if work is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="ndc-corpus-")
        work = Path(own_tmp.name)
    outcomes: list[Outcome] = []
    try:
        by_source: dict[str, list[Case]] = {}
        for case in cases:
            by_source.setdefault(case.source, []).append(case)
        for name, source_cases in by_source.items():
            source = registry[name]
            if source.kind is SourceKind.FILES:
                outcomes += _file_source(source, source_cases, corpus, work, warehouse_url, day)
            elif source.kind is SourceKind.SQL:
                for case in source_cases:
                    url = f"sqlite:///{corpus / name / case.name}"
                    outcomes.append(_one_case(source, case, url, work, warehouse_url, day))
            else:
                handler = type("Pages", (_Pages,), {"bodies": {}})
                for case in source_cases:
                    handler.bodies[case.name] = (corpus / name / case.name).read_bytes()
                server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
                threading.Thread(target=server.serve_forever, daemon=True).start()
                limit = api.MAX_RESPONSE_BYTES
                try:
                    for case in source_cases:
                        # The oversized case under a lowered limit: the cap, not the size.
                        api.MAX_RESPONSE_BYTES = 64 << 10 if "oversized" in case.name else limit
                        url = f"http://127.0.0.1:{server.server_port}/{case.name}"
                        outcomes.append(_one_case(source, case, url, work, warehouse_url, day))
                finally:
                    api.MAX_RESPONSE_BYTES = limit
                    server.shutdown()
                    server.server_close()
    finally:
        if own_tmp is not None:
            own_tmp.cleanup()
    return outcomes


def summarise(outcomes: list[Outcome]) -> dict:
    """The corpus figures: files tried, clear errors (an API or SQL entity failing with ndc's
    message), files quarantined (set aside with a reason code), loaded, crashes (must be 0),
    rows in / loaded / set aside or in error, and whether every case balanced."""
    count = {k: sum(o.outcome == k for o in outcomes) for k in ("loaded", "set_aside", "error")}
    return {
        "files": len(outcomes),
        "clear_errors": count["error"],
        "quarantined": count["set_aside"],
        "loaded": count["loaded"],
        "crashes": sum(o.outcome == "crash" for o in outcomes),
        "rows_in": sum(o.rows_in for o in outcomes),
        "rows_loaded": sum(o.rows_loaded for o in outcomes),
        "rows_set_aside": sum(o.rows_set_aside + o.rows_in_error for o in outcomes),
        "balanced": all(o.balanced for o in outcomes),
        "as_expected": sum(o.as_expected for o in outcomes),
    }
