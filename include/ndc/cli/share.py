"""``ndc share``: deliver the sharing registry's files products by hand (the DAGs' code)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ndc import settings as settings_mod


@click.group()
def share() -> None:
    """Deliveries of data products to their consumers (share_<product> DAGs)."""


@share.command("run")
@click.argument("product")
@click.option("--full", is_flag=True, help="Every row of the product, not only what changed.")
@click.option(
    "--as-of",
    type=click.DateTime(),
    default=None,
    help="The delivery's reference time (UTC), which names its period [default: now].",
)
def share_run(product: str, full: bool, as_of: datetime | None) -> None:
    """Deliver PRODUCT to its consumer's landing area and record it in ops.sharing_log; a
    delivery already made for the period is not made again."""
    from ndc.sharing.delivery import DeliveryError, run_delivery
    from ndc.sharing.registry import SharingError

    when = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    try:
        result = run_delivery(settings_mod.load().warehouse_url, product, when, full=full)
    except (DeliveryError, SharingError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.summary())


@share.command("log")
def share_log() -> None:
    """The last delivery of every product (ops.sharing_log)."""
    from ndc.sharing.delivery import last_deliveries
    from ndc.warehouse import connect

    with connect(settings_mod.load().warehouse_url) as conn:
        for d in last_deliveries(conn):
            click.echo(
                f"{d['product']}: {d['delivery_id']} ({d['kind']}, {d['rows']} rows) to "
                f"{d['consumer']} at {d['delivered_at']:%Y-%m-%d %H:%M:%S%z}"
            )


def run_share_dags(client, log) -> dict[str, str]:
    """Run every share_<product> DAG once through Airflow and wait for it (``ndc demo``: the
    DAGs are paused at creation, so the transform's Asset events start none). Returns the
    run ids by DAG."""
    from ndc.sharing.registry import DeliveryKind, load_sharing_registry

    dag_ids = [
        f"share_{name}"
        for name, p in load_sharing_registry().items()
        if p.delivery.kind is DeliveryKind.FILES
    ]
    client.wait_for_dags(dag_ids)
    runs = {}
    for dag_id in dag_ids:
        client.unpause(dag_id)
        runs[dag_id] = client.trigger(dag_id)
        log(f"triggered {dag_id} ({runs[dag_id]})")
    for dag_id, run_id in runs.items():
        client.wait_run(dag_id, run_id, log=log)
    return runs
