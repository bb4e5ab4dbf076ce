"""Landing XML file drops (land registry): nested records, declared encodings, streaming,
clear errors naming the file and line, offline standardisation of free-text addresses."""

import json
import tracemalloc
import unicodedata

import pyarrow.parquet as pq
import pytest

from ndc.extract import ExtractError, extract_source
from ndc.extract.xml import standardise_legacy_address, xml_chunks
from ndc.landing import LocalLandingZone

# Windows-1258 writes tone marks as combining characters: the name in its decomposed form.
NAME = "Đặng Thị Hà"
CP1258_NAME = "\u0110\u0103\u0323ng Thi\u0323 Ha\u0300"


def parcel(ma_thua: str, owners: str = "", address: str = '<DiaChi MaHuyen="001" MaXa="00001"/>'):
    return (
        f'<ThuaDat MaThua="{ma_thua}" SoTo="12" SoThua="34">'
        f"<DienTich>250.5</DienTich><MucDichSuDung>ONT</MucDichSuDung>{address}"
        f"<NgayCapNhat>2025-06-28</NgayCapNhat>{owners}</ThuaDat>"
    )


def owner(stt: int, pid: str = "001090000001", name: str = "Nguyễn Văn An") -> str:
    return (
        f'<ChuSuDung STT="{stt}"><SoDinhDanh>{pid}</SoDinhDanh><HoTen>{name}</HoTen>'
        f"<NgaySinh>1990-01-02</NgaySinh><TyLeSoHuu>50</TyLeSoHuu>"
        f"<MaXaThuongTru>00004</MaXaThuongTru></ChuSuDung>"
    )


def document(body: str, encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<DuLieuDatDai MaTinh="01" NgayXuat="2025-06-28">\n{body}\n</DuLieuDatDai>\n'
    )


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def landing(tmp_path):
    return LocalLandingZone(tmp_path / "landing")


def _rows(landing, result, entity):
    (manifest,) = [m for m in result.landed if m.entity == entity]
    with landing.local_path(manifest.key) as path:
        return manifest, pq.read_table(path).to_pylist()


def test_parcels_and_nested_owners_land_as_two_batches(registry, inbox, landing):
    body = parcel("P1", owner(1) + owner(2, pid="", name="Trần Thị Bình")) + parcel("P2", owner(1))
    (inbox / "land_01_20250628.xml").write_text(document(body), encoding="utf-8")
    result = extract_source(registry["land_registry"], str(inbox), landing, "2025-06-28")
    assert result.errors == []
    manifest, parcels = _rows(landing, result, "parcel")
    assert manifest.encoding == "UTF-8" and manifest.source_file == "land_01_20250628.xml"
    assert [(p["ma_thua"], p["ma_xa"], p["ma_huyen"], p["_source_row"]) for p in parcels] == [
        ("P1", "00001", "001", 1),
        ("P2", "00001", "001", 2),
    ]
    assert parcels[0]["dia_chi"] is None and parcels[0]["ket_qua_dia_chi"] is None
    _, owners = _rows(landing, result, "owner")
    assert [(o["ma_thua"], o["stt"], o["so_dinh_danh"], o["ho_ten"]) for o in owners] == [
        ("P1", "1", "001090000001", "Nguyễn Văn An"),
        ("P1", "2", None, "Trần Thị Bình"),
        ("P2", "1", "001090000001", "Nguyễn Văn An"),
    ]
    again = extract_source(registry["land_registry"], str(inbox), landing, "2025-06-28")
    assert again.landed == [] and len(again.skipped) == 2


def test_windows_1258_declared_in_the_prolog_is_honoured(registry, inbox, landing):
    text = document(parcel("P1", owner(1, name=CP1258_NAME)), encoding="windows-1258")
    (inbox / "land_02_20250628.xml").write_bytes(text.encode("cp1258"))
    result = extract_source(registry["land_registry"], str(inbox), landing, "2025-06-28")
    assert result.errors == []
    manifest, owners = _rows(landing, result, "owner")
    assert manifest.encoding == "windows-1258"
    # As received (decomposed marks); staging repairs names to NFC.
    assert unicodedata.normalize("NFC", owners[0]["ho_ten"]) == NAME


