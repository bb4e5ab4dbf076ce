"""Linking records without an ID (ndc.linkage): comparisons, model file, twins, FEBRL4 floor."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from ndc.linkage import FEBRL4, VIETNAMESE, LinkageModel, blocking_report, link, train
from ndc.linkage.normalise import date_parts, has_marks, name_match_key, prepare_persons
from ndc.linkage.specs import VN_COMPARISONS


def test_name_match_key_is_dbts_key():
    # dbt_project/macros/conform.sql: no marks, Đ -> D, upper case, single spaces.
    assert name_match_key("Đặng Thị Hà") == "DANG THI HA"
    assert name_match_key("  nguyễn   văn  AN ") == "NGUYEN VAN AN"
    assert name_match_key("Nguye\u0303\u0302n") == "NGUYEN"  # decomposed input
    assert name_match_key("") is None
    assert has_marks("Nguyễn Văn An") and not has_marks("NGUYEN VAN AN")


def test_year_and_month_precision_keep_only_what_is_known():
    assert date_parts("1990-05-07", "day") == ("19900507", "199005", "1990")
    assert date_parts("1942-01-01", "year") == (None, None, "1942")
    assert date_parts("1990-05-01", "month") == (None, "199005", "1990")
    with pytest.raises(ValueError, match="precision"):
        date_parts("1990-05-07", "week")


def _level_of(comparison: str, left: dict, right: dict) -> str:
    """The label of the first level of a comparison that a pair of prepared rows meets."""
    levels = next(c for c in VN_COMPARISONS if c["output_column_name"] == comparison)
    frame = prepare_persons(pd.DataFrame([left, right]), "id")
    row = {f"{k}_l": v for k, v in frame.iloc[0].items()}
    row |= {f"{k}_r": v for k, v in frame.iloc[1].items()}
    con = duckdb.connect()
    con.register("p", pd.DataFrame([row]))
    for level in levels["comparison_levels"]:
        sql = level["sql_condition"]
        if sql == "ELSE" or con.execute(f"select coalesce(({sql}), false) from p").fetchone()[0]:
            return level["label_for_charts"]
    raise AssertionError("no level matched")


def test_date_of_birth_levels():
    a = {"id": 1, "date_of_birth": "1990-05-07"}
    assert _level_of("date_of_birth", a, {"id": 2, "date_of_birth": "1990-05-07"}) == "same day"
    assert (
        _level_of("date_of_birth", a, {"id": 2, "date_of_birth": "1990-07-05"})
        == "day and month swapped"
    )
    year_only = {"id": 2, "date_of_birth": "1990-01-01", "date_of_birth_precision": "year"}
    assert _level_of("date_of_birth", a, year_only).startswith("same year, one side")
    other_year = {"id": 2, "date_of_birth": "1991-01-01", "date_of_birth_precision": "year"}
    assert _level_of("date_of_birth", a, other_year) == "year +-1"


def test_name_levels_marks_and_typing():
    a = {"id": 1, "full_name": "Nguyễn Văn Hùng"}
    assert (
        _level_of("given", a, {"id": 2, "full_name": "NGUYEN VAN HUNG"})
        == "same name (marks equal or not typed)"
    )
    # Hùng and Hưng: same letters, another name.
    assert (
        _level_of("given", a, {"id": 2, "full_name": "Nguyễn Văn Hưng"})
        == "same letters, other marks"
    )


def test_commune_levels_read_legacy_wards_through_the_reform():
    pop = {"id": 1, "commune_code": "00004"}  # 2025: Phường Ba Đình
    legacy = {"id": 2, "commune_code": "00004", "commune_code_system": "legacy"}  # Trúc Bạch
    assert _level_of("commune", pop, legacy) == "same 2025 commune"
    split = {"id": 2, "commune_code": "00007", "commune_code_system": "legacy"}  # split ward
    assert (
        _level_of("commune", {"id": 1, "commune_code": "00008"}, split)
        == "a 2025 commune the legacy ward was split into"
    )


def test_a_code_of_either_system_is_read_both_ways():
    """A commune code whose row cannot tell its system (a land owner's) names the 2025 commune
    of that code and the communes the legacy ward of that code became: all compared."""
    from ndc.linkage.admin import commune_options

    assert commune_options("00004", "either") == ("00004",)  # Ba Đình; Trúc Bạch became it
    assert set(commune_options("00007", "legacy")) <= set(commune_options("00007", "either"))
    legacy = {"id": 2, "commune_code": "00007", "commune_code_system": "either"}
    assert _level_of("commune", {"id": 1, "commune_code": "00008"}, legacy) in (
        "same 2025 commune",
        "a 2025 commune the legacy ward was split into",
    )


def test_a_commune_in_another_province_is_not_proof_of_another_person(small_model):
    """Addresses change (moves, a stale population database): the commune's levels keep an m
    of at least the spec's floor, so a true match with an old address can still be found."""
    floor = VIETNAMESE.m_floors["commune"]
    (commune,) = [
        c for c in small_model.settings["comparisons"] if c["output_column_name"] == "commune"
    ]
    ms = [lv["m_probability"] for lv in commune["comparison_levels"] if "m_probability" in lv]
    assert min(ms) >= floor * (1 - 1e-9)
    assert sum(ms) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def small_set():
    from ndc.linkage.synthetic import make_linkage_set

    return make_linkage_set(persons=5_000, records=600, seed=11)


@pytest.fixture(scope="module")
def small_model(small_set):
    return train(small_set.records, small_set.population, VIETNAMESE, seed=3, u_max_pairs=2e5)


def test_synthetic_set_is_deterministic_and_labelled(small_set):
    from ndc.linkage.synthetic import make_linkage_set

    again = make_linkage_set(persons=5_000, records=600, seed=11)
    pd.testing.assert_frame_equal(small_set.records, again.records)
    assert small_set.truth == again.truth
    cases = set(small_set.records["case"])
    assert {"twin", "no_marks", "dob_swap", "year_only", "reform_commune"} <= cases
    outsiders = small_set.records.loc[small_set.records["case"] == "not_in_population"]
    assert all(small_set.truth[r] is None for r in outsiders["record_id"])
    known = set(small_set.population["personal_id"])
    assert all(p in known for p in small_set.truth.values() if p is not None)


def test_model_file_round_trip_gives_the_same_scores(small_set, small_model, tmp_path):
    path = small_model.save(tmp_path / "model.json")
    loaded = LinkageModel.load(path)
    assert loaded.version == small_model.version
    first = link(small_set.records, small_set.population, small_model)
    second = link(small_set.records, small_set.population, loaded)
    pd.testing.assert_frame_equal(first, second)
    assert set(first["model_version"]) == {small_model.version}
    assert set(first["band"]) <= {"auto_link", "review", "non_link"}

    doc = json.loads(path.read_text())
    doc["thresholds"]["auto_link_weight"] -= 5  # a threshold edited by hand
    (tmp_path / "tampered.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="does not match"):
        LinkageModel.load(tmp_path / "tampered.json")


def test_training_is_deterministic(small_set, small_model):
    again = train(small_set.records, small_set.population, VIETNAMESE, seed=3, u_max_pairs=2e5)
    assert again.version == small_model.version


def test_twins_are_not_auto_linked_to_each_other(small_set, small_model):
    result = link(small_set.records, small_set.population, small_model).set_index("record_id")
    twin_of = small_set.population.set_index("personal_id")["twin_of"].dropna().to_dict()
    twins = small_set.records.loc[small_set.records["case"] == "twin", "record_id"]
    assert len(twins) >= 5
    for record in twins:
        truth = small_set.truth[record]
        row = result.loc[record]
        if row["band"] == "auto_link":
            assert row["personal_id"] == truth
            assert row["personal_id"] != twin_of[truth]
    outsiders = small_set.records.loc[small_set.records["case"] == "not_in_population"]
    assert (result.loc[outsiders["record_id"], "band"] != "auto_link").all()


def test_blocking_report_counts_pairs_and_recall(small_set):
    report = blocking_report(
        VIETNAMESE, small_set.records, small_set.population, small_set.true_pairs
    )
    assert report["pairs"] >= len(small_set.true_pairs) * report["recall"]
    assert report["recall"] > 0.97
    assert len(report["rules"]) == len(VIETNAMESE.blocking_rules)


def test_febrl4_subset_f1_above_floor():
    """1,000 FEBRL4 pairs without soc_sec_id: the FEBRL4 spec links them."""
    from ndc.bench_linkage import scores
    from ndc.linkage.febrl import load_febrl4

    a, b, truth = load_febrl4(1_000)
    assert len(a) == len(b) == len(truth) == 1_000
    model = train(b, a, FEBRL4, record_id="rec_id", population_id="rec_id", u_max_pairs=5e4)
    result = link(b, a, model, record_id="rec_id", population_id="rec_id")
    auto = result[result["band"] == "auto_link"]
    s = scores(set(zip(auto["record_id"], auto["rec_id"], strict=True)), truth)
    assert s["precision"] >= 0.995
    assert s["f1"] >= 0.98


def test_review_decisions_are_labels_when_the_threshold_is_chosen(small_model):
    """A clerk's rejection of a link the model would make unseen raises the auto-link
    threshold above it; accepted and rejected decisions are named in the model."""
    from ndc.linkage.model import ReviewLabels, calibrate
    from ndc.linkage.synthetic import make_linkage_set

    calibration = make_linkage_set(persons=2_000, records=200, seed=12)
    before = calibrate(small_model, calibration.records, calibration.population, calibration.truth)
    reviewed = make_linkage_set(persons=2_000, records=100, seed=13)
    result = link(reviewed.records, reviewed.population, before)
    auto = result[result["band"] == "auto_link"].sort_values("link_weight")
    weakest, accepted = auto.iloc[0], auto.iloc[-1]
    records = reviewed.records[
        reviewed.records["record_id"].isin([weakest["record_id"], accepted["record_id"]])
    ]
    labels = ReviewLabels(
        records=records,
        population=reviewed.population,
        accepted={accepted["record_id"]: accepted["personal_id"]},
        rejected={weakest["record_id"]: weakest["personal_id"]},
    )
    after = calibrate(
        small_model,
        calibration.records,
        calibration.population,
        calibration.truth,
        review=labels,
    )
    assert after.trained["review_labels"] == {"accepted": 1, "rejected": 1}
    assert "1 accepted and 1 rejected review decisions" in after.threshold_rule
    assert after.version != before.version
    # The rejected link is no longer made unseen; the accepted one still is.
    again = link(records, reviewed.population, after).set_index("record_id")
    assert again.loc[weakest["record_id"], "band"] != "auto_link"
    assert again.loc[accepted["record_id"], "band"] == "auto_link"
    assert after.auto_link_weight > before.auto_link_weight
