"""ndc.synthetic.population: the persons of the ground truth and the population database's
baseline snapshot."""

from __future__ import annotations

import unicodedata

import pandas as pd

from ndc.synthetic import GenerationSummary
from ndc.synthetic.pid import decode_personal_id
from ndc.synthetic.population import ETHNICITY_2008, RELATIONSHIPS
from ndc.synthetic.provinces import LEGACY_PROVINCES
from tests.unit.synthetic_files import (
    BASELINE,
    admin_codes,
    inbox_rows,
    read_defects_csv,
    read_si,
    read_truth,
)

DUPLICATES = ("duplicate_exact", "duplicate_near")


def test_ground_truth(country42: GenerationSummary) -> None:
    truth = read_truth(country42.out)
    defects = read_defects_csv(country42.out)
    dups = defects[defects["defect_class"].isin(DUPLICATES)]
    n_dup = dups.groupby("entity").size()
    births = inbox_rows(country42.out, "births")[: -int(n_dup.get("birth", 0)) or None]
    deaths = inbox_rows(country42.out, "deaths")[: -int(n_dup.get("death", 0)) or None]
    si = read_si(country42.out)
    si = si[~si["ma_so_bhxh"].isin(dups.query("source == 'social_insurance'")["record_key"])]
    assert list(truth.columns[:9]) == [
        "person_id",
        "personal_id",
        "full_name",
        "sex",
        "date_of_birth",
        "birth_province_code",
        "date_of_death",
        "in_social_insurance",
        "ma_so_bhxh",
    ]
    assert len(truth) == 1000 + len(births)
    assert truth["born_during_run"].sum() == len(births) == country42.born_during_run
    assert truth["person_id"].is_unique and truth["personal_id"].is_unique
    assert truth["personal_id"].str.fullmatch(r"\d{12}").all()
    assert truth["full_name"].map(lambda s: unicodedata.is_normalized("NFC", s)).all()
    assert set(truth["sex"]) == {"male", "female"}
    assert set(truth["birth_province_code"]) <= set(LEGACY_PROVINCES)
    assert truth["date_of_death"].notna().sum() == len(deaths)
    ages = truth["date_of_birth"].map(lambda d: (BASELINE - d).days / 365.25)
    assert ages.min() >= -0.1 and ages.max() < 96
    young, old = ((ages >= 20) & (ages < 40)).sum(), ((ages >= 60) & (ages < 80)).sum()
    assert young > 1.5 * old > 0
    insured = truth[truth["in_social_insurance"]]
    assert len(insured) == len(si)
    assert set(insured["ma_so_bhxh"]) == set(si["ma_so_bhxh"])
    assert truth.loc[~truth["in_social_insurance"], "ma_so_bhxh"].isna().all()
    for person in truth.itertuples():
        decoded = decode_personal_id(person.personal_id)
        assert decoded["sex"] == person.sex
        assert decoded["birth_year"] == person.date_of_birth.year
    kids = truth[truth["born_during_run"]]
    mothers = truth.set_index("person_id").loc[kids["mother_person_id"].astype(int)]
    assert (mothers["sex"] == "female").all()


def test_truth_persons_structure(big_country: GenerationSummary) -> None:
    truth = pd.read_parquet(big_country.out / "truth" / "persons.parquet")
    communes, provinces, wards, districts, legacy_provinces = admin_codes()
    assert truth["personal_id"].is_unique
    for pid, sex, dob in zip(
        truth["personal_id"], truth["sex"], truth["date_of_birth"], strict=True
    ):
        decoded = decode_personal_id(pid)
        assert decoded["sex"] == sex and decoded["birth_year"] == dob.year
    assert set(truth["ethnicity_code"]) <= set(ETHNICITY_2008)
    assert (truth["ethnicity_code"] == "01").mean() > 0.7
    assert set(truth["relationship_to_head"]) <= set(RELATIONSHIPS)
    assert set(truth["commune_code_2025"]) <= communes
    assert set(truth["province_code_2025"]) <= provinces
    assert set(truth["legacy_ward_code"]) <= wards
    assert set(truth["legacy_district_code"]) <= districts
    assert set(truth["legacy_province_code"]) <= legacy_provinces
    assert truth["cmnd"].dropna().str.fullmatch(r"\d{9}").all() and truth["cmnd"].dropna().is_unique
    assert truth["cmnd"].notna().mean() > 0.1
    assert truth["phone"].dropna().str.fullmatch(r"0\d{9}").all()
    top = truth["province_code_2025"].value_counts().index[:2]
    assert set(top) == {"01", "79"}
    heads = truth[truth["relationship_to_head"] == "01"]
    assert heads["household_id"].is_unique
    assert set(truth["household_id"]) == set(heads["household_id"])
    names = truth["full_name"].str.split()
    assert (names.str.len() >= 3).all()
    assert truth["full_name"].str.startswith("Nguyễn ").mean() > 0.25
    middle = names.str[1]
    assert (middle[truth["sex"] == "female"] != "Văn").all()
    assert (middle[truth["sex"] == "male"] != "Thị").all()


def test_baseline_snapshot(country11: GenerationSummary) -> None:
    base = pd.read_parquet(country11.out / "population_db" / "baseline.parquet")
    truth = pd.read_parquet(country11.out / "truth" / "persons.parquet")
    diffs = pd.read_parquet(country11.out / "truth" / "baseline_differences.parquet")
    assert {"personal_id", "full_name", "date_of_birth", "sex_code", "date_of_death",
            "ethnicity_code", "province_code", "commune_code", "household_id",
            "updated_at"} <= set(base.columns)  # fmt: skip
    assert set(base["sex_code"]) == {"1", "2"} and base["date_of_death"].isna().all()
    original = truth[~truth["born_during_run"]]
    missing = set(diffs.loc[diffs["kind"] == "missing", "personal_id"])
    assert len(base) == len(original) - len(missing)
    assert set(base["personal_id"]) == set(original["personal_id"]) - missing
    assert (base["updated_at"] < pd.Timestamp("2025-06-28")).all()