def test_undeclared_encoding_is_refused(registry, inbox, landing):
    text = document(parcel("P1"), encoding="ISO-8859-1")
    (inbox / "land_03_20250628.xml").write_bytes(text.encode("latin-1"))
    result = extract_source(registry["land_registry"], str(inbox), landing, "2025-06-28")
    assert result.landed == []
    assert "land_03_20250628.xml" in result.set_aside_messages[0]
    assert "ISO-8859-1" in result.set_aside_messages[0]


def test_malformed_file_names_source_file_and_line(registry, inbox, landing):
    bad = document(parcel("P1") + "\n" + parcel("P2").replace("</DienTich>", "</Dien>"))
    (inbox / "land_04_20250628.xml").write_text(bad, encoding="utf-8")
    result = extract_source(registry["land_registry"], str(inbox), landing, "2025-06-28")
    assert result.landed == []
    assert len(result.set_aside_messages) == 2  # both entities of the file
    message = result.set_aside_messages[0]
    assert message.startswith("land_registry: land_04_20250628.xml: line 4")
    assert "malformed XML" in message


def test_missing_column_names_source_entity_and_column(registry, tmp_path):
    entity = registry["land_registry"].entity("owner")
    body = parcel("P1", owner(1).replace("<TyLeSoHuu>50</TyLeSoHuu>", ""))
    path = tmp_path / "land_05.xml"
    path.write_text(document(body), encoding="utf-8")
    with pytest.raises(ExtractError, match=r"land_registry: owner: land_05.xml: .*'ty_le_so_huu'"):
        list(xml_chunks(path, "land_registry", entity, 100))


def test_empty_element_is_null_and_absent_one_in_a_record_too(registry, tmp_path):
    entity = registry["land_registry"].entity("owner")
    body = parcel("P1", owner(1, pid="") + owner(2).replace("<NgaySinh>1990-01-02</NgaySinh>", ""))
    path = tmp_path / "land_06.xml"
    path.write_text(document(body), encoding="utf-8")
    rows = [r for b in xml_chunks(path, "land_registry", entity, 100) for r in b.to_pylist()]
    assert rows[0]["so_dinh_danh"] is None and rows[1]["ngay_sinh"] is None


