"""Landing provincial file drops: encodings, once-only landing, clear errors."""

import pyarrow.parquet as pq
import pytest

from ndc import textcodecs
from ndc.extract import ExtractError, detect_encoding, extract_source
from ndc.extract.batch import previous_watermark
from ndc.extract.files import MIXED_UTF8, decode_cell
from ndc.landing import LocalLandingZone, Manifest
from ndc.registry import load_registry
from tests.conftest import write_csv

HEADER = [
    "so_dang_ky",
    "ngay_dang_ky",
    "so_dinh_danh",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "noi_sinh_tinh",
    "ho_ten_me",
    "so_dinh_danh_me",
]
ROW = [
    "KS-01-1",
    "1/6/2025",
    "001225000001",
    "Nguyễn Văn An",
    "28/5/2025",
    "Nam",
    "01",
    "Trần Thị Bình",
    "001190000002",
]
# Windows-1258 keeps tone marks as combining characters (docs/domain.md#text-as-it-arrives): "Đặng Thị Hà" as cp1258 can
# only be written in its decomposed form.
CP1258_NAME = "\u0110\u0103\u0323ng Thi\u0323 Ha\u0300"

textcodecs.register()  # the tcvn3 codec, to write test files


@pytest.fixture
def inbox(tmp_path):
    return tmp_path / "inbox"


@pytest.fixture
def landing(tmp_path):
    return LocalLandingZone(tmp_path / "landing")


def _read(landing, manifest):
    with landing.local_path(manifest.key) as path:
        return pq.read_table(path).to_pylist()


def test_file_lands_once_with_manifest(registry, inbox, landing):
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW, ROW[:2] + [""] + ROW[3:]])
    source = registry["civil_registration"]
    first = extract_source(source, str(inbox), landing, "2025-06-01")
    assert [m.rows_landed for m in first.landed] == [2]
    manifest = first.landed[0]
    assert manifest.rows_extracted == 2 and manifest.source_file == "births_01_20250601.csv"
    assert manifest.key.startswith("civil_registration/birth/2025-06-01/births_01_20250601-")
    assert landing.exists(manifest.manifest_key)
    rows = _read(landing, manifest)
    assert rows[0]["ho_ten"] == "Nguyễn Văn An" and rows[0]["_source_row"] == 1
    assert rows[1]["so_dinh_danh"] is None  # an empty field lands as NULL
    second = extract_source(source, str(inbox), landing, "2025-06-02")
    assert second.landed == [] and second.skipped == [manifest.batch_id]


def test_changed_file_with_same_name_is_a_new_batch(registry, inbox, landing):
    source = registry["civil_registration"]
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW])
    first = extract_source(source, str(inbox), landing, "2025-06-01").landed[0]
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW, ROW])
    second = extract_source(source, str(inbox), landing, "2025-06-01").landed
    assert len(second) == 1 and second[0].batch_id != first.batch_id
    assert second[0].rows_landed == 2


def test_the_same_bytes_under_another_name_are_set_aside_not_loaded_twice(registry, inbox, landing):
    source = registry["civil_registration"]
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW])
    first = extract_source(source, str(inbox), landing, "2025-06-01").landed[0]
    # Sent again the next day as a copy under another name, and twice in one delivery.
    (inbox / "births_01_20250601 (1).csv").write_bytes(
        (inbox / "births_01_20250601.csv").read_bytes()
    )
    write_csv(inbox / "births_02_20250602.csv", HEADER, [ROW[:0] + ["KS-02-1"] + ROW[1:]])
    (inbox / "births_02_20250602_copy.csv").write_bytes(
        (inbox / "births_02_20250602.csv").read_bytes()
    )
    second = extract_source(source, str(inbox), landing, "2025-06-02")
    assert [m.source_file for m in second.landed] == ["births_02_20250602.csv"]
    aside = {r.file: r for r in second.set_aside}
    assert set(aside) == {"births_01_20250601 (1).csv", "births_02_20250602_copy.csv"}
    assert {r.reason for r in aside.values()} == {"duplicate_file"}
    assert first.batch_id in aside["births_01_20250601 (1).csv"].message
    # Files of a header alone are often the same bytes: they land, holding no row to double.
    write_csv(inbox / "births_03_20250603.csv", HEADER, [])
    write_csv(inbox / "births_04_20250603.csv", HEADER, [])
    third = extract_source(source, str(inbox), landing, "2025-06-03")
    assert sorted(m.source_file for m in third.landed) == [
        "births_03_20250603.csv",
        "births_04_20250603.csv",
    ]


