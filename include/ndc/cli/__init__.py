"""The ``ndc`` command: generate sources, run the embedded default, report, benchmark.

One module per command group; this one gathers them under :func:`main`.
"""

from __future__ import annotations

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
from ndc.cli.review import review
from ndc.cli.serve import serve
from ndc.cli.sharing import sharing
from ndc.cli.source import source
from ndc.cli.sources import sources


@click.group()
def main() -> None:
    """ndc: consolidate sectoral and local data into the national data center."""


for command in (
    generate,
    report,
    reconcile_cmd,
    registry,
    sharing,
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
):
    main.add_command(command)
