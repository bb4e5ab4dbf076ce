from pathlib import Path

import pytest

from ndc.registry import Mode, RegistryError, SourceKind, load_registry, load_source
from ndc.settings import SOURCES_DIR


def test_registry_holds_the_six_sources_with_their_entities():
    sources = load_registry()
    assert {name: s.kind.value for name, s in sources.items()} == {
        "business_registry": "files",
        "civil_registration": "files",
        "education": "api",
        "land_registry": "files",
        "residence": "sql",
        "social_insurance": "sql",
    }
    civil = sources["civil_registration"]
    assert civil.kind is SourceKind.FILES
    assert [e.name for e in civil.entities] == ["birth", "death", "marriage"]
    assert sources["business_registry"].files.format == "xlsx"
    land = sources["land_registry"]
    assert land.files.format == "xml"
    assert land.entity("owner").xml.record_path == "ThuaDat/ChuSuDung"
    assert land.entity("owner").xml.fields["ma_thua"] == "../@MaThua"
    assert sources["education"].entity("student").endpoint == "/api/v1/students"
    insured = sources["social_insurance"].entity("insured_person")
    assert insured.mode is Mode.INCREMENTAL and insured.watermark_column == "updated_at"


def _broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (SOURCES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_invalid_kind_names_file_and_field(tmp_path):
    path = _broken(tmp_path, "social_insurance", "kind: sql", "kind: ftp")
    with pytest.raises(RegistryError) as err:
        load_source(path)
    assert str(path) in str(err.value)
    assert "kind" in str(err.value)


def test_watermark_not_in_columns_is_rejected(tmp_path):
    path = _broken(
        tmp_path, "social_insurance", "watermark_column: updated_at", "watermark_column: modified"
    )
    with pytest.raises(
        RegistryError, match=r"entities\.0.*watermark_column 'modified' not in columns"
    ):
        load_source(path)


def test_unknown_field_is_rejected(tmp_path):
    path = _broken(tmp_path, "civil_registration", "schedule:", "shedule:")
    with pytest.raises(RegistryError, match="shedule"):
        load_source(path)


def test_file_name_must_match_source_name(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(
        (SOURCES_DIR / "civil_registration.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(RegistryError, match="must match the file name"):
        load_source(path)


def test_a_discrepancy_field_must_be_a_column_and_a_known_kind(tmp_path):
    path = _broken(tmp_path, "education", "sex: gender", "sex: gioi_tinh")
    with pytest.raises(RegistryError, match=r"discrepancies\.fields: \['gioi_tinh'\] not in"):
        load_source(path)
    path = _broken(tmp_path, "education", "sex: gender", "height: gender")
    with pytest.raises(RegistryError, match="unknown kinds"):
        load_source(path)


def test_the_dbt_projects_view_of_the_registry():
    """macros/registry.sql, which the fan-in models read: every entity once, with its staging
    model, the duplicate flag and the discrepancy columns; and the file make wrote is current."""
    from ndc.dbt_registry import MACRO, entities, render

    listed = entities(load_registry())
    assert len(listed) == sum(len(s.entities) for s in load_registry().values()) == 13
    by_entity = {(e["source"], e["entity"]): e for e in listed}
    assert by_entity[("civil_registration", "birth")]["model"] == "stg_civil_registration__births"
    assert {k for k, e in by_entity.items() if e["duplicates"]} == {
        ("civil_registration", "birth"),
        ("civil_registration", "death"),
        ("social_insurance", "insured_person"),
    }
    representative = by_entity[("business_registry", "enterprise")]["discrepancies"]
    assert representative == {
        "fields": {"full_name": "ho_ten_nguoi_dai_dien"},
        "personal_id": "representative_personal_id",
        "full_name": "representative_full_name",
    }
    assert by_entity[("residence", "household_member")]["discrepancies"] is None
    # The administrative unit: its code system as declared, the date and district that pick
    # it, and the standardised legacy address among its places.
    parcel = by_entity[("land_registry", "parcel")]
    assert parcel["admin_units"] == {"system": "transition", "switch_date": "2025-07-01"}
    assert parcel["conform"]["ma_xa"] == {
        "to": "commune_code_2025", "kind": "admin_unit", "required": False, "formats": None,
        "date": "ngay_cap_nhat", "district": "ma_huyen", "code_column": "commune_code",
    }  # fmt: skip
    assert parcel["legacy_address"] == {
        "column": "dia_chi", "ward_code": "ma_xa_tu_dia_chi", "status": "ket_qua_dia_chi",
    }  # fmt: skip
    assert by_entity[("land_registry", "owner")]["admin_units"] is None
    text = render(load_registry())
    assert "'discrepancies': none" in text and "'duplicates': true" in text
    assert MACRO.read_text() == text, "run `make install` (python -m ndc.dbt_registry)"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "        ty_le_so_huu: TyLeSoHuu\n",
            "",
            r"xml\.fields: no path for column\(s\) \['ty_le_so_huu'\]",
        ),
        ('so_to: "@SoTo"', 'so_to: "SoTo/text()"', r"so_to: 'SoTo/text\(\)' is not @attr"),
        ('ma_thua: "@MaThua"', 'ma_thua: "../@MaThua"', "has no enclosing record"),
        ("{column: dia_chi,", "{column: dia_chi_thua,", "legacy_address.column"),
        ("  format: xml\n", "  format: csv\n", r"xml: only for files\.format: xml"),
    ],
)
def test_an_xml_entity_maps_every_column_by_a_valid_path(tmp_path, old, new, message):
    path = _broken(tmp_path, "land_registry", old, new)
    with pytest.raises(RegistryError, match=message):
        load_source(path)


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        # 2025 codes reuse legacy codes for other places: the system is declared, never guessed.
        (
            "residence",
            "  administrative_units: legacy-until-2025-07-01\n",
            "",
            r"conform\.ma_xa: an admin_unit needs code_lists\.administrative_units",
        ),
        (
            "residence",
            "date: ngay_bien_dong,",
            "",
            r"conform\.ma_xa\.date: required under the transition",
        ),
        (
            "residence",
            "date: ngay_bien_dong,",
            "date: updated_at,",
            r"ma_xa\.date: 'updated_at' is not a column conform declares a date",
        ),
        ("residence", "district: ma_huyen,", "district: ma_quan,", r"district: 'ma_quan' not in"),
        (
            "land_registry",
            "dia_chi:       {to: commune_code_2025,",
            "dia_chi:       {to: address_commune_code,",
            "an entity has one administrative unit",
        ),
        (
            "land_registry",
            "ngay_cap_nhat: {to: update_date, kind: date,",
            "ngay_cap_nhat: {to: update_date, kind: date, district: ma_huyen,",
            "district: only an admin_unit has a district",
        ),
    ],
)
def test_an_admin_unit_declares_its_code_system(tmp_path, name, old, new, message):
    path = _broken(tmp_path, name, old, new)
    with pytest.raises(RegistryError, match=message):
        load_source(path)


def test_a_plain_code_system_needs_no_date(tmp_path):
    path = _broken(
        tmp_path,
        "residence",
        "administrative_units: legacy-until-2025-07-01",
        'administrative_units: "2025"',
    )
    text = path.read_text(encoding="utf-8").replace("date: ngay_bien_dong,", "")
    path.write_text(text, encoding="utf-8")
    from ndc.dbt_registry import admin_code_system

    assert admin_code_system(load_source(path)) == {"system": "2025", "switch_date": None}
