"""``ndc sharing``: the sharing registry (include/sharing/)."""

from __future__ import annotations

import click


def sharing_products() -> dict:
    from ndc.sharing.registry import load_sharing_registry

    return load_sharing_registry()


@click.group()
def sharing() -> None:
    """The sharing registry: data products for agencies and the public."""


@sharing.command("list")
def sharing_list() -> None:
    """One line per product: consumer, level, delivery, legal basis."""
    for name, p in sharing_products().items():
        elements = [
            *p.elements,
            *(d.column or d.element for d in (p.aggregation.group_by if p.aggregation else [])),
        ]
        delivery = p.delivery.kind.value
        if p.delivery.format:
            delivery += f" ({p.delivery.format} to {p.delivery.target} {p.delivery.location})"
        click.echo(f"{name}")
        click.echo(f"  consumer:  {p.consumer.agency} - {p.consumer.name}")
        click.echo(f"  level:     {p.level.value}{' (open data)' if p.open_data else ''}")
        click.echo(f"  elements:  {', '.join(elements)}")
        click.echo(f"  delivery:  {delivery}{', ' + p.frequency if p.frequency else ''}")
        click.echo(f"  basis:     {p.cite()}")
        click.echo(f"  purpose:   {p.purpose}")


@sharing.command("check")
def sharing_check() -> None:
    """Validate every product against the model and the data dictionary."""
    from ndc.sharing.registry import SharingError

    try:
        products = sharing_products()
    except SharingError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, p in products.items():
        click.echo(f"{name}: {p.level.value}, {p.delivery.kind.value}, {p.consumer.agency} - ok")
