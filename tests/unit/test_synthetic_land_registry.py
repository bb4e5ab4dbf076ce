"""ndc.synthetic.land_registry: the daily XML files of the land registry, read back through the
pipeline's own extractor, against the synthetic country's truth."""

from __future__ import annotations

import csv
from collections import defaultdict

import pandas as pd
import pytest

from ndc.extract.xml import declared_encoding, xml_chunks
from ndc.settings import DBT_PROJECT_DIR
from ndc.synthetic import GenerationSummary, generate
from ndc.synthetic.land_registry import province_encoding, province_style
from tests.unit.synthetic_files import read_defects, read_truth


def _read(registry, out, entity: str) -> list[dict]:
    source = registry["land_registry"]
    rows = []
    for path in sorted((out / "land_registry" / "inbox").glob("land_*.xml")):
        declared_encoding(path, "land_registry", source.files.encodings)
        for batch in xml_chunks(path, "land_registry", source.entity(entity), 10_000):
            rows += [{**r, "_file": path.name} for r in batch.to_pylist()]
    return rows


def _legacy_to_2025() -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    with open(DBT_PROJECT_DIR / "seeds" / "admin_units_legacy_to_2025.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["legacy_ward_code"]].add(row["new_commune_code"])
    return out


@pytest.fixture(scope="module")
def land(tmp_path_factory) -> GenerationSummary:
    # More parcels of free-text provinces left without their district than the default, so
    # that a small country has some.
    return generate(
        tmp_path_factory.mktemp("land"),
        persons=3000,
        seed=7,
        days=4,
        defect_rates={"land_registry": {"admin_address_ambiguous": 1.0}},
    )


def test_files_per_province_and_day_in_their_declared_encoding(land, registry) -> None:
    files = sorted((land.out / "land_registry" / "inbox").glob("land_*.xml"))
    assert len(files) == land.files["land_registry"] > 20
    encodings = set()
    for path in files:
        province = path.name.split("_")[1]
        encoding = declared_encoding(path, "land_registry", ["utf-8", "windows-1258"])
        assert encoding == province_encoding(province)
        encodings.add(encoding)
    assert encodings == {"UTF-8", "windows-1258"}
    parcels, owners = _read(registry, land.out, "parcel"), _read(registry, land.out, "owner")
    assert land.rows["land_registry"] == {"parcel": len(parcels), "owner": len(owners)}


def test_owners_are_persons_of_the_country_under_their_parcel(land, registry) -> None:
    truth = read_truth(land.out).set_index("personal_id")
    parcels = {(r["_file"], r["ma_thua"]) for r in _read(registry, land.out, "parcel")}
    owners = _read(registry, land.out, "owner")
    defective = set(read_defects(land.out).query("source == 'land_registry'")["record_key"])
    known = 0
    for o in owners:
        assert (o["_file"], o["ma_thua"]) in parcels
        key = f"{o['ma_thua']}/{o['stt']}"
        if o["so_dinh_danh"] and key not in defective:
            person = truth.loc[o["so_dinh_danh"]]
            assert pd.Timestamp(person["date_of_birth"]).date().isoformat() == o["ngay_sinh"]
            known += 1
    assert known > 0.9 * len(owners) - len(defective)


def test_place_follows_the_province_style(land, registry) -> None:
    for r in _read(registry, land.out, "parcel"):
        province, day = r["_file"].split("_")[1], r["_file"][-12:-4]
        style = province_style(province)
        if style == "text":
            assert r["dia_chi"] and r["ma_xa"] is None
        elif style == "legacy_code" or day < "20250701":
            assert r["ma_huyen"] and r["ma_xa"] and r["dia_chi"] is None
        else:
            assert r["ma_huyen"] is None and r["ma_xa"] and r["dia_chi"] is None


def test_address_defects_standardise_as_the_truth_says(land, registry) -> None:
    defects = read_defects(land.out).query("source == 'land_registry' and entity == 'parcel'")
    classes = set(defects["defect_class"])
    assert {"admin_address_text", "admin_address_ambiguous", "admin_legacy_unambiguous"} <= classes
    rows = {r["ma_thua"]: r for r in _read(registry, land.out, "parcel")}
    legacy = _legacy_to_2025()
    for d in defects.itertuples():
        r = rows[d.record_key]
        code = r["ma_xa_tu_dia_chi"] if d.field == "dia_chi" else r["ma_xa"]
        if d.defect_class == "admin_address_ambiguous":
            assert (code, r["ket_qua_dia_chi"]) == (None, "unmatched"), r["dia_chi"]
        elif d.defect_class in ("admin_legacy_ambiguous", "admin_address_split"):
            assert len(legacy[code]) > 1 and d.clean_value in legacy[code]
        else:
            assert legacy[code] == {d.clean_value}, (d.raw_value, code)


def test_owner_defects_are_labelled_and_kept_in_every_file(land, registry) -> None:
    defects = read_defects(land.out).query("source == 'land_registry' and entity == 'owner'")
    assert {"dob_conflict", "pid_malformed"} <= set(defects["defect_class"])
    by_key = defaultdict(list)
    for o in _read(registry, land.out, "owner"):
        by_key[f"{o['ma_thua']}/{o['stt']}"].append(o)
    for d in defects.itertuples():
        column = "ngay_sinh" if d.defect_class == "dob_conflict" else "so_dinh_danh"
        assert d.field == column
        assert {o[column] for o in by_key[d.record_key]} == {d.raw_value}
        assert d.raw_value != d.clean_value


def test_a_longer_run_keeps_the_earlier_files(tmp_path) -> None:
    short = generate(tmp_path / "a", persons=800, seed=5, days=2)
    longer = generate(tmp_path / "b", persons=800, seed=5, days=3)
    inbox_a = short.out / "land_registry" / "inbox"
    inbox_b = longer.out / "land_registry" / "inbox"
    names = sorted(p.name for p in inbox_a.glob("land_*.xml"))
    assert names and set(names) <= {p.name for p in inbox_b.glob("land_*.xml")}
    for name in names:
        assert (inbox_a / name).read_bytes() == (inbox_b / name).read_bytes(), name