def test_windows_1258_file_is_detected_and_decoded(registry, inbox, landing):
    row = ROW[:3] + [CP1258_NAME] + ROW[4:7] + [CP1258_NAME, ROW[8]]
    path = write_csv(inbox / "births_79_20250601.csv", HEADER, [row], encoding="cp1258")
    assert detect_encoding(path, ["utf-8", "cp1258"]) == "cp1258"
    manifest = extract_source(registry["civil_registration"], str(inbox), landing, "d").landed[0]
    assert manifest.encoding == "cp1258"
    assert _read(landing, manifest)[0]["ho_ten"] == CP1258_NAME


def test_missing_column_names_source_and_file_and_other_files_still_land(registry, inbox, landing):
    write_csv(inbox / "births_02_20250601.csv", HEADER[:-1], [ROW[:-1]])
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW])
    result = extract_source(registry["civil_registration"], str(inbox), landing, "d")
    assert [m.source_file for m in result.landed] == ["births_01_20250601.csv"]
    assert len(result.set_aside_messages) == 1
    assert "civil_registration" in result.set_aside_messages[0]
    assert "births_02_20250601.csv" in result.set_aside_messages[0]
    assert "so_dinh_danh_me" in result.set_aside_messages[0]
    assert landing.landed_batch_ids("civil_registration", "birth") == {result.landed[0].batch_id}


def test_undeclared_columns_land_in_extra_a_repeated_or_nameless_one_by_position(
    registry, inbox, landing, caplog
):
    """A repeated declared column and a nameless one are kept under "<name>#<position>"; a
    nameless column is drift only once it carries a value (a trailing empty column is not)."""
    header = [*HEADER, "ho_ten", "", "email", ""]
    rows = [[*ROW, "An", "", "", ""], [*ROW, "", "x", "an@example.vn", ""]]
    write_csv(inbox / "births_01_20250601.csv", header, rows)
    [manifest] = extract_source(registry["civil_registration"], str(inbox), landing, "d").landed
    assert manifest.extra == {"undeclared_columns": ["ho_ten#10", "email", "#11"]}
    assert [r["_extra"] for r in _read(landing, manifest)] == [
        '{"ho_ten#10": "An"}',
        '{"#11": "x", "email": "an@example.vn"}',
    ]
    assert "['#11'] are kept in raw _extra" in caplog.text  # logged when it carried a value


def test_a_file_without_drift_lands_a_null_extra(registry, inbox, landing):
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW, ROW])
    [manifest] = extract_source(registry["civil_registration"], str(inbox), landing, "d").landed
    assert manifest.extra == {}
    assert [r["_extra"] for r in _read(landing, manifest)] == [None, None]


def test_malformed_row_names_file_and_row(registry, inbox, landing):
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW, ROW + ["extra"]])
    result = extract_source(registry["civil_registration"], str(inbox), landing, "d")
    assert result.landed == []
    assert "births_01_20250601.csv: row 2" in result.set_aside_messages[0]
    # Nothing half-written: no manifest, so the batch is not landed.
    assert landing.landed_batch_ids("civil_registration", "birth") == set()


def test_missing_inbox_is_a_clear_error(registry, tmp_path, landing):
    with pytest.raises(ExtractError, match="civil_registration: inbox folder .* does not exist"):
        extract_source(registry["civil_registration"], str(tmp_path / "nope"), landing, "d")


