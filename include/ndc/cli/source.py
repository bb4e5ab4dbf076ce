"""``ndc source``: onboarding one source."""

from __future__ import annotations

import click

from ndc.scaffold import KINDS, Column, ScaffoldError, propose, read_table, write


@click.group()
def source() -> None:
    """Onboard a source: `ndc source new` writes its registry file and staging folder."""


@source.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="How ndc reaches it.")
@click.option("--entity", help="The entity (one table, file family or endpoint); default NAME.")
@click.option("--from-url", "url", help="SQL: the source database (SQLAlchemy URL) to read.")
@click.option("--table", help="SQL: the table to read columns, key and types from.")
@click.option("--columns", help="Comma-separated column names (without --from-url).")
@click.option("--primary-key", "primary_key", help="Comma-separated key columns.")
def source_new(name, kind, entity, url, table, columns, primary_key) -> None:
    """Scaffold source NAME: include/sources/NAME.yaml with a proposed column contract, and
    dbt_project/models/staging/NAME/ (its raw source, a staging model generated from the
    contract, tests). Then edit the TODOs and the proposal, and `make install`."""
    try:
        if url:
            if kind != "sql" or not table:
                raise ScaffoldError("--from-url reads a SQL source's table: --kind sql --table T")
            cols, pk = read_table(url, table)
        else:
            cols = [Column(c.strip()) for c in (columns or "").split(",") if c.strip()]
            pk = []
        if primary_key:
            pk = [k.strip() for k in primary_key.split(",") if k.strip()]
        proposal = propose(name, kind, entity or name, cols, pk, table)
        written = write(proposal)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(f"wrote {path}")
    for column, spec in proposal.conform.items():
        click.echo(f"  proposed: {column} -> {spec['to']} ({spec['kind']})")
    click.echo("next: fill in the TODOs, check the proposal, `make install`, `make test`")