def test_streams_in_bounded_chunks_and_memory(registry, tmp_path):
    entity = registry["land_registry"].entity("owner")
    path = tmp_path / "land_big.xml"
    n = 20_000
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<DuLieuDatDai>\n')
        for i in range(n):
            fh.write(parcel(f"P{i}", owner(1) + owner(2)) + "\n")
        fh.write("</DuLieuDatDai>\n")
    tracemalloc.start()
    sizes = []
    for batch in xml_chunks(path, "land_registry", entity, 5_000):
        sizes.append(batch.num_rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sizes == [5_000] * 8
    # The whole tree would hold 20,000 parcels of 2 owners (well over 50 MB of elements).
    assert peak < 16 * 2**20, peak


def test_free_text_legacy_address_is_standardised_offline(registry, tmp_path):
    entity = registry["land_registry"].entity("parcel")
    addresses = [
        "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội",
        "Xã Tân Lập, Thành phố Hà Nội",  # no district: several wards of that name
        "Xã Không Có, Huyện Đan Phượng, Thành phố Hà Nội",
    ]
    body = "".join(
        parcel(f"P{i}", address=f"<DiaChi>{a}</DiaChi>") for i, a in enumerate(addresses)
    )
    path = tmp_path / "land_07.xml"
    path.write_text(document(body), encoding="utf-8")
    rows = [r for b in xml_chunks(path, "land_registry", entity, 100) for r in b.to_pylist()]
    assert [(r["ma_xa_tu_dia_chi"], r["ket_qua_dia_chi"]) for r in rows] == [
        ("00001", "matched"),
        (None, "unmatched"),
        (None, "unmatched"),
    ]
    assert rows[0]["dia_chi"] == addresses[0] and rows[0]["ma_xa"] is None


def test_standardise_never_goes_online(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("no network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    standardise_legacy_address.cache_clear()
    assert standardise_legacy_address("Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội") == (
        "09820",
        "matched",
    )


def _extras(path, entity, record_paths=()):
    drift: dict = {}
    rows = [
        r
        for b in xml_chunks(path, "land_registry", entity, 100, drift, record_paths)
        for r in b.to_pylist()
    ]
    return drift, [None if r["_extra"] is None else json.loads(r["_extra"]) for r in rows]


def test_unmapped_content_is_drift_named_by_its_path(registry, tmp_path, caplog):
    """An unmapped attribute, element (repeated: a list), attribute of a mapped element,
    element inside a mapped one, and a repeat of a mapped element (its field reads the
    first); the owners nested in a parcel are not the parcel's drift."""
    entity = registry["land_registry"].entity("parcel")
    body = parcel(
        "P1",
        owner(1),
        address='<DiaChi MaHuyen="001" MaXa="00001" Nguon="VNeID"><SoNha>12</SoNha></DiaChi>',
    ).replace("</ThuaDat>", "<GhiChu>a</GhiChu><GhiChu/><GhiChu>b</GhiChu></ThuaDat>")
    body = body.replace('SoThua="34">', 'SoThua="34" TrangThai="">')
    body += parcel("P2").replace("</ThuaDat>", "<DienTich>99</DienTich></ThuaDat>")
    path = tmp_path / "land_08.xml"
    path.write_text(document(body), encoding="utf-8")
    drift, extras = _extras(path, entity, ["ThuaDat", "ThuaDat/ChuSuDung"])
    assert drift == {
        "undeclared_columns": [
            "@TrangThai", "DiaChi/@Nguon", "DiaChi/SoNha", "GhiChu", "DienTich[2]"
        ]
    }  # fmt: skip
    assert extras == [
        {  # empty values are null: @TrangThai's is left out, a repeat's keeps its place
            "DiaChi/@Nguon": "VNeID",
            "DiaChi/SoNha": "12",
            "GhiChu": ["a", None, "b"],
        },
        {"DienTich[2]": "99"},
    ]
    # Each path is logged once, where it is first found.
    assert caplog.text.count("schema drift") == 2
    assert "land_08.xml: <ThuaDat> record 1: schema drift: undeclared column(s)" in caplog.text
    assert "record 2: schema drift: undeclared column(s) ['DienTich[2]']" in caplog.text

    # Without the source's record paths, a nested record is unmapped content like any other.
    drift, _ = _extras(path, entity)
    assert "ChuSuDung" in drift["undeclared_columns"]


def test_the_enclosing_records_attributes_are_not_an_owners_drift(registry, tmp_path):
    entity = registry["land_registry"].entity("owner")
    body = parcel("P1", owner(1)).replace('SoThua="34">', 'SoThua="34" SoGiay="GCN-1">')
    path = tmp_path / "land_09.xml"
    path.write_text(document(body), encoding="utf-8")
    assert _extras(path, entity) == ({}, [None])


def test_a_file_without_drift_lands_null_extra_and_no_drift(registry, inbox, landing):
    (inbox / "land_10_20250628.xml").write_text(
        document(parcel("P1", owner(1)) + parcel("P2", owner(1))), encoding="utf-8"
    )
    result = extract_source(registry["land_registry"], str(inbox), landing, "2025-06-28")
    assert result.errors == []
    for entity in ("parcel", "owner"):
        manifest, rows = _rows(landing, result, entity)
        assert manifest.extra == {}
        assert {r["_extra"] for r in rows} == {None}
