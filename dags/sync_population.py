"""
### sync_population: upsert the citizens mart into the population database

Runs when `transform` publishes a balanced `marts.citizens` (the `marts__citizens` Asset).
Streams the mart rows changed since the last sync (by the mart's `_changed_at` marker, from
the watermark stored in `ops.population_sync`; the whole mart when it has no marker) out of
the warehouse with COPY and upserts them into the population database's `citizen` table,
keyed by the personal ID number, in one transaction: new citizens inserted, changed ones
updated (a registered death sets the date of death), unchanged ones untouched. In the same
transaction, the golden record's attribute versions of the citizens whose versions changed
(`marts.citizen_attribute_versions`) go to `citizen_history` and `citizen_attribute`, and the
citizen columns whose authority is not the population database (commune, province, date of
death) take their current values. The population database stays the master of identity:
name, date of birth and sex are never overwritten. Re-running it changes nothing. When it
changed citizens it updates the `population__citizen` Asset, which triggers `transform` to
conform again the rows that look those citizens up (so the warehouse settles on what the sync
wrote); with nothing changed it is skipped and triggers nothing.

**Owner:** ndc data engineering. **When it fails:** check that the population database
(connection `ndc_population`) is reachable; the transaction was rolled back, so clear the task
to retry.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from ndc.assets import MART_CITIZENS, POPULATION_CITIZENS
from ndc.dag_defaults import DEFAULT_ARGS, START_DATE
from ndc.settings import POPULATION_CONN_ID, WAREHOUSE_CONN_ID


@dag(
    schedule=[MART_CITIZENS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["sync", "population"],
    doc_md=__doc__,
)
def sync_population():
    @task(outlets=[POPULATION_CITIZENS])
    def sync() -> dict:
        """Upsert the changed rows of marts.citizens into the population database's citizens."""
        from ndc.connections import postgres_url
        from ndc.population import sync_citizens

        result = sync_citizens(
            postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)),
            postgres_url(BaseHook.get_connection(POPULATION_CONN_ID)),
        )
        print(result.summary())
        if not result.changed:
            # Skipped, not succeeded: no population Asset event, so no settling transform.
            raise AirflowSkipException("the population database already holds the mart")
        return {
            "inserted": result.inserted,
            "updated": result.updated,
            "citizens": result.citizens,
            "citizens_updated_from_history": result.history.citizens_updated
            if result.history
            else 0,
        }

    sync()


sync_population()
