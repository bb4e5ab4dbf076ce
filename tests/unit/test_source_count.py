"""Reconciliation starts at the source: every file batch carries the file's record count taken
by a second parser (ndc.extract.source_count), and an extractor that drops a record fails the
extract naming source, entity, file and both counts, instead of landing a short batch."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from ndc import textcodecs
from ndc.extract import extract_source
from ndc.extract import files as files_mod
from ndc.extract.source_count import count_csv, count_xlsx, count_xml
from ndc.landing import LocalLandingZone
from tests.conftest import write_csv
from tests.unit.test_extract_files import CP1258_NAME, HEADER, ROW
from tests.unit.test_extract_xlsx import HEADER as XLSX_HEADER
from tests.unit.test_extract_xml import document, owner, parcel

textcodecs.register()


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def landing(tmp_path):
    return LocalLandingZone(tmp_path / "landing")


def _births(inbox, n: int, encoding: str = "utf-8"):
    """A births file of `n` records, names spelt as `encoding` can hold them, one record with
    a quoted line break and a quoted quote."""
    name = {"cp1258": CP1258_NAME, "tcvn3": "Đặng Thị Hà"}.get(encoding)
    rows = [[f"KS-01-{i}", *ROW[1:]] for i in range(n)]
    for row in rows:
        row[3], row[7] = (name, name) if name else (row[3], row[7])
    rows[1][6] = '01 "Ha\nNoi"'
    return write_csv(inbox / "births_01_20250601.csv", HEADER, rows, encoding=encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258", "tcvn3"])
def test_csv_batch_carries_the_count_of_a_second_parser(registry, inbox, landing, encoding):
    path = _births(inbox, 5, encoding)
    assert count_csv(path, ",") == 5
    [manifest] = extract_source(registry["civil_registration"], str(inbox), landing, "d").landed
    assert manifest.rows_at_source == manifest.rows_extracted == manifest.rows_landed == 5
    # The manifest in the landing zone holds it too: the load copies it into the ledger.
    assert landing.read_manifest(manifest.manifest_key).rows_at_source == 5


def test_header_only_csv_counts_zero(tmp_path):
    assert count_csv(write_csv(tmp_path / "b.csv", HEADER, []), ",") == 0


def _drop_one(chunks):
    """A fault injected into ndc's own chunk generator: the first record of the first chunk
    never reaches the batch (an extractor bug that loses a row without an error)."""

    def dropping(*args, **kwargs):
        first = True
        for chunk in chunks(*args, **kwargs):
            if first and chunk.num_rows:
                chunk, first = chunk.slice(1), False
            yield chunk

    return dropping


def test_an_extractor_dropping_a_row_fails_naming_file_and_counts(
    registry, inbox, landing, monkeypatch
):
    _births(inbox, 5)
    monkeypatch.setattr(files_mod, "_chunks", _drop_one(files_mod._chunks))
    result = extract_source(registry["civil_registration"], str(inbox), landing, "d")
    [error] = result.errors
    assert error.startswith("civil_registration.birth: file births_01_20250601.csv: ")
    assert "the source counts 5 row(s), the extractor read 4" in error
    # Not landed, and not set aside: the file is fine, the extractor is not.
    assert result.landed == [] and result.set_aside == []
    assert landing.landed_batch_ids("civil_registration", "birth") == set()
    # With the extractor fixed, the next run lands the same file.
    monkeypatch.undo()
    [manifest] = extract_source(registry["civil_registration"], str(inbox), landing, "d").landed
    assert manifest.rows_at_source == manifest.rows_landed == 5


def _workbook(path, rows: list[list], trailing_empty: int = 0):
    book = Workbook()
    sheet = book.active
    sheet.title = "DoanhNghiep"
    sheet.append(XLSX_HEADER)
    for row in rows:
        sheet.append(row)
    for i in range(trailing_empty):  # formatted, empty rows at the sheet's end
        sheet.cell(row=len(rows) + 2 + i, column=1).number_format = "0.00"
    book.create_sheet("Khac").append(["other", "sheet"])
    book.save(path)
    return path


def _enterprise(i: int) -> list:
    return [f"01{i:08d}", "Công ty TNHH Hoa Sen", "TNHH", 45123, None, "01", "Nguyễn Thị Hoa",
            "001190000002", "Đang hoạt động"]  # fmt: skip


def test_xlsx_batch_carries_the_count_of_its_sheet_xml(registry, inbox, landing, monkeypatch):
    path = _workbook(inbox / "enterprises_2025W26.xlsx", [_enterprise(i) for i in range(7)], 3)
    assert count_xlsx(path, "DoanhNghiep") == 7
    assert count_xlsx(path, None) == 7  # the first sheet
    source = registry["business_registry"]
    monkeypatch.setattr(files_mod, "_chunks", _drop_one(files_mod._chunks))
    [error] = extract_source(source, str(inbox), landing, "d").errors
    assert "business_registry.enterprise: file enterprises_2025W26.xlsx" in error
    assert "the source counts 7 row(s), the extractor read 6" in error
    monkeypatch.undo()
    [manifest] = extract_source(source, str(inbox), landing, "d").landed
    assert manifest.rows_at_source == manifest.rows_landed == 7


def test_xml_batches_carry_the_count_of_their_record_elements(
    registry, inbox, landing, monkeypatch
):
    owners = [owner(i, name=CP1258_NAME) for i in (1, 2)]
    body = parcel("P1", owners[0] + owners[1]) + parcel("P2") + parcel("P3", owners[0])
    path = inbox / "land_01_20250628.xml"
    path.write_text(document(body, "windows-1258"), encoding="cp1258")
    assert count_xml(path, "ThuaDat") == 3
    assert count_xml(path, "ThuaDat/ChuSuDung") == 3
    source = registry["land_registry"]
    monkeypatch.setattr(files_mod, "xml_chunks", _drop_one(files_mod.xml_chunks))
    result = extract_source(source, str(inbox), landing, "d")
    assert len(result.errors) == 2 and result.landed == [] and result.set_aside == []
    assert "land_registry.parcel: file land_01_20250628.xml" in result.errors[0]
    assert "land_registry.owner: file land_01_20250628.xml" in result.errors[1]
    assert all("counts 3 row(s), the extractor read 2" in e for e in result.errors)
    monkeypatch.undo()
    landed = extract_source(source, str(inbox), landing, "d").landed
    assert [(m.entity, m.rows_at_source, m.rows_landed) for m in landed] == [
        ("parcel", 3, 3),
        ("owner", 3, 3),
    ]


def test_a_namespaced_file_counts_as_the_extractor_names_elements(tmp_path):
    """A default namespace makes ElementTree's tags ``{uri}ThuaDat``: the count spells them so
    too, and finds no plain ``ThuaDat`` (as the extractor does not)."""
    path = tmp_path / "ns.xml"
    path.write_text('<?xml version="1.0"?><R xmlns="urn:x"><ThuaDat/><ThuaDat/></R>')
    assert count_xml(path, "ThuaDat") == 0
    assert count_xml(path, "{urn:x}ThuaDat") == 2
