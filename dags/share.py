"""
### share_&lt;product&gt;: deliver a data product to its consumer's landing area

One DAG per files product in `include/sharing/` (the sharing registry), generated here. It
runs when `transform` publishes the mart the product reads (the `marts__<model>` Asset, after
a balanced run), and delivers at most once per period of the product's frequency (a day, a
month): the delivery id is that period, so the later transforms of the same period find it
delivered and are skipped.

**deliver** evaluates the product in the warehouse (only the registry's elements under its
row filter, or its aggregation with small counts suppressed), compares it with what the
consumer holds after its last delivery and writes what changed (a `_change` column: added,
changed, removed; an empty file when nothing did) or, the first time and with the param
`full_snapshot`, every row, as Parquet or CSV with a JSON manifest (product, consumer, legal
basis, purpose, columns, rows, sha256, window). The delivery is recorded in `ops.sharing_log`
(rows, sha256 of each file, kind, time) in the transaction that records what the consumer now
holds. `ndc share run <product> [--full]` runs the same code by hand.

**Owner:** ndc data engineering. **When it fails:** the log names the product and the cause
(a missing mart column, the consumer's bucket unreachable: `NDC_SHARING_<PRODUCT>_URL` and
`_S3_*`). Nothing was logged, so clear the task: the retry writes the same files; a delivery
already logged is not made twice.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from ndc.assets import reads_asset
from ndc.dag_defaults import DEFAULT_ARGS, START_DATE
from ndc.settings import WAREHOUSE_CONN_ID
from ndc.sharing.registry import DeliveryKind, Product, load_sharing_registry


def build_share_dag(product: Product):
    @dag(
        dag_id=f"share_{product.name}",
        schedule=[reads_asset(product.reads)],
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["share", product.level.value, product.consumer.agency],
        doc_md=f"{__doc__}\n\n**Product:** {product.title}. **Consumer:** "
        f"{product.consumer.name}. **Legal basis:** {product.cite()}. **Delivery:** "
        f"{product.delivery.format} to {product.delivery.target} {product.delivery.location}, "
        f"{product.frequency}.",
        params={
            "full_snapshot": Param(
                False,
                type="boolean",
                description="Deliver every row of the product, not only what changed.",
            )
        },
    )
    def share():
        @task
        def deliver(params: dict | None = None) -> dict:
            """Deliver what changed since the consumer's last delivery (or a full snapshot)."""
            from ndc.connections import postgres_url
            from ndc.sharing.delivery import run_delivery

            # The run's time, not now(): a retry of the run makes the same delivery.
            as_of = get_current_context()["dag_run"].run_after
            result = run_delivery(
                postgres_url(BaseHook.get_connection(WAREHOUSE_CONN_ID)),
                product.name,
                as_of,
                full=bool((params or {}).get("full_snapshot")),
            )
            print(result.summary())
            if result.already:
                raise AirflowSkipException(f"{result.delivery_id} is already delivered")
            return {"delivery_id": result.delivery_id, "kind": result.kind, "rows": result.rows}

        deliver()

    return share()


for _product in load_sharing_registry().values():
    if _product.delivery.kind is DeliveryKind.FILES:
        globals()[f"share_{_product.name}"] = build_share_dag(_product)
