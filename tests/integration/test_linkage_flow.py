"""Records without a usable personal ID get a second chance: a tiny country whose death,
insured-person and student records often lose their ID, built by the real path, linked by the
transform's linkage step (ndc.linkage.flow), built again. The truth (the defect's clean value)
says which citizen each record names."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from ndc.warehouse import connect
from tests.conftest import PG_URL
from tests.integration.conftest import load_country, run_dbt

RATES = {
    "civil_registration": {"pid_missing": 0.15, "pid_malformed": 0.1},
    "social_insurance": {"pid_missing": 0.1, "pid_unknown_province": 0.05},
    "education": {"pid_missing": 0.1},
}
PID_CLASSES = ("pid_missing", "pid_malformed", "pid_unknown_province")


@pytest.fixture(scope="module")
def linked_country(tmp_path_factory):
    from ndc.linkage.flow import link_quarantined
    from ndc.registry import load_registry
    from ndc.synthetic import generate
    from ndc.warehouse import drop_database

    work = tmp_path_factory.mktemp("linkage")
    name = f"ndc_test_link_{uuid.uuid4().hex[:8]}"
    url, population_url = f"{PG_URL}/{name}", f"{PG_URL}/{name}_pop"
    generate(work / "country", persons=300, seed=23, days=1, defect_rates=RATES)
    try:
        load_country(work / "country", url, population_url, work / "landing")
        run_dbt(url, work, "build", "--exclude", "test_type:unit")
        with connect(url) as conn:
            before = dict(
                conn.execute(
                    "select reason_code, count(*) from quarantine.quarantined_rows group by 1"
                ).fetchall()
            )
        first = link_quarantined(url)
        again = link_quarantined(url)
        truth = pd.read_parquet(work / "country" / "truth" / "defects.parquet")
        yield {
            "url": url,
            "work": work,
            "first": first,
            "again": again,
            "before": before,
            "truth": truth[truth.defect_class.isin(PID_CLASSES)],
            "registry": load_registry(),
        }
    finally:
        drop_database(url)
        drop_database(population_url)


def _links(url: str) -> pd.DataFrame:
    with connect(url) as conn:
        cur = conn.execute(
            "select source, entity, record_key, personal_id, band, linked, model_version "
            "from ops.person_links"
        )
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def test_records_the_truth_links_are_linked_or_queued(linked_country):
    links = _links(linked_country["url"])
    assert linked_country["first"]["records"] == len(links) > 0
    truth = {
        (d.source, d.entity, d.record_key): d.clean_value
        for d in linked_country["truth"].itertuples()
    }
    keys = zip(links.source, links.entity, links.record_key, strict=True)
    links["truth"] = [truth.get(k) for k in keys]
    # Only records of person entities quarantined for their ID are scored.
    assert links.truth.notna().all()
    auto = links[links.band == "auto_link"]
    assert len(auto) and (auto.personal_id == auto.truth).all()  # no wrong auto-link
    found = links[links.band.isin(["auto_link", "review"]) & (links.personal_id == links.truth)]
    assert len(found) >= 0.9 * len(links)
    # Incremental: a second run has nothing left to link with this model version.
    assert linked_country["again"]["records"] == 0


def test_a_review_accept_and_the_next_build_take_records_out_of_quarantine(linked_country):
    from ndc.linkage.review import decide, labels, list_reviews
    from ndc.reconcile import reconcile

    url, work = linked_country["url"], linked_country["work"]
    queue = list_reviews(url)
    if not queue:
        # A tiny country may have no record in the review band: make one auto-link a
        # review-band result, as a less certain model would have.
        with connect(url) as conn:
            conn.execute(
                """
                with one as (
                    select * from ops.person_links where band = 'auto_link'
                    order by _batch_id, _source_row limit 1
                ), moved as (
                    update ops.person_links l set band = 'review', linked = false,
                        link_method = null
                    from one where (l.source, l.entity, l._batch_id, l._source_row)
                        = (one.source, one.entity, one._batch_id, one._source_row)
                    returning l.*
                )
                insert into ops.link_review (source, entity, _batch_id, _source_row,
                    record_key, personal_id, match_probability, model_version)
                select source, entity, _batch_id, _source_row, record_key, personal_id,
                    match_probability, model_version from moved
                """
            )
        queue = list_reviews(url)
    chosen = queue[0]
    decided = decide(url, chosen["review_id"], "accept", "clerk.a")
    assert decided["decision"] == "accepted" and decided["decided_by"] == "clerk.a"
    key = f"{chosen['source']}/{chosen['entity']}/{chosen['_batch_id']}/{chosen['_source_row']}"
    assert labels(url)[key] == chosen["personal_id"]

    run_dbt(url, work, "build", "--exclude", "test_type:unit")
    with connect(url) as conn:
        linked = conn.execute(
            "select source, entity, _batch_id, _source_row, personal_id, link_method "
            "from quarantine.linked_rows"
        ).fetchall()
        still = conn.execute(
            "select count(*) from quarantine.quarantined_rows q join quarantine.linked_rows l "
            "using (source, entity, _batch_id, _source_row)"
        ).fetchone()[0]
    auto = int((_links(url).band == "auto_link").sum())
    assert len(linked) == auto + 1
    reviewed = [r for r in linked if r[2:4] == (chosen["_batch_id"], chosen["_source_row"])]
    assert reviewed and reviewed[0][4:] == (chosen["personal_id"], "probabilistic_reviewed")
    assert still == 0
    # Every batch still balances, the linked rows counted as linked.
    balances = reconcile(url, linked_country["registry"], everything=True)
    assert all(b.balanced for b in balances)
    assert sum(b.linked for b in balances) == len(linked)
    assert sum(b.quarantined for b in balances) == sum(linked_country["before"].values()) - len(
        linked
    )
