"""``ndc run``, ``ndc transform``, ``ndc demo``: the flow through the running Airflow."""

from __future__ import annotations

import click

from ndc import settings as settings_mod
from ndc.cli.common import log, registry_sources
from ndc.cli.data import generate, report
from ndc.cli.sources import source_processes, start_sources


@click.command()
def run() -> None:
    """Trigger every ingest DAG through Airflow's REST API and wait for transform and sync."""
    from ndc.airflow_runtime import ADMIN_USER, AirflowClient, admin_password
    from ndc.flow import run_flow

    s = settings_mod.load()
    client = AirflowClient(f"http://localhost:{s.airflow_port}", ADMIN_USER, admin_password(s))
    run_flow(client, list(registry_sources()), log=log)


@click.command()
@click.option(
    "--full-refresh",
    is_flag=True,
    help="dbt build --full-refresh: rebuild every incremental model from all raw rows.",
)
def transform(full_refresh: bool) -> None:
    """Run the transform DAG now (through the running Airflow) and wait for it to finish."""
    from ndc.airflow_runtime import ADMIN_USER, AirflowClient, AirflowError, admin_password

    s = settings_mod.load()
    client = AirflowClient(f"http://localhost:{s.airflow_port}", ADMIN_USER, admin_password(s))
    client.wait_for_dags(["transform"])
    client.unpause("transform")
    run_id = client.trigger("transform", conf={"full_refresh": full_refresh})
    log(f"triggered transform ({run_id}{', full refresh' if full_refresh else ''})")
    try:
        run = client.wait_run("transform", run_id, log=log)
    except AirflowError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"transform {run_id}: {run['state']}")


@click.command()
@click.option("--persons", default=1000, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--days", default=3, show_default=True)
@click.option("--keep-up", is_flag=True, help="Leave Airflow running afterwards.")
@click.pass_context
def demo(ctx: click.Context, persons: int, seed: int, days: int, keep_up: bool) -> None:
    """The whole flow on the embedded default, end to end through Airflow, then the report."""
    from ndc.airflow_runtime import down, running
    from ndc.cli.serve import serve_demo
    from ndc.cli.share import run_share_dags
    from ndc.flow import run_flow
    from ndc.stack import stack_up

    s = settings_mod.load()
    sources = registry_sources()
    ctx.invoke(generate, persons=persons, seed=seed, days=days, out=None, target=())
    start_sources(s)
    was_running = bool(running(s))
    client = stack_up(s, sources, log)
    try:
        run_flow(client, list(sources), log=log)
        run_share_dags(client, log)  # the sharing products' first deliveries
        ctx.invoke(serve_demo)  # and the lookup service, for the api products
    finally:
        if not (keep_up or was_running):
            down(s, log=log)
            source_processes(s).stop(["education_api"])
    click.echo("")
    ctx.invoke(report, as_json=False)
