"""
### quality_scorecard: hold every agency to the six properties' targets

Runs when `transform` publishes a balanced build (the `marts__citizens` Asset). The
scorecard itself, `marts.quality_scorecard`, is built by the transform's `dbt build` (one
row per source, entity, extraction day and measure: correct, sufficient, clean, live,
unified, shared; measures and targets in `include/dictionary/quality_measures.yaml`); this DAG
only reads it, so a missed target never fails the transform or holds back the population sync.

One **check_<source>** task per source agency reads that source's latest day and fails
naming the agency, each entity and measure below its target, the figure and its counts
(e.g. `Ministry of Justice (Bộ Tư pháp) (civil_registration): civil_registration.birth
clean/conformed_share on 2025-07-01 is 0.75 (9 of 12), target >= 0.95`). Measures the
platform cannot measure yet (an expected population count no source declares) say
`not_measured` and are not checked. **check_sharing** holds the platform's own deliveries to
the shared property: it fails naming each data product and its consumer whose latest
delivery period was missed, late or short of an element (the scorecard's source `sharing`,
read live: a delivery made after the transform counts at once).

**Owner:** ndc data engineering. **When it fails:** the failed task's log names the agency and
the figures; send them to the agency (the discrepancy marts and `quarantine.quarantined_rows`
hold the records behind them), or change a target in the dictionary if the standard changed.
A retry re-reads the same scorecard: it passes only after a transform with better data.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, dag, task

from ndc.assets import MART_CITIZENS
from ndc.dag_defaults import DEFAULT_ARGS, START_DATE
from ndc.registry import load_registry
from ndc.settings import WAREHOUSE_CONN_ID


@dag(
    schedule=[MART_CITIZENS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["quality", "scorecard"],
    doc_md=__doc__,
)
def quality_scorecard():
    for source in load_registry().values():

        @task(task_id=f"check_{source.name}")
        def check(name: str, agency: str) -> dict:
            """Fail naming the agency and each figure of its latest day below target."""
            from ndc.connections import postgres_url
            from ndc.scorecard import check_source

            figures = check_source(
                postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)), name, agency
            )
            measured = [f for f in figures if f.status == "measured"]
            print(f"{agency} ({name}): {len(measured)} figure(s) on target")
            for f in figures:
                print(f.describe(agency), f"[{f.status}]")
            return {"measured": len(measured), "figures": len(figures)}

        check(source.name, source.owner_agency)

    @task
    def check_sharing() -> dict:
        """Fail naming each data product (and its consumer) whose latest delivery period was
        missed, late or short of an element."""
        from ndc.connections import postgres_url
        from ndc.scorecard import check_sharing as check
        from ndc.sharing.registry import load_sharing_registry

        consumers = {name: p.consumer.name for name, p in load_sharing_registry().items()}
        figures = check(postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)), consumers)
        if not figures:
            print("no data product has been delivered yet: nothing to check")
        for f in figures:
            print(f.describe(f"deliveries to {consumers.get(f.entity)}"), f"[{f.status}]")
        return {"figures": len(figures)}

    check_sharing()


quality_scorecard()
