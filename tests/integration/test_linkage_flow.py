"""Records without a usable personal ID get a second chance: a tiny country whose death,
insured-person and student records often lose their ID, built by the real path, linked by the
transform's linkage step (ndc.linkage.flow), built again. The truth (the defect's clean value)
says which citizen each record names. Some insured persons carry only an old ID card number
(CMND) that the population database does not know, or knows for two citizens: they are
conformed without a personal ID and linked too. Land owners lose their ID too: they carry a
residence commune, and births a mother's name, which the linkage compares."""

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
    "land_registry": {"pid_malformed": 0.3},
}
# What the flow compares beyond name, date of birth and sex, where the record has it.
EXTRA_COLUMNS = ("commune_code", "commune_code_system", "mother_name")
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
        dry = _dry_run(url)
        first = link_quarantined(url)
        again = link_quarantined(url)
        truth = pd.read_parquet(work / "country" / "truth" / "defects.parquet")
        yield {
            "url": url,
            "work": work,
            "first": first,
            "again": again,
            "before": before,
            "dry": dry,
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


def _dry_run(url: str) -> dict:
    """Every record the flow would link, as it reads them (ndc.linkage.flow), and the
    population, scored twice: with the columns the flow compares, and with name, date of
    birth and sex alone (the flow before communes and mothers' names were compared)."""
    import psycopg

    from ndc.linkage import flow
    from ndc.settings import libpq_url

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        flow.ensure_tables(conn)
        frames = [
            reader(conn, source, entity, table, cols, "dry-run").assign(
                source=source, entity=entity
            )
            for reader, entities in (
                (flow.records_to_link, flow.person_entities(conn)),
                (flow.unresolved_cmnd_records, flow.cmnd_entities(conn)),
            )
            for source, entity, table, cols in entities
        ]
        population = flow.population(conn)
    records = pd.concat([f for f in frames if len(f)], ignore_index=True)
    model = flow.load_model()
    base = [c for c in records.columns if c not in EXTRA_COLUMNS]
    return {
        "records": records,
        "population": population,
        "model": model,
        "full": flow._results(records, population, model),
        "base": flow._results(records[base], population.drop(columns=list(EXTRA_COLUMNS)), model),
    }


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

    # The next build gives them the linked personal ID; they never were in quarantine. So it
    # does to the insured persons quarantined for their ID that were auto-linked.
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
    insured = links[
        (links.source == "social_insurance")
        & (links.entity == "insured_person")
        & (links.band == "auto_link")
    ]
    assert len(insured) > len(auto)  # some were quarantined for their personal ID
    assert got == dict(zip(insured.record_key, insured.personal_id, strict=True))
    assert quarantined == 0


def test_communes_and_mothers_names_reach_the_model(linked_country):
    """Land owners' residence communes (read in both code systems: an owner row has no date
    to tell) and births' mothers' names are compared, from the registry's declarations; the
    population side has its communes (2025 codes)."""
    dry = linked_country["dry"]
    records, population = dry["records"], dry["population"]
    owners = records[(records.source == "land_registry") & (records.entity == "owner")]
    assert len(owners) and owners.commune_code.notna().all()
    assert set(owners.commune_code_system) == {"either"}
    births = records[(records.source == "civil_registration") & (records.entity == "birth")]
    assert len(births) and births.mother_name.notna().any()
    others = records[~records.index.isin(owners.index.union(births.index))]
    assert others.commune_code.isna().all() and others.mother_name.isna().all()
    assert population.commune_code.notna().all()
    assert set(population.commune_code_system) == {"2025"}


def test_nothing_linked_on_name_and_date_alone_is_lost(linked_country):
    """Every record auto-linked on name, date of birth and sex alone keeps its citizen with the
    communes and mothers' names compared too: auto-linked, or, when its commune is in another
    province than the population database's (a move, a stale address there), queued for a
    clerk's review with that citizen; an owner whose commune agrees is linked with a higher
    probability."""
    from ndc.linkage.admin import commune_options, province_of_2025

    dry = linked_country["dry"]
    full = dry["full"].set_index("record_id")
    base = dry["base"].set_index("record_id")
    auto = base[base.band == "auto_link"]
    assert len(auto)
    assert (full.loc[auto.index, "personal_id"] == auto.personal_id).all()
    pop = dry["population"].set_index("personal_id").commune_code
    now = full.loc[auto.index]
    moved = now[now.band != "auto_link"]
    assert (moved.band == "review").all()
    for r in moved.itertuples():
        provinces = {province_of_2025(c) for c in commune_options(r.commune_code, "either")}
        assert province_of_2025(pop[r.personal_id]) not in provinces
    assert len(moved) <= 0.05 * len(auto)
    owners = full[(full.source == "land_registry") & (full.band == "auto_link")]
    assert len(owners)
    assert (owners.match_probability >= base.loc[owners.index, "match_probability"]).all()
    # Found by the full comparison, or queued, at least as often as by name and date alone.
    found = {k for k, r in full.iterrows() if r.band != "non_link"}
    assert {k for k, r in base.iterrows() if r.band != "non_link"} <= found


def _namesake(citizen: pd.Series, personal_id: str, **changes) -> pd.DataFrame:
    """Another citizen of the same name, date of birth and sex."""
    return pd.DataFrame([{**citizen.to_dict(), "personal_id": personal_id, **changes}])


def test_a_commune_tells_namesakes_born_the_same_day_apart(linked_country):
    """An owner with an unusable ID, and a namesake born the same day in another province:
    on name and date alone the two cannot be told apart; the owner's commune links the owner."""
    from ndc.linkage import flow
    from ndc.linkage.admin import commune_options, province_of_2025

    dry = linked_country["dry"]
    full = dry["full"]
    pop = dry["population"]
    owners = full[(full.source == "land_registry") & (full.band == "auto_link")]
    record_id = owners.record_id.iloc[0]
    record = dry["records"][
        [f"{s}/{e}/{b}/{r}" == record_id for s, e, b, r in
         zip(dry["records"].source, dry["records"].entity, dry["records"]._batch_id,
             dry["records"]._source_row, strict=True)]
    ]  # fmt: skip
    citizen = pop[pop.personal_id == owners.personal_id.iloc[0]].iloc[0]
    province = province_of_2025(citizen.commune_code)
    elsewhere = next(c for c in pop.commune_code if province_of_2025(c) != province)
    assert citizen.commune_code in commune_options(record.commune_code.iloc[0], "either")
    population = pd.concat(
        [pop, _namesake(citizen, "999999999999", commune_code=elsewhere)], ignore_index=True
    )
    model = dry["model"]
    with_commune = flow._results(record, population, model).iloc[0]
    assert (with_commune.band, with_commune.personal_id) == ("auto_link", citizen.personal_id)
    base = [c for c in record.columns if c not in EXTRA_COLUMNS]
    alone = flow._results(record[base], population.drop(columns=list(EXTRA_COLUMNS)), model).iloc[0]
    assert alone.band != "auto_link"
    assert alone.match_probability < with_commune.match_probability


def test_a_mothers_name_tells_namesakes_born_the_same_day_apart(linked_country):
    """A birth record with an unusable ID names the child's mother. Once the population knows
    the child with its mother (a birth registration with the child's ID says who she is) and a
    namesake born the same day in the same commune to another mother, the mother's name links
    the record; on name, date and sex alone the two cannot be told apart. (The child of a
    birth record is a newborn the population database rarely holds yet: both citizens are
    added here, the record is the flow's.)"""
    from ndc.linkage import flow

    dry = linked_country["dry"]
    records, pop = dry["records"], dry["population"]
    births = records[
        (records.source == "civil_registration")
        & (records.entity == "birth")
        & records.mother_name.notna()
        & records.sex_code.notna()
    ]
    assert len(births)
    record = births.iloc[[0]]
    r = record.iloc[0]
    child = {
        "personal_id": "999999999997",
        "full_name": r.full_name,
        "date_of_birth": r.date_of_birth,
        "sex_code": r.sex_code,
        "commune_code": pop.commune_code.iloc[0],
        "commune_code_system": "2025",
        "mother_name": r.mother_name,
    }
    population = pd.concat(
        [
            pop,
            pd.DataFrame([child]),
            _namesake(pd.Series(child), "999999999998", mother_name="Lò Thị Mây"),
        ],
        ignore_index=True,
    )
    model = dry["model"]
    with_mother = flow._results(record, population, model).iloc[0]
    assert (with_mother.band, with_mother.personal_id) == ("auto_link", child["personal_id"])
    base = [c for c in record.columns if c not in EXTRA_COLUMNS]
    alone = flow._results(record[base], population.drop(columns=list(EXTRA_COLUMNS)), model).iloc[0]
    assert alone.band != "auto_link"
    assert alone.match_probability < with_mother.match_probability


def test_a_birth_record_is_not_auto_linked_to_a_child_registered_under_another_name(
    linked_country,
):
    """A person's birth is registered once. A birth record with an unusable ID that the model
    auto-links to a citizen whose birth is registered already under another name (a twin born
    the same day to the same mother, whose own ID the population does not hold yet, or the
    name mistyped) is held for a clerk's review; under the same name (registered twice) it
    stays linked; a record of another kind is not held."""
    import psycopg

    from ndc.linkage import flow
    from ndc.settings import libpq_url

    url = linked_country["url"]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        [(source, entity, table)] = flow.birth_registrations(conn)
        assert (source, entity) == ("civil_registration", "birth")
        registered_id, registered_name = conn.execute(
            f"select personal_id, full_name from staging.{table} "
            "where quarantine_reason_code is null and personal_id is not null limit 1"
        ).fetchone()
        twin = registered_name.rsplit(" ", 1)[0] + " Song Sinh"
        out = pd.DataFrame(
            {
                "source": [source, source, source, "land_registry"],
                "entity": [entity, entity, entity, "owner"],
                "full_name": [twin, f"  {registered_name.upper()} ", twin, twin],
                "personal_id": [registered_id] * 4,
                "band": ["auto_link", "auto_link", "review", "auto_link"],
            }
        )
        held = flow.hold_registered_births(conn, out)
    assert list(held.band) == ["review", "auto_link", "review", "auto_link"]
    assert list(held.personal_id) == [registered_id] * 4  # the clerk sees the candidate
