"""``ndc citizen``: one citizen's golden record in the population database (every read logged)."""

from __future__ import annotations

import getpass
import json
import os
from datetime import date, datetime

import click

from ndc import settings as settings_mod
from ndc.cli.db import start_databases


@click.group()
def citizen() -> None:
    """A citizen's golden record in the population database."""


@citizen.command("show")
@click.argument("personal_id")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Show the state on this date (YYYY-MM-DD), rebuilt from citizen_history.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.option(
    "--requested-by",
    default=None,
    help="Who asks, recorded in audit.person_read [default: the OS user].",
)
@click.option("--purpose", default=None, help="Why, recorded in audit.person_read.")
def citizen_show(
    personal_id: str,
    as_of: datetime | None,
    as_json: bool,
    requested_by: str | None,
    purpose: str | None,
) -> None:
    """Print PERSONAL_ID's golden record: identity, each attribute with its provenance
    (source, batch, record key, the date it took effect), and its history. The read is
    recorded in the population database's audit.person_read."""
    from ndc.citizen_record import read_citizen, render

    s = settings_mod.load()
    if s.embedded and not os.environ.get("NDC_POPULATION_URL"):
        start_databases(s)
    day: date | None = as_of.date() if as_of else None
    record = read_citizen(
        s.population_url,
        personal_id,
        requested_by=requested_by or getpass.getuser(),
        as_of=day,
        purpose=purpose,
    )
    if record is None:
        raise click.ClickException(f"no citizen {personal_id} in the population database")
    click.echo(json.dumps(record, ensure_ascii=False, indent=2) if as_json else render(record))
