"""The ``ndc`` command: generate sources, run the embedded default, report, benchmark.

One module per command group; this one gathers them under :func:`main`.
"""

from __future__ import annotations

import os

import click

from ndc.cli.airflow import airflow
from ndc.cli.bench import bench
from ndc.cli.citizen import citizen
from ndc.cli.data import generate, reconcile_cmd, report
from ndc.cli.db import db
from ndc.cli.dictionary import dictionary
from ndc.cli.evaluate import evaluate
from ndc.cli.pipeline import demo, run, transform
from ndc.cli.population import population
from ndc.cli.registry import registry
from ndc.cli.reliability import reliability
from ndc.cli.review import review
from ndc.cli.serve import serve
from ndc.cli.share import share
from ndc.cli.sharing import sharing
from ndc.cli.source import source
from ndc.cli.sources import sources


class _Main(click.Group):
    """The command group, catching a failure at the CLI boundary: the user gets its message
    and exit status 1, not a traceback (kept for ``ndc -v`` and ``NDC_DEBUG=1``)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("verbose") or os.environ.get("NDC_DEBUG", "") not in ("", "0"):
                raise
            raise click.ClickException(error_message(exc)) from exc


def error_message(exc: Exception) -> str:
    """What a user reads of a failure: ndc's own errors (their message names the source, file
    and row) as they are, anything else with its type."""
    own = type(exc).__module__.startswith("ndc.")
    message = str(exc) if own and str(exc) else f"{type(exc).__name__}: {exc}"
    return f"{message}\n(ndc -v or NDC_DEBUG=1 shows the traceback)"


@click.group(cls=_Main)
@click.option("-v", "--verbose", is_flag=True, help="Show the traceback of a failure.")
def main(verbose: bool) -> None:
    """ndc: consolidate sectoral and local data into the national data center."""


for command in (
    generate,
    report,
    reconcile_cmd,
    registry,
    sharing,
    share,
    serve,
    dictionary,
    population,
    citizen,
    review,
    sources,
    source,
    db,
    airflow,
    run,
    transform,
    demo,
    evaluate,
    bench,
    reliability,
):
    main.add_command(command)
