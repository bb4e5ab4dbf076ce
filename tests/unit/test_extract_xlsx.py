"""Weekly Excel workbooks from the business registry: streamed, typed cells kept as text."""

from datetime import datetime

import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from ndc.extract import extract_source
from ndc.landing import LocalLandingZone

HEADER = [
    "ma_so_thue",
    "ten_doanh_nghiep",
    "loai_hinh",
    "ngay_thanh_lap",
    "dia_chi_tru_so",
    "ma_tinh",
    "ho_ten_nguoi_dai_dien",
    "so_dinh_danh_nguoi_dai_dien",
    "trang_thai",
]


def _workbook(path, header, rows, sheet="DoanhNghiep"):
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def test_cells_land_as_text_with_row_numbers(registry, tmp_path):
    inbox = tmp_path / "inbox"
    _workbook(
        inbox / "enterprises_2025W26.xlsx",
        HEADER,
        [
            [
                "0101234567",
                "Công ty TNHH Hoa Sen",
                "TNHH",
                datetime(2019, 3, 4),
                "12 Lý Thường Kiệt",
                "01",
                "Nguyễn Thị Hoa",
                "001190000002",
                "Đang hoạt động",
            ],
            [
                "0309876543",
                "Công ty CP Mekong",
                "CP",
                45123,
                None,
                "79",
                "Trần Văn Nam",
                "079085000003",
                "Đang hoạt động",
            ],
            [None] * 9,  # an empty formatted row at the end is not data
        ],
    )
    landing = LocalLandingZone(tmp_path / "landing")
    result = extract_source(registry["business_registry"], str(inbox), landing, "2025-06-30")
    assert result.errors == [] and [m.rows_landed for m in result.landed] == [2]
    with landing.local_path(result.landed[0].key) as path:
        rows = pq.read_table(path).to_pylist()
    assert rows[0]["ngay_thanh_lap"] == "2019-03-04 00:00:00"
    assert rows[1]["ngay_thanh_lap"] == "45123"  # an Excel serial, converted in staging
    assert rows[1]["dia_chi_tru_so"] is None
    assert rows[0]["ten_doanh_nghiep"] == "Công ty TNHH Hoa Sen"
    assert [r["_source_row"] for r in rows] == [1, 2]
    # Landed once.
    assert extract_source(registry["business_registry"], str(inbox), landing, "d").landed == []


@pytest.mark.parametrize(
    ("header", "sheet", "message"),
    [
        (HEADER[:-1], "DoanhNghiep", "missing column(s) ['trang_thai']"),
        (HEADER, "Sheet1", "no worksheet 'DoanhNghiep'"),
    ],
)
def test_bad_workbook_names_source_and_file(registry, tmp_path, header, sheet, message):
    inbox = tmp_path / "inbox"
    _workbook(inbox / "enterprises_2025W27.xlsx", header, [["x"] * len(header)], sheet=sheet)
    result = extract_source(
        registry["business_registry"], str(inbox), LocalLandingZone(tmp_path / "l"), "d"
    )
    assert result.landed == []
    assert result.set_aside_messages[0].startswith("business_registry: enterprises_2025W27.xlsx: ")
    assert message in result.set_aside_messages[0]


def test_corrupt_workbook_is_reported(registry, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "enterprises_2025W28.xlsx").write_bytes(b"not a zip")
    result = extract_source(
        registry["business_registry"], str(inbox), LocalLandingZone(tmp_path / "l"), "d"
    )
    assert "enterprises_2025W28.xlsx: not a readable .xlsx workbook" in result.set_aside_messages[0]


def test_an_undeclared_column_is_schema_drift_in_the_manifest(registry, tmp_path, caplog):
    inbox = tmp_path / "inbox"
    _workbook(inbox / "enterprises_2025W27.xlsx", [*HEADER, "email"], [["x"] * (len(HEADER) + 1)])
    result = extract_source(
        registry["business_registry"], str(inbox), LocalLandingZone(tmp_path / "l"), "d"
    )
    [manifest] = result.landed
    assert manifest.extra == {"undeclared_columns": ["email"]}
    assert "schema drift: undeclared column(s) ['email'] are kept in raw _extra" in caplog.text
    with LocalLandingZone(tmp_path / "l").local_path(manifest.key) as path:
        assert pq.read_table(path).column("_extra").to_pylist() == ['{"email": "x"}']
