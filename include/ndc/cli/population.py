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


def load_baseline_snapshot(s: settings_mod.Settings, path: Path | None = None) -> None:
    from ndc.population import citizen_count, load_baseline

    path = path or s.data_dir / "population_db" / "baseline.parquet"
    if not path.exists():
        log(f"population: no baseline snapshot at {path}; starting empty")
        return
    loaded = load_baseline(s.population_url, path)
    if loaded:
        log(f"population: loaded the baseline snapshot, {loaded} citizens ({path})")
    else:
        log(
            f"population: already holds {citizen_count(s.population_url)} citizens; "
            "baseline left alone"
        )


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
    s = settings_mod.load()
    start_databases(s)
    load_baseline_snapshot(s, path)
