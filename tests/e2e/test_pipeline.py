"""The whole flow through a real Airflow: scheduler, dag-processor, triggerer, api-server and
two Celery workers started as `make up EXECUTOR=celery` starts them (the machine's Redis as
broker; every task is observed on one of the two workers, and both ran some), ingest DAGs
triggered through the REST API, transform and sync_population triggered by Assets. Five source systems on their own technologies (CSV and
Excel drops, MariaDB, PostgreSQL, a REST API), checked against the synthetic ground truth;
then a re-run changes nothing. Days arriving one at a time through Airflow are the equivalence
test's (tests/e2e/test_incremental_equals_full.py: day by day equals all at once, every table);
incremental extraction past a SQL watermark on MariaDB and PostgreSQL is
tests/integration/test_sql_extract.py's."""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from ndc import settings as settings_mod
from ndc import workers
from ndc.airflow_runtime import ADMIN_USER, AirflowClient, admin_password, airflow_env, down, up
from ndc.flow import run_flow
from ndc.population import load_baseline
from ndc.registry import load_registry
from ndc.report import STAGES, build_report
from ndc.settings import REPO_ROOT
from ndc.stack import databases_up
from ndc.synthetic import generate
from ndc.synthetic.education_api import serve
from ndc.warehouse import connect, drop_database
from tests.conftest import MYSQL_URL, PG_URL, free_port

pytestmark = pytest.mark.e2e

