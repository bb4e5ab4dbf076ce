"""ndc.synthetic.residence: the residence registry's tables."""

from __future__ import annotations

from ndc.synthetic import GenerationSummary
from ndc.synthetic.population import RELATIONSHIPS
from tests.unit.synthetic_files import admin_codes, read_defects, read_table


def test_residence_changes_drop_the_district_after_the_reform(country11: GenerationSummary) -> None:
    changes = read_table(country11.out / "residence" / "residence.sqlite", "cu_tru_bien_dong")
    post = changes[changes["ngay_bien_dong"] >= "2025-07-01"]
    legacy = set(
        read_defects(country11.out).query("defect_class.str.startswith('admin_legacy')")[
            "record_key"
        ]
    )
    clean_post = post[~post["id"].astype(str).isin(legacy)]
    assert clean_post["ma_huyen"].isna().all()
    assert (changes.loc[changes["ngay_bien_dong"] < "2025-07-01", "ma_huyen"].notna()).all()


def test_residence_codes_exist(country11: GenerationSummary) -> None:
    members = read_table(country11.out / "residence" / "residence.sqlite", "thanh_vien_ho")
    assert set(members["quan_he_chu_ho"]) <= set(RELATIONSHIPS)
    communes, _, wards, _, _ = admin_codes()
    changes = read_table(country11.out / "residence" / "residence.sqlite", "cu_tru_bien_dong")
    assert set(changes["ma_xa"]) <= communes | wards
    assert set(changes["loai_bien_dong"]) == {"DK_THUONG_TRU", "XOA_THUONG_TRU", "DK_TAM_TRU"}
