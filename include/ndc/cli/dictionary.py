"""``ndc dictionary``: the shared data dictionary."""

from __future__ import annotations

from pathlib import Path

import click

from ndc import settings as settings_mod


@click.group()
def dictionary() -> None:
    """The shared data dictionary."""


@dictionary.command("seeds")
def dictionary_seeds() -> None:
    """Regenerate the dbt seeds from the dictionary."""
    from ndc.dictionary import write_seeds

    for path in write_seeds(settings_mod.DBT_PROJECT_DIR / "seeds"):
        click.echo(f"wrote {path}")


@dictionary.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def dictionary_export(out_dir: Path) -> None:
    """Write the dictionary for agencies: index.html (searchable), elements.csv, code lists."""
    from ndc.dictionary import export

    for path in export(out_dir):
        click.echo(f"wrote {path}")
