"""``ndc registry``: the source registry."""

from __future__ import annotations

import click

from ndc.cli.common import registry_sources


@click.group()
def registry() -> None:
    """The source registry."""


@registry.command("check")
def registry_check() -> None:
    """Validate every registry file."""
    for name, source in registry_sources().items():
        click.echo(f"{name}: {source.kind.value}, {len(source.entities)} entities - ok")
