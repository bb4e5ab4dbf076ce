"""No half-repaired name reaches the population database: a small country whose sources carry
the name damage real exports do (invisible characters, text misread twice, marks lost to "?",
a TCVN3 cell in a UTF-8 birth file) at high rates, extracted, loaded and built by the real
path, then synced into its population database."""

from __future__ import annotations

import re
import unicodedata
import uuid

import pytest

from ndc.warehouse import connect
from tests.conftest import PG_URL
from tests.integration.conftest import load_country, run_dbt

# Letters of the Vietnamese alphabet (a-z with the foreign f, j, w, z, and every marked
# letter), both cases, and the space, hyphen and apostrophe between name parts.
_BASES = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_MARKED = {unicodedata.normalize("NFC", b + t) for b in _BASES for t in _TONES} | {"đ"}
_ALPHABET = set("abcdefghijklmnopqrstuvwxyz") | _MARKED
_ALPHABET |= {c.upper() for c in _ALPHABET}
NAME = re.compile("^[" + re.escape("".join(sorted(_ALPHABET))) + " '-]+$")

RATES = {
    "social_insurance": {
        "name_invisible": 0.15,
        "name_mojibake_twice": 0.15,
        "name_unrepairable": 0.15,
    },
    "civil_registration": {"name_legacy_cell": 0.2},
}


@pytest.fixture(scope="module")
def damaged_country(tmp_path_factory):
    from ndc.population import sync_citizens
    from ndc.synthetic import generate
    from ndc.warehouse import drop_database

    work = tmp_path_factory.mktemp("damaged_names")
    name = f"ndc_test_names_{uuid.uuid4().hex[:8]}"
    url, population_url = f"{PG_URL}/{name}", f"{PG_URL}/{name}_pop"
    generate(work / "country", persons=600, seed=11, days=2, defect_rates=RATES)
    try:
        load_country(work / "country", url, population_url, work / "landing")
        run_dbt(url, work, "build", "--exclude", "test_type:unit")
        sync_citizens(url, population_url)
        yield url, population_url, work / "country"
    finally:
        drop_database(url)
        drop_database(population_url)


def test_no_citizen_holds_a_name_outside_the_vietnamese_alphabet(damaged_country):
    url, population_url, _ = damaged_country
    with connect(population_url) as conn:
        names = [r[0] for r in conn.execute("select full_name from citizen")]
    assert names
    bad = [n for n in names if n is not None and not NAME.match(n)]
    assert bad == []


def test_damaged_names_are_repaired_or_quarantined(damaged_country):
    import pandas as pd

    url, _, data = damaged_country
    truth = pd.read_parquet(data / "truth" / "defects.parquet")
    truth = truth[truth.defect_class.isin(["name_unrepairable", "name_legacy_cell"])]
    with connect(url) as conn:
        quarantined = {
            r[0]
            for r in conn.execute(
                "select record_key from quarantine.quarantined_rows "
                "where reason_code = 'NAME_UNREPAIRABLE'"
            )
        }
        mothers = dict(
            conn.execute(
                "select record_key, mother_full_name from staging.stg_civil_registration__births"
            ).fetchall()
        )
        children = dict(
            conn.execute(
                "select record_key, full_name from staging.stg_civil_registration__births"
            ).fetchall()
        )
        garbled_births = conn.execute(
            "select count(*) from quarantine.quarantined_rows "
            "where entity = 'birth' and reason_code = 'NAME_UNREPAIRABLE'"
        ).fetchone()[0]
    unrepairable = truth[truth.defect_class == "name_unrepairable"]
    assert len(unrepairable) > 0 and set(unrepairable.record_key) <= quarantined
    cells = truth[(truth.defect_class == "name_legacy_cell") & (truth.entity == "birth")]
    assert len(cells) > 0
    for d in cells.itertuples():
        got = (mothers if d.field == "ho_ten_me" else children)[d.record_key]
        assert got == d.clean_value, d
    # The other names of those files came through untouched by the TCVN3 cells: no birth
    # was held back for a garbled name.
    assert garbled_births == 0
    assert [n for n in children.values() if n and not NAME.match(n)] == []
