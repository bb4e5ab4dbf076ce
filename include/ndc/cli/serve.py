"""``ndc serve``: the once-only lookup service, and its agencies' API keys."""

from __future__ import annotations

import click

from ndc import settings as settings_mod
from ndc.cli.common import log


def _warehouse(s: settings_mod.Settings) -> str:
    from ndc.cli.db import start_databases
    from ndc.sharing.audit import ensure_tables

    start_databases(s)
    ensure_tables(s.warehouse_url)
    return s.warehouse_url


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the lookup service: GET /v1/citizens/{personal_id}?fields=...&purpose=...

    Rate limit per agency: NDC_API_RATE requests/s, bursts of NDC_API_BURST.
    """
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from ndc.sharing.registry import load_sharing_registry
    from ndc.sharing.service import create_app

    s = settings_mod.load()
    _warehouse(s)
    app = create_app(
        s.warehouse_url, s.population_url, load_sharing_registry(), s.api_rate, s.api_burst
    )
    log(f"lookup service on http://{host}:{port} (OpenAPI: /openapi.json)")
    uvicorn.run(app, host=host, port=port)


@serve.command("demo")
def serve_demo() -> None:
    """Show the service at work: a key for an entitled agency and one for an agency without a
    legal basis, ndc serve on a free port, one lookup each (200, then 403), both calls in
    ops.access_log; the keys are revoked and the server stopped afterwards."""
    from ndc.sharing.demo import LookupDemoError, format_summary, run_lookup_demo

    s = settings_mod.load()
    _warehouse(s)
    try:
        result = run_lookup_demo(s, log=log)
    except LookupDemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_summary(result))


@serve.group("key")
def key() -> None:
    """The agencies' API keys (stored as salted hashes in ops.api_key)."""


@key.command("create")
@click.argument("agency")
def key_create(agency: str) -> None:
    """Create a key for a consumer agency of the sharing registry; printed once."""
    from ndc.sharing.keys import create_key
    from ndc.sharing.registry import api_products, consumers, load_sharing_registry
    from ndc.warehouse import connect

    products = load_sharing_registry()
    known = consumers(products)
    if agency not in known:
        raise click.ClickException(
            f"{agency!r} is no consumer agency of the sharing registry: {sorted(known)}"
        )
    if not api_products(products, agency):
        log(f"warning: {agency} has no api product yet: every lookup will be refused (403)")
    with connect(_warehouse(settings_mod.load())) as conn:
        secret = create_key(conn, agency)
    log(f"key for {agency} ({known[agency]}); shown once, keep it in the agency's vault")
    click.echo(secret)


@key.command("list")
def key_list() -> None:
    """Every key: id, agency, created, revoked."""
    from ndc.sharing.keys import list_keys
    from ndc.warehouse import connect

    with connect(_warehouse(settings_mod.load())) as conn:
        for k in list_keys(conn):
            revoked = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            click.echo(f"{k.key_id}  {k.agency}  created {k.created_at:%Y-%m-%d %H:%M}  {revoked}")


@key.command("revoke")
@click.argument("key_id")
def key_revoke(key_id: str) -> None:
    """Revoke a key by its id (the 12 hex digits after ndc_)."""
    from ndc.sharing.keys import revoke_key
    from ndc.warehouse import connect

    with connect(_warehouse(settings_mod.load())) as conn:
        if not revoke_key(conn, key_id):
            raise click.ClickException(f"no active key {key_id!r}")
    click.echo(f"{key_id} revoked")
