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
    from ndc.dictionary.seeds import write_seeds

    for path in write_seeds(settings_mod.DBT_PROJECT_DIR / "seeds"):
        click.echo(f"wrote {path}")


@dictionary.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def dictionary_export(out_dir: Path) -> None:
    """Write the dictionary for agencies: index.html (searchable), elements.csv, code lists."""
    from ndc.dictionary.publish import export

    for path in export(out_dir):
        click.echo(f"wrote {path}")


@dictionary.command("build")
def dictionary_build() -> None:
    """Regenerate the big code lists (CSV) from package data."""
    from ndc.dictionary.generated import build

    for path in build():
        click.echo(f"wrote {path}")


@dictionary.command("check")
def dictionary_check() -> None:
    """Report the dbt docs of the citizens mart that drift from the dictionary (exit 1 if any)."""
    from ndc.dictionary.checks import check_dbt_docs

    problems = check_dbt_docs()
    for problem in problems:
        click.echo(problem)
    if problems:
        raise SystemExit(1)
