"""
### ingest_&lt;source&gt;: extract a source system to the landing zone and load it to raw

One DAG per file in `include/sources/` (the source registry), generated here.

1. **extract**: reads the source named by the registry's `connection_id` in bounded chunks and
   lands Parquet batches with manifests in the landing zone (files: each new file once; SQL:
   rows past the last watermark, or a full snapshot).
2. **load**: COPYs every landed batch the warehouse does not hold yet into
   `raw.<source>__<entity>` (one transaction per batch, recorded in `ops.load_ledger`) and
   updates the source's raw Asset, which triggers `transform`. It finds them by the landing
   zone's `_pending/<source>/` markers (one per landed batch version, removed once loaded), so
   its cost follows the new batches, not every manifest ever landed; a batch whose load failed
   keeps its marker and is loaded by the next run. With nothing new to load it is skipped, and
   `transform` is not triggered.

**A bad file** (empty, a missing column, unreadable) does not stop the others: the extract
sets it aside with its reason (`quarantine/<source>/<entity>/` in the landing zone,
`ops.file_quarantine` in the warehouse, `ndc report`), logs a warning naming the file and row,
and succeeds, so the good files are loaded. The same bytes are skipped with the same reason by
later runs; drop a corrected file into the inbox and it lands normally.

**A warehouse restored from a backup, or a new one against an old landing zone:** trigger
the DAG with the param `rescan_landing` on. The load then reads every manifest of the source
once and loads each landed batch the warehouse's ledger lacks (the pending markers of the
batches loaded after the backup are gone), then goes back to the markers.

**Owner:** ndc data engineering. **When it fails:** the task log names the source, file and
row. Fix the source (or the registry file) and clear the failed task: landing and loading
are idempotent, nothing is duplicated. Other sources are not affected.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from ndc.assets import raw_asset
from ndc.dag_defaults import DEFAULT_ARGS, START_DATE
from ndc.registry import Source, load_registry
from ndc.settings import WAREHOUSE_CONN_ID


def build_ingest_dag(source: Source):
    @dag(
        dag_id=f"ingest_{source.name}",
        schedule=source.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["ingest", source.kind.value, source.name],
        doc_md=f"{__doc__}\n\n**Source:** {source.title}, owned by {source.owner_agency}. "
        f"**Legal basis:** {source.legal_basis}.",
        params={
            "rescan_landing": Param(
                False,
                type="boolean",
                description="Load every landed batch the warehouse's ledger lacks, read from "
                "every manifest (after restoring the warehouse), not only the pending ones.",
            )
        },
    )
    def ingest():
        @task
        def extract() -> dict:
            """Land new batches of every entity; set bad files aside (with a warning) and fail
            only when a source itself cannot be read, after landing the good batches."""
            from ndc.connections import source_location
            from ndc.extract import ExtractError, extract_source
            from ndc.landing import landing_from_settings

            # The landing day is the run's, so a retry of the run lands the same keys.
            day = get_current_context()["dag_run"].run_after.date().isoformat()
            location = source_location(BaseHook.get_connection(source.connection_id))
            result = extract_source(source, location, landing_from_settings(), day)
            print(result.summary())
            if result.errors:
                raise ExtractError("\n".join(result.errors))
            return {
                "batches": [m.batch_id for m in result.landed],
                "rows": result.rows,
                "set_aside": [r.file for r in result.set_aside],
            }

        @task(outlets=[raw_asset(source.name)])
        def load(extracted: dict, params: dict | None = None) -> dict:
            """COPY every landed batch not yet in the warehouse into the raw tables."""
            from ndc import settings
            from ndc.connections import postgres_url
            from ndc.landing import landing_from_settings
            from ndc.load import load_source
            from ndc.registry import load_registry
            from ndc.warehouse import bootstrap

            warehouse = postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID))
            bootstrap(warehouse, load_registry())
            role = settings.load().loader_role  # ndc_loader when configured (README, Protection)
            rescan = bool((params or {}).get("rescan_landing"))
            result = load_source(
                warehouse, landing_from_settings(), source, rescan=rescan, role=role
            )
            print(result.summary())
            if not result.loaded:
                # Skipped, not succeeded: no raw Asset event, so no transform for nothing.
                raise AirflowSkipException(f"{source.name}: nothing new to load")
            return {"batches": [b for b, _ in result.loaded], "rows": result.rows}

        load(extract())

    return ingest()


for _source in load_registry().values():
    globals()[f"ingest_{_source.name}"] = build_ingest_dag(_source)