PERSONS, SEED = 300, 7  # small: behaviour here, volume in `ndc bench`


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Airflow, databases and source systems for this test module only; torn down afterwards."""
    home = tmp_path_factory.mktemp("ndc_home")
    prefix = f"ndc_e2e_{uuid.uuid4().hex[:6]}"
    api_port = free_port()
    targets = {
        "social_insurance": f"{MYSQL_URL}/{prefix}_si?charset=utf8mb4",
        "residence": f"{PG_URL.replace('postgresql://', 'postgresql+psycopg2://')}/{prefix}_residence",
    }
    env = {
        "NDC_HOME": str(home),
        "NDC_PG_URL": PG_URL,
        "NDC_DB_PREFIX": prefix,
        "NDC_AIRFLOW_PORT": str(free_port()),
        "NDC_SOURCE_SOCIAL_INSURANCE_URL": targets["social_insurance"],
        "NDC_SOURCE_RESIDENCE_URL": targets["residence"],
        "NDC_SOURCE_EDUCATION_URL": f"http://127.0.0.1:{api_port}",
        # LocalExecutor is the default and every other end-to-end module's: this one proves
        # the scale-out path (ndc.workers) on this machine.
        "NDC_EXECUTOR": "celery",
    }
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    settings = settings_mod.load()
    sources = load_registry()
    databases_up(settings, sources)
    generated = generate(settings.data_dir, persons=PERSONS, seed=SEED, days=2, targets=targets)
    load_baseline(settings.population_url, settings.data_dir / "population_db" / "baseline.parquet")
    api, _ = serve(settings.data_dir / "education" / "education.sqlite", port=api_port)
    try:
        url = up(settings, airflow_env(settings, sources))
        client = AirflowClient(url, ADMIN_USER, admin_password(settings))
        yield settings, client, sources, targets, generated.rows
    finally:
        down(settings)
        api.shutdown()
        for role in ("warehouse", "population", "airflow", "residence"):
            drop_database(settings.database_url(role))
        workers.drop_broker_keys(settings)
        engine = sa.create_engine(MYSQL_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f"drop database if exists {prefix}_si"))
        engine.dispose()
        mp.undo()


def _population(settings) -> pd.DataFrame:
    with connect(settings.population_url) as conn:
        rows = conn.execute(
            "select personal_id, full_name, date_of_birth, sex_code, date_of_death, updated_at "
            "from citizen order by personal_id"
        ).fetchall()
    return pd.DataFrame(
        rows,
        columns=[
            "personal_id",
            "full_name",
            "date_of_birth",
            "sex_code",
            "date_of_death",
            "updated_at",
        ],
    )


def _quarantine(settings) -> set[tuple]:
    """Rows quarantined with their reason code, and rows quarantined for their personal ID
    that the linkage step then linked to a citizen (quarantine.linked_rows keeps the reason)."""
    with connect(settings.warehouse_url) as conn:
        return set(
            conn.execute(
                "select source, entity, record_key, reason_code from quarantine.quarantined_rows"
                " union all "
                "select source, entity, record_key, reason_code from quarantine.linked_rows"
            ).fetchall()
        )


def _assert_balanced(report: dict) -> None:
    for source, entities in report["sources"].items():
        for entity, counts in entities.items():
            assert counts["balanced"], (source, entity, counts)
            assert (
                counts["at_source"] == counts["extracted"] == counts["landed"] == counts["loaded"]
            ), (source, entity)
            # A row quarantined for its personal ID and linked to a citizen by the linkage
            # step (ndc.linkage.flow) is counted as linked, no longer as quarantined.
            assert counts["loaded"] == (
                counts["conformed"] + counts["quarantined"] + counts["linked"] + counts["merged"]
            ), (source, entity)


def _hosts(client) -> dict[str, int]:
    """Task instances that ran, by the host that ran them. Placeholders (EmptyOperator: the
    transform's seeds and Cosmos's producer_done) are marked done by the scheduler and run on
    no host."""
    hosts: dict[str, int] = {}
    for ti in client.task_instances():
        if ti["state"] in ("success", "failed") and ti["operator"] != "EmptyOperator":
            hosts[ti["hostname"]] = hosts.get(ti["hostname"], 0) + 1
    return hosts


def test_pipeline_end_to_end_then_idempotent(stack):
    settings, client, sources, targets, generated = stack
    truth = pd.read_parquet(settings.data_dir / "truth" / "persons.parquet")
    defects = pd.read_csv(settings.data_dir / "truth" / "defects.csv", dtype=str)

    # Day 0..2: everything lands, conforms or is quarantined, and reaches the population DB.
    runs = run_flow(client, list(sources))
    assert set(runs) == {f"ingest_{s}" for s in sources} | {"transform", "sync_population"}
    report = build_report(settings.warehouse_url, settings.population_url, sources)
    _assert_balanced(report)
    for source, entities in report["sources"].items():
        assert sum(c["loaded"] for c in entities.values()) > 0, source
    # Every count starts at the source: each source's own count of what was extracted (a
    # count query on MariaDB and PostgreSQL, a second parse of each CSV, workbook and XML
    # file, the API's total) is what the generator wrote into that source.
    at_source = {
        source: {entity: counts["at_source"] for entity, counts in entities.items()}
        for source, entities in report["sources"].items()
    }
    assert at_source == {source: generated[source] for source in sources}

    # Every row the generator made unconformable is quarantined with the expected reason code
    # (or, quarantined for its personal ID, linked to its citizen by the linkage step).
    expected = {
        (d.source, d.entity, d.record_key, d.reason_code)
        for d in defects.itertuples()
        if d.expected_handling == "quarantine"
    }
    assert expected and expected <= _quarantine(settings)

    citizens = _population(settings)
    assert len(citizens) == report["population"]["citizens"] > 0 and citizens.personal_id.is_unique
    # Insured persons without defects reached the population DB with the truth's date of
    # birth and sex.
    flawed = set(defects.loc[defects.source == "social_insurance", "record_key"])
    insured = truth[
        truth.in_social_insurance & truth.ma_so_bhxh.notna() & ~truth.ma_so_bhxh.isin(flawed)
    ]
    merged = insured.merge(citizens, on="personal_id", how="inner", suffixes=("_truth", ""))
    assert len(merged) > 0.8 * len(insured)
    assert (merged.date_of_birth == merged.date_of_birth_truth).all()
    assert (merged.sex_code == merged.sex.map({"male": "1", "female": "2"})).all()
    # Registered deaths set the date of death, and only true deaths do.
    dead = citizens[citizens.date_of_death.notna()].merge(
        truth, on="personal_id", suffixes=("", "_truth")
    )
    assert len(dead) > 0 and (dead.date_of_death == dead.date_of_death_truth).all()

    # Trigger everything again: nothing new lands, so every load is skipped and nothing
    # downstream runs; no count changes, no citizen is rewritten.
    citizens = _population(settings)
    again = run_flow(client, list(sources))
    assert "transform" not in again and "sync_population" not in again
    assert build_report(settings.warehouse_url, settings.population_url, sources) == report
    assert _population(settings).equals(citizens)

    # Every task ran on a Celery worker of this stack, and each of the two workers ran some
    # (the task instance's hostname is "<worker>.<host>": ndc.workers.hostname).
    hosts = _hosts(client)
    retried = [(t["dag_id"], t["task_id"]) for t in client.task_instances() if t["try_number"] > 1]
    print(f"task instances by host: {hosts}; retried: {retried or 'none'}")
    by_worker = {
        w: sum(n for h, n in hosts.items() if h.startswith(f"{w}."))
        for w in workers.names(settings)
    }
    assert len(by_worker) == 2 and all(by_worker.values()), hosts
    assert sum(by_worker.values()) == sum(hosts.values()), hosts

    # The ndc pages in the Airflow UI show this run's figures, in a real browser.
    _ndc_pages_in_a_browser(stack)


# --- The ndc pages in the Airflow UI, in a real browser, over the warehouse the run above left.

CHROMIUM = os.environ.get("NDC_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = REPO_ROOT / "test-artifacts" / "ui"
# Rows of every data-field cell of a table, by the row's data attribute (what a user reads).
_TABLE = """(rows, key) => Object.fromEntries(rows.map(r => [r.dataset[key],
    Object.fromEntries([...r.querySelectorAll('td[data-field]')]
        .map(td => [td.dataset.field, td.textContent.trim()]))]))"""


def _rows(conn, query: str, *params) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def _text(value) -> str:
    return "" if value is None else str(value)


def _ndc_pages_in_a_browser(stack):
    """Log in through Airflow's login page, open each ndc page from the menu's routes and check
    its figures against the warehouse; page the quarantine browser; download a discrepancy
    CSV; a page reached without a session is refused. Screenshots: test-artifacts/ui/.
    Part of the pipeline test (over the warehouse its run left), not a test of its own: a
    second test of the module could find the stack set up again, empty."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM} (scripts/chromium.sh installs Debian's, as root)")
    from playwright import sync_api as playwright

    settings, client, sources, *_ = stack
    url, ndc = client.url, f"{client.url}/ndc"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    warehouse = connect(settings.warehouse_url)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        # Without a session: refused, and nothing of the warehouse is shown.
        anonymous = browser.new_page()
        for path in ("/reconciliation", "/quarantine", "/discrepancies/residence.csv"):
            response = anonymous.goto(ndc + path)
            assert response.status == 401, (path, response.status)
            assert "Sign in to Airflow" in anonymous.content()
        anonymous.screenshot(path=ARTEFACTS / "refused.png")
        anonymous.close()

        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1400, "height": 900}
        )
        page = context.new_page()
        page.goto(f"{url}/auth/login")
        page.locator("input[name=username]").fill(ADMIN_USER)
        page.locator("input[name=password]").fill(admin_password(settings))
        page.locator("button[type=submit]").click()
        page.wait_for_url(lambda u: "/auth/login" not in u, timeout=30_000)
        assert any(c["name"] == "_token" for c in context.cookies())

        # The menu's page: the reconciliation in Airflow's frame, every batch's figures.
        page.goto(f"{url}/plugin/ndc-reconciliation")
        frame = page.frame_locator("iframe")
        frame.locator("#batches").wait_for(timeout=30_000)
        page.screenshot(path=ARTEFACTS / "menu-reconciliation.png", full_page=True)
        page.goto(f"{ndc}/reconciliation")
        shown = {}
        while True:  # 100 batches a page
            shown |= page.eval_on_selector_all("#batches tr[data-batch]", _TABLE, "batch")
            if page.locator("#next").count() == 0:
                break
            page.click("#next")
        expected = _rows(
            warehouse,
            "select l.batch_id, l.rows_at_source, l.rows_extracted, l.rows_landed, l.rows_loaded, "
            "r.rows_conformed, r.rows_quarantined, coalesce(r.rows_linked, 0), r.rows_merged "
            "from ops.load_ledger l left join ops.reconciliation r using (batch_id)",
        )
        assert len(shown) == len(expected) > 0
        for batch_id, *counts in expected:
            cells = shown[batch_id]
            assert [cells[f"rows_{s}"] for s in STAGES] == [_text(n) for n in counts], batch_id
            assert cells["balanced"] == "yes", batch_id
        page.screenshot(path=ARTEFACTS / "reconciliation.png", full_page=True)
        batch_id, landing_key, sha256 = _rows(
            warehouse, "select batch_id, landing_key, sha256 from ops.load_ledger limit 1"
        )[0]
        page.goto(f"{ndc}/reconciliation?page={1 + list(shown).index(batch_id) // 100}")
        page.click(f'tr[data-batch="{batch_id}"] a')
        assert page.text_content('td[data-field="landing_key"]') == landing_key
        assert page.text_content('td[data-field="sha256"]') == sha256
        page.screenshot(path=ARTEFACTS / "batch.png", full_page=True)

        # The quarantine browser: filtered by source, paged 10 at a time to the end.
        (source, total), *_ = _rows(
            warehouse,
            "select source, count(*) from quarantine.quarantined_rows "
            "group by source order by 2 desc limit 1",
        )
        page.goto(f"{ndc}/quarantine?size=10")
        assert page.text_content('[data-field="total"]') == _text(
            _rows(warehouse, "select count(*) from quarantine.quarantined_rows")[0][0]
        )
        page.select_option("select[name=source]", source)
        page.click("#filter")
        assert page.text_content('[data-field="total"]') == _text(total)
        page.screenshot(path=ARTEFACTS / "quarantine.png", full_page=True)
        keys = []
        for _ in range(total // 10 + 2):
            keys += page.eval_on_selector_all(
                "#rows tr[data-key]", "rs => rs.map(r => r.dataset.key)"
            )
            if page.locator("#next").count() == 0:
                break
            page.click("#next")
        assert keys == [
            f"{b}:{r}"
            for b, r in _rows(
                warehouse,
                "select _batch_id, _source_row from quarantine.quarantined_rows "
                "where source = %s order by _batch_id, _source_row",
                source,
            )
        ]
        # A row: as the source sent it, and the rule that rejected it.
        page.goto(f"{ndc}/quarantine?source={source}")
        page.click("#rows tr[data-key] td.n a")
        entity, b, r, reason, rule = _rows(
            warehouse,
            "select q.entity, q._batch_id, q._source_row, q.reason_code, c.description "
            "from quarantine.quarantined_rows q join dictionary.reason_codes c "
            "on c.code = q.reason_code where q.source = %s order by 2, 3 limit 1",
            source,
        )[0]
        assert page.text_content('[data-field="reason_code"]') == reason
        assert page.text_content('[data-field="rule"]') == rule
        assert page.text_content('td[data-field="_source_row"]') == str(r)
        page.screenshot(path=ARTEFACTS / "quarantined-row.png", full_page=True)

        # Discrepancies per agency, and one agency's CSV equal to its mart.
        page.goto(f"{ndc}/discrepancies")
        counts = page.eval_on_selector_all("#agencies tr[data-source]", _TABLE, "source")
        for name in sources:
            (n,) = _rows(warehouse, f"select count(*) from marts.discrepancies_{name}")[0]
            assert counts[name]["count"] == str(n), name
        page.screenshot(path=ARTEFACTS / "discrepancies.png", full_page=True)
        agency = max(counts, key=lambda s: int(counts[s]["count"]))
        with page.expect_download() as download:
            page.click(f'tr[data-source="{agency}"] a.csv')
        got = download.value.path().read_text(encoding="utf-8")
        cur = warehouse.execute(
            f"select * from marts.discrepancies_{agency} order by entity, record_key, discrepancy"
        )
        mart = [[_text(v) for v in row] for row in cur.fetchall()]
        assert list(csv.reader(got.splitlines())) == [[c.name for c in cur.description], *mart]
        # (The 300-person country of this module may hold no discrepancy: the CSV is then
        # its header; tests/integration/test_ui_pages.py compares one with rows.)
        assert len(mart) == int(counts[agency]["count"])

        # The scorecard (another DAG's mart: its table when built, "no scorecard yet" before).
        page.goto(f"{ndc}/scorecard")
        if warehouse.execute("select to_regclass('marts.quality_scorecard')").fetchone()[0]:
            assert page.locator("#scorecard tr").count() > 1
        else:
            assert "No scorecard yet" in page.content()
        page.screenshot(path=ARTEFACTS / "scorecard.png", full_page=True)
        page.goto(f"{ndc}/logs")
        page.screenshot(path=ARTEFACTS / "logs.png", full_page=True)
        for log in ("ops.sharing_log", "ops.access_log"):
            if not warehouse.execute("select to_regclass(%s)", (log,)).fetchone()[0]:
                assert f"{log} does not exist yet" in page.content()
        browser.close()

    # Each view of person rows was recorded, as the signed-in Airflow user.
    logged = _rows(warehouse, "select airflow_user, page from ops.ui_access_log")
    assert {p for _, p in logged} >= {"quarantine", "quarantine/row", "discrepancies.csv"}
    assert {u for u, _ in logged} == {ADMIN_USER}
    warehouse.close()
