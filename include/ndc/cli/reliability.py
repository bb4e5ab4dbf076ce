"""``ndc reliability``: the figures of what bad input does (the bad-input corpus)."""

from __future__ import annotations

import json
import uuid

import click

from ndc import settings as settings_mod


@click.command()
@click.option(
    "--corpus-only",
    is_flag=True,
    required=True,
    help="Run the bad-input corpus only (the fault-injection cases are not built yet).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def reliability(corpus_only: bool, as_json: bool) -> None:
    """Run the bad-input corpus (tests/corpus/bad_input) through the real extract and load,
    into a throw-away database beside the warehouse, and print its figures."""
    from ndc.reliability.corpus import run_corpus, summarise
    from ndc.warehouse import drop_database, ensure_database

    s = settings_mod.load()
    url = f"{s.server_url}/{s.db_prefix}_corpus_{uuid.uuid4().hex[:8]}"
    ensure_database(url)
    try:
        outcomes = run_corpus(url)
    finally:
        drop_database(url)
    summary = summarise(outcomes)
    if as_json:
        click.echo(json.dumps({"corpus": summary}, indent=2))
        return
    for o in outcomes:
        click.echo(f"{o.outcome:9} {o.reason or '':20} {o.case.source}/{o.case.name}")
    click.echo(
        f"\ncorpus: {summary['files']} files tried, {summary['quarantined']} set aside, "
        f"{summary['clear_errors']} clear errors, {summary['loaded']} loaded, "
        f"{summary['crashes']} crashes; rows in {summary['rows_in']} = loaded "
        f"{summary['rows_loaded']} + set aside or in error {summary['rows_set_aside']}: "
        f"{'balanced' if summary['balanced'] else 'NOT BALANCED'}"
    )
    if summary["crashes"]:
        raise click.ClickException(f"{summary['crashes']} crash(es) in the corpus")
