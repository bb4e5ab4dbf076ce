"""``ndc population``: the population database."""

from __future__ import annotations

from pathlib import Path

import click

from ndc import settings as settings_mod
from ndc.cli.common import log
from ndc.cli.db import start_databases


@click.group()
def population() -> None:
    """The population database."""


@population.command("baseline")
@click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="Parquet snapshot [default: the generated population_db/baseline.parquet].",
)
def population_baseline(path: Path | None) -> None:
    """Load what the population database held before ndc ran (once, into an empty table)."""
    from ndc.stack import load_baseline_snapshot

    s = settings_mod.load()
    start_databases(s)
    load_baseline_snapshot(s, log, path)