def test_tcvn3_file_is_told_apart_from_windows_1258(registry, inbox, landing):
    """TCVN3 bytes also decode as Windows-1258; the Vietnamese-looking reading wins."""
    row = ROW[:3] + ["Nguyễn Văn Đức"] + ROW[4:7] + ["Hà Nội", ROW[8]]
    path = write_csv(inbox / "births_45_20250601.csv", HEADER, [row], encoding="tcvn3")
    assert detect_encoding(path, ["utf-8", "cp1258", "tcvn3"]) == "tcvn3"
    manifest = extract_source(registry["civil_registration"], str(inbox), landing, "d").landed[0]
    assert manifest.encoding == "tcvn3"
    assert _read(landing, manifest)[0]["ho_ten"] == "Nguyễn Văn Đức"
    # And a Windows-1258 file stays Windows-1258 with TCVN3 among the candidates.
    cp = write_csv(
        inbox / "births_79_20250601.csv",
        HEADER,
        [ROW[:3] + [CP1258_NAME] + ROW[4:7] + [CP1258_NAME, ROW[8]]],
        encoding="cp1258",
    )
    assert detect_encoding(cp, ["utf-8", "cp1258", "tcvn3"]) == "cp1258"


def test_watermark_is_the_highest_of_every_landed_day(tmp_path):
    """A backfill lands under an older day; its higher watermark still counts."""
    landing = LocalLandingZone(tmp_path)
    entity = load_registry()["social_insurance"].entity("insured_person")
    for day, high in [("2025-07-02", "2025-07-01 23:00:00"), ("2025-06-30", "2025-07-02 08:00:00")]:
        key = f"social_insurance/insured_person/{day}/b-{day}.parquet"
        landing.write_manifest(
            Manifest(
                "social_insurance",
                "insured_person",
                f"b-{day}",
                key,
                1,
                1,
                "x",
                ["a"],
                watermark_to=high,
            )
        )
    assert previous_watermark(landing, "social_insurance", entity) == "2025-07-02 08:00:00"


def test_a_tcvn3_cell_in_a_utf8_file_garbles_nothing_else(registry, inbox, landing):
    """A UTF-8 birth export where a clerk typed one mother's name in a TCVN3 font: that cell
    is read as TCVN3, every other name stays as written (the whole file read as one legacy
    encoding garbled every name)."""
    names = ["Nguyễn Văn An", "Đặng Thị Hà", "Phạm Quỳnh Như", "Võ Phúc", "Trần Thị Bình"]
    rows = [[f"KS-01-{i}", *ROW[1:3], name, *ROW[4:]] for i, name in enumerate(names)]
    path = inbox / "births_01_20250601.csv"
    write_csv(path, HEADER, rows)
    data = path.read_bytes().replace("Trần Thị Bình".encode(), "Hoàng Thị Thuỷ".encode("tcvn3"), 1)
    path.write_bytes(data)
    assert detect_encoding(path, ["utf-8", "cp1258", "tcvn3"]) == MIXED_UTF8
    manifest = extract_source(registry["civil_registration"], str(inbox), landing, "d").landed[0]
    assert manifest.encoding == MIXED_UTF8
    got = _read(landing, manifest)
    assert [r["ho_ten"] for r in got] == names
    assert [r["ho_ten_me"] for r in got] == ["Hoàng Thị Thuỷ"] + ["Trần Thị Bình"] * 4


@pytest.mark.parametrize(
    "name", ["Nguyễn Văn Đức", "Võ Phúc", "Lê Thị Hoa", "Trịnh Văn Tú", "Lý Thu Trà"]
)
def test_decode_cell_reads_a_tcvn3_cell(name):
    assert decode_cell(name.encode("tcvn3"), ["cp1258", "tcvn3"]) == (name, "tcvn3")
    assert decode_cell(name.encode("utf-8"), ["cp1258", "tcvn3"]) == (name, "utf-8")
