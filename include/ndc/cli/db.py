"""``ndc db``: the PostgreSQL server (embedded by default) and ndc's databases."""

from __future__ import annotations

import click

from ndc import settings as settings_mod
from ndc.cli.common import log, registry_sources


@click.group()
def db() -> None:
    """The PostgreSQL server (embedded by default) and ndc's databases."""


def start_databases(s: settings_mod.Settings) -> None:
    from ndc.stack import databases_up

    databases_up(s, registry_sources(), log=log)


@db.command("up")
def db_up() -> None:
    """Start the embedded server (if used) and create the databases and schemas."""
    start_databases(settings_mod.load())


@db.command("down")
def db_down() -> None:
    """Stop the embedded server."""
    from ndc import embedded

    s = settings_mod.load()
    click.echo("stopped" if s.embedded and embedded.stop(s.pgdata) else "not running")
