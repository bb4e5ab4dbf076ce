"""Records without a usable personal ID get a second chance: a tiny country whose death,
insured-person and student records often lose their ID, built by the real path, linked by the
transform's linkage step (ndc.linkage.flow), built again. The truth (the defect's clean value)
says which citizen each record names. Some insured persons carry only an old ID card number
(CMND) that the population database does not know, or knows for two citizens: they are
conformed without a personal ID and linked too."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from ndc.warehouse import connect
from tests.conftest import PG_URL
from tests.integration.conftest import load_country, run_dbt

RATES = {
    "civil_registration": {"pid_missing": 0.15, "pid_malformed": 0.1},
    "social_insurance": {"pid_missing": 0.1, "pid_unknown_province": 0.05, "cmnd_only": 0.3},
    "education": {"pid_missing": 0.1},
}
PID_CLASSES = ("pid_missing", "pid_malformed", "pid_unknown_province")


def _unresolve_cmnds(country) -> set[str]:
    """Make some CMND-only insured persons' CMND name no single citizen in the population
    database's baseline: most lose it there (the database never knew it), one shares it with
    another citizen. Returns the record keys of those insured persons."""
    truth = pd.read_parquet(country / "truth" / "defects.parquet")
    cmnd_only = truth[truth.defect_class == "cmnd_only"].sort_values("record_key")
    unresolved = cmnd_only.iloc[::2]
    path = country / "population_db" / "baseline.parquet"
    baseline = pd.read_parquet(path)
    pids = list(unresolved.clean_value)
    shared = baseline.loc[baseline.personal_id == pids[0], "cmnd"].iloc[0]
    baseline.loc[baseline.personal_id.isin(pids[1:]), "cmnd"] = None
    other = baseline.index[baseline.cmnd.isna() & ~baseline.personal_id.isin(pids)][0]
    baseline.loc[other, "cmnd"] = shared
    baseline.to_parquet(path, index=False)
    return set(unresolved.record_key)


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
    unresolved = _unresolve_cmnds(work / "country")
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
            "truth": truth[
                truth.defect_class.isin(PID_CLASSES)
                | ((truth.defect_class == "cmnd_only") & truth.record_key.isin(unresolved))
            ],
            "unresolved": unresolved,
            "registry": load_registry(),
        }
    finally:
        drop_database(url)
        drop_database(population_url)


def _links(url: str) -> pd.DataFrame:
    with connect(url) as conn:
        cur = conn.execute(
            "select source, entity, record_key, reason_code, personal_id, band, linked, "
            "model_version from ops.person_links"
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
    # Only records of person entities quarantined for their ID, or whose CMND did not
    # resolve, are scored.
    assert links.truth.notna().all()
    auto = links[links.band == "auto_link"]
    assert len(auto) and (auto.personal_id == auto.truth).all()  # no wrong auto-link
    found = links[links.band.isin(["auto_link", "review"]) & (links.personal_id == links.truth)]
    assert len(found) >= 0.9 * len(links)
    # Incremental: a second run has nothing left to link with this model version.
    assert linked_country["again"]["records"] == 0


def test_a_review_accept_and_the_next_build_take_records_out_of_quarantine(linked_country):
    from ndc.linkage.review import decide, labels, list_reviews, show_review
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
    # The decision is a labelled record for the next calibration: the record as staged, the
    # citizen accepted, the population it was linked against.
    from ndc.linkage.review import review_labels

    labelled = review_labels(url)
    assert labelled.accepted == {key: chosen["personal_id"]} and labelled.rejected == {}
    record = labelled.records.set_index("record_id").loc[key]
    staged = show_review(url, chosen["review_id"])["record"]
    assert record["full_name"] == staged["full_name"]
    assert chosen["personal_id"] in set(labelled.population["personal_id"])

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
    links = _links(url)
    auto = int(((links.band == "auto_link") & (links.reason_code != "CMND_UNRESOLVED")).sum())
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


def test_insured_persons_whose_cmnd_names_no_single_citizen_are_linked(linked_country):
    from ndc.linkage.flow import CMND_UNRESOLVED

    url, work = linked_country["url"], linked_country["work"]
    links = _links(url)
    by_cmnd = links[links.reason_code == CMND_UNRESOLVED]
    # Every insured person whose CMND names no citizen or two, and no other record.
    assert set(by_cmnd.record_key) == linked_country["unresolved"]
    assert (by_cmnd.source == "social_insurance").all()
    truth = linked_country["truth"]
    truth = truth[truth.defect_class == "cmnd_only"].set_index("record_key").clean_value
    auto = by_cmnd[by_cmnd.band == "auto_link"]
    assert len(auto) >= 0.8 * len(by_cmnd)
    assert (auto.personal_id == auto.record_key.map(truth)).all()

    # The next build gives them the linked personal ID; they never were in quarantine.
    run_dbt(url, work, "build", "--select", "int_insured_persons_deduplicated")
    with connect(url) as conn:
        got = dict(
            conn.execute(
                "select social_insurance_code, personal_id from "
                "intermediate.int_insured_persons_deduplicated "
                "where personal_id_origin = 'linkage'"
            ).fetchall()
        )
        quarantined = conn.execute(
            "select count(*) from quarantine.quarantined_rows where record_key = any(%s)",
            (list(linked_country["unresolved"]),),
        ).fetchone()[0]
    assert got == dict(zip(auto.record_key, auto.personal_id, strict=True))
    assert quarantined == 0
