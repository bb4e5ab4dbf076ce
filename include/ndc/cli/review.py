"""``ndc review``: clerical review of the links linkage was not sure enough to make."""

from __future__ import annotations

import getpass
import json
import os

import click

from ndc import settings as settings_mod
from ndc.cli.db import start_databases


def _warehouse_url() -> str:
    s = settings_mod.load()
    if s.embedded and not os.environ.get("NDC_WAREHOUSE_URL"):
        start_databases(s)
    return s.warehouse_url


@click.group()
def review() -> None:
    """The review queue of record links (ops.link_review)."""


@review.command("list")
@click.option("--all", "everything", is_flag=True, help="Decided links too.")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
def review_list(everything: bool, as_json: bool) -> None:
    """The links waiting for a decision, oldest first."""
    from ndc.linkage.review import list_reviews

    rows = list_reviews(_warehouse_url(), everything=everything)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{'id':>6}  {'record':<48}  {'candidate':<12}  {'prob':>6}  decision")
    for r in rows:
        record = f"{r['source']}.{r['entity']} {r['_batch_id']}#{r['_source_row']}"
        decision = f"{r['decision']} by {r['decided_by']}" if r["decision"] else "-"
        click.echo(
            f"{r['review_id']:>6}  {record:<48}  {r['personal_id']:<12}  "
            f"{r['match_probability'] or 0:>6.3f}  {decision}"
        )
    click.echo(f"{len(rows)} link(s)")


@review.command("show")
@click.argument("review_id", type=int)
def review_show(review_id: int) -> None:
    """One queued link: the record, the candidate citizen, the probability."""
    from ndc.linkage.review import ReviewError, show_review

    try:
        r = show_review(_warehouse_url(), review_id)
    except ReviewError as err:
        raise click.ClickException(str(err)) from err
    click.echo(json.dumps(r, ensure_ascii=False, indent=2, default=str))


def _decide(review_id: int, decision: str, by: str | None) -> None:
    from ndc.linkage.review import ReviewError, decide

    try:
        r = decide(_warehouse_url(), review_id, decision, by or getpass.getuser())
    except ReviewError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"review {review_id}: {r['decision']} by {r['decided_by']} "
        f"({r['source']}.{r['entity']} {r['_batch_id']}#{r['_source_row']} -> {r['personal_id']})"
    )


_BY = click.option("--by", default=None, help="Who decides [default: the OS user].")


@review.command("accept")
@click.argument("review_id", type=int)
@_BY
def review_accept(review_id: int, by: str | None) -> None:
    """Accept a link: the record leaves quarantine in the next transform."""
    _decide(review_id, "accept", by)


@review.command("reject")
@click.argument("review_id", type=int)
@_BY
def review_reject(review_id: int, by: str | None) -> None:
    """Reject a link: the record stays quarantined with its reason."""
    _decide(review_id, "reject", by)
