"""The pure parts of a delivery (ndc.sharing.delivery): periods, the row filter's reference
date, age bands, the SQL a product's registry file gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ndc.assets import MART_CITIZENS, reads_asset
from ndc.settings import SHARING_DIR
from ndc.sharing.delivery import (
    band_labels,
    bind_current_date,
    delivery_id,
    period_of,
    product_query,
)
from ndc.sharing.registry import load_product

AS_OF = datetime(2026, 12, 6, 14, tzinfo=UTC)


def test_a_delivery_id_is_the_period_of_its_reference_time():
    assert period_of("@daily", AS_OF) == "2026-12-06"
    assert period_of("@monthly", AS_OF) == "2026-12"
    assert period_of("@weekly", AS_OF) == "2026-W49"
    assert period_of("0 3 * * *", AS_OF) == "2026-12-06"
    deaths = load_product(SHARING_DIR / "deaths_to_social_insurance.yaml")
    assert delivery_id(deaths, AS_OF) == "2026-12-06"
    assert delivery_id(deaths, AS_OF, full=True) == "2026-12-06-full"


def test_current_date_in_a_row_filter_is_the_delivery_date_outside_literals():
    bound = bind_current_date("date_of_birth > current_date - 1 and x <> 'current_date'", AS_OF)
    assert bound == "date_of_birth > date '2026-12-06' - 1 and x <> 'current_date'"


def test_band_labels():
    assert band_labels([0, 5, 80]) == ["0-4", "5-79", "80+"]


def test_an_identified_product_selects_exactly_its_elements_keyed_by_its_identifier():
    deaths = load_product(SHARING_DIR / "deaths_to_social_insurance.yaml")
    q = product_query(deaths, AS_OF)
    assert q.columns == list(deaths.elements) and q.key == ["personal_id"]
    text = q.query.as_string(None)
    assert '"marts"."citizens"' in text and "where date_of_death is not null" in text
    assert "is_deceased" not in text and "source_systems" not in text


def test_an_aggregated_product_counts_by_its_dimensions_and_suppresses_small_cells():
    population = load_product(SHARING_DIR / "population_by_commune_open_data.yaml")
    q = product_query(population, AS_OF)
    assert q.columns == ["commune_code", "sex_code", "age_group", "count"]
    assert q.key == ["commune_code", "sex_code", "age_group"]
    text = q.query.as_string(None)
    assert "case when count(*) < 5 then null else count(*) end" in text
    assert "age('2026-12-06'::date" in text and "then '80+'" in text


def test_a_product_reading_a_mart_without_an_asset_is_refused():
    assert reads_asset("citizens") == MART_CITIZENS
    with pytest.raises(KeyError, match="publishes no Asset"):
        reads_asset("quarantined_rows")
