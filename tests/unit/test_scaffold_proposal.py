"""`ndc source new` without a database: each kind's registry file validates as written, and the
proposal's guesses (tests/integration/test_scaffold.py builds a scaffolded SQL source)."""

import pytest

from ndc.registry import ColumnKind, Mode, SourceKind, load_source
from ndc.scaffold import Column, ScaffoldError, propose, propose_conform, write

COLUMNS = [Column(c) for c in ("ma_ho_so", "so_dinh_danh", "ho_ten", "ngay_sinh", "ghi_chu")]


@pytest.mark.parametrize(
    ("kind", "source_kind", "mode", "fmt"),
    [
        ("files", SourceKind.FILES, Mode.FILE, "csv"),
        ("xml", SourceKind.FILES, Mode.FILE, "xml"),
        ("api", SourceKind.API, Mode.FULL, None),
        ("sql", SourceKind.SQL, Mode.FULL, None),
    ],
)
def test_each_kind_writes_a_valid_registry_file_and_a_staging_folder(
    tmp_path, kind, source_kind, mode, fmt
):
    p = propose("ho_so_dat", kind, "ho_so", COLUMNS, ["ma_ho_so"])
    written = write(p, tmp_path / "sources", tmp_path / "dbt")
    source = load_source(tmp_path / "sources" / "ho_so_dat.yaml")
    entity = source.entity("ho_so")
    assert source.kind is source_kind and entity.mode is mode
    assert (source.files.format if source.files else None) == fmt
    assert entity.columns == [c.name for c in COLUMNS] and entity.primary_key == ["ma_ho_so"]
    assert entity.conform["so_dinh_danh"].kind is ColumnKind.PERSONAL_ID
    if kind == "xml":
        assert entity.xml.record_path == "HoSo" and entity.xml.fields["ho_ten"] == "ho_ten"
    model = tmp_path / "dbt" / "models" / "staging" / "ho_so_dat" / "stg_ho_so_dat__ho_sos.sql"
    assert model in written
    assert "{{ conform_entity('ho_so_dat', 'ho_so') }}" in model.read_text()
    with pytest.raises(ScaffoldError, match="exists"):
        write(p, tmp_path / "sources", tmp_path / "dbt")


def test_names_and_types_make_the_proposal():
    columns = [
        Column("so_cccd"), Column("so_cmnd"), Column("ho_ten_chu_ho"), Column("ngay_cap", "DATE"),
        Column("so_dien_thoai"), Column("ma_xa"), Column("hieu_luc_tu", "TIMESTAMP"),
        Column("dien_tich", "NUMERIC"), Column("updated_at", "TIMESTAMP"),
    ]  # fmt: skip
    conform = propose_conform(columns, ["so_cccd"])
    assert {c: v["kind"] for c, v in conform.items()} == {
        "so_cmnd": "cmnd",
        "ho_ten_chu_ho": "person_name",
        "ngay_cap": "date",
        "so_dien_thoai": "phone",
        "ma_xa": "admin_unit",
        "hieu_luc_tu": "date",
    }
    assert conform["ho_ten_chu_ho"]["to"] == "full_name"
    assert conform["ngay_cap"]["to"] == "ngay_cap_date"  # no conformed name guessed: its own
    # The commune converts to 2025, its code system picked by the first date.
    assert conform["ma_xa"] == {"to": "commune_code_2025", "kind": "admin_unit", "date": "ngay_cap"}


def test_an_admin_unit_is_proposed_with_its_code_system_and_validates(tmp_path):
    """A commune column converts to its 2025 commune: the district it names and a date that is
    no date of birth pick the code system (the transition); without such a date the 2025
    system is proposed. The district and province columns stay text."""
    columns = [
        Column("ma_ho_so"), Column("ngay_sinh", "DATE"), Column("ma_tinh"), Column("ma_huyen"),
        Column("ma_xa"), Column("ma_xa_tam_tru"), Column("ngay_dang_ky", "DATE"),
    ]  # fmt: skip
    p = propose("ho_tich_xa", "sql", "ho_so", columns, ["ma_ho_so"])
    assert p.conform["ma_xa"] == {
        "to": "commune_code_2025",
        "kind": "admin_unit",
        "date": "ngay_dang_ky",
        "district": "ma_huyen",
    }
    # One administrative unit per entity: a second commune column stays text.
    assert {"ma_tinh", "ma_huyen", "ma_xa_tam_tru"}.isdisjoint(p.conform)
    write(p, tmp_path / "sources", tmp_path / "dbt")
    source = load_source(tmp_path / "sources" / "ho_tich_xa.yaml")
    assert source.code_lists == {"administrative_units": "legacy-until-2025-07-01"}
    unit = source.entity("ho_so").conform["ma_xa"]
    assert (unit.kind, unit.date, unit.district) == (
        ColumnKind.ADMIN_UNIT,
        "ngay_dang_ky",
        "ma_huyen",
    )
    models = tmp_path / "dbt" / "models" / "staging" / "ho_tich_xa" / "_ho_tich_xa__models.yml"
    assert "admin_conversion_ambiguous" in models.read_text()

    p = propose("ho_tich_xa2", "sql", "ho_so", columns[:2] + columns[4:5], ["ma_ho_so"])
    assert "date" not in p.conform["ma_xa"]
    write(p, tmp_path / "sources", tmp_path / "dbt")
    assert load_source(tmp_path / "sources" / "ho_tich_xa2.yaml").code_lists == {
        "administrative_units": "2025"
    }


def test_a_key_not_among_the_columns_is_refused():
    with pytest.raises(ScaffoldError, match=r"--primary-key \['id'\] not in the columns"):
        propose("x", "files", "y", COLUMNS, ["id"])
