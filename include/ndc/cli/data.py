"""``ndc generate``, ``ndc report``, ``ndc reconcile``: the synthetic sources and what the
warehouse holds of them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ndc import settings as settings_mod
from ndc.cli.common import log, registry_sources


@click.command()
@click.option("--persons", default=1000, show_default=True, help="Persons in the ground truth.")
@click.option("--seed", default=42, show_default=True)
@click.option("--days", default=3, show_default=True, help="Days of changes after the baseline.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: NDC_DATA_DIR or NDC_HOME/sources].",
)
@click.option(
    "--target",
    multiple=True,
    metavar="SOURCE=URL",
    help="Write a SQL source to this SQLAlchemy URL instead of SQLite.",
)
def generate(persons: int, seed: int, days: int, out: Path | None, target: tuple[str, ...]) -> None:
    """Generate the synthetic source systems (and their ground truth)."""
    from ndc.synthetic import generate as run

    out = out or settings_mod.load().data_dir
    targets = dict(t.split("=", 1) for t in target)
    log(f"generating {persons} persons (seed {seed}, {days} days) into {out}")
    summary = run(out, persons=persons, seed=seed, days=days, targets=targets or None)
    click.echo(summary.as_table())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def report(as_json: bool) -> None:
    """Rows per source and entity at every stage, the reconciliation, the citizen count and
    the discrepancies per source agency, by kind."""
    from ndc.report import build_report, format_report

    s = settings_mod.load()
    data = build_report(s.warehouse_url, s.population_url, registry_sources())
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else format_report(data))


@click.command("reconcile")
@click.option(
    "--all", "everything", is_flag=True, help="Check every batch ever loaded, not only new ones."
)
def reconcile_cmd(everything: bool) -> None:
    """Check per batch that extracted = landed = loaded = conformed + quarantined + linked +
    merged and store it in ops.reconciliation: the batches not checked yet that the staging
    models hold, or with --all every batch. Fails naming each batch that does not balance."""
    from ndc.reconcile import ReconciliationError, reconcile

    try:
        balances = reconcile(settings_mod.load().warehouse_url, registry_sources(), everything)
    except ReconciliationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(balances)} batch(es) checked, all balanced")
    if balances.waiting:
        click.echo(
            f"{len(balances.waiting)} batch(es) not conformed yet (loaded after the staging "
            f"models ran): {', '.join(balances.waiting)}"
        )
