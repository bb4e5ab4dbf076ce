"""``ndc evaluate``: the whole pipeline on a synthetic country, scored against its truth."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ndc import settings as settings_mod
from ndc.cli.common import log, stdout_to_stderr


@click.command()
@click.option("--persons", default=2000, show_default=True, help="Persons in the fresh country.")
@click.option("--seed", default=42, show_default=True)
@click.option("--days", default=3, show_default=True, help="Days of changes after the baseline.")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="A country written by `ndc generate` (with its truth/) instead of a fresh one.",
)
@click.option(
    "--daily/--at-once",
    default=True,
    show_default=True,
    help="Days arrive one at a time (each through the whole flow), or all at once.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--cleanup", is_flag=True, help="Drop the evaluation's databases and files afterwards."
)
def evaluate(
    persons: int,
    seed: int,
    days: int,
    data_dir: Path | None,
    daily: bool,
    as_json: bool,
    cleanup: bool,
) -> None:
    """Run the whole pipeline on a synthetic country in databases and an Airflow of its own
    (NDC_HOME/evaluate, databases <NDC_DB_PREFIX>_eval_*) and score it against the ground
    truth: per defect class the share handled as expected, and the share of clean records
    wrongly quarantined, merged, reported or altered."""
    from ndc.evaluate.outputs import read_linkage_cases
    from ndc.evaluate.pipeline import run_pipeline
    from ndc.evaluate.score import format_table, score

    started = time.monotonic()
    # Whatever the pipeline's libraries print (log handlers bound to stdout, subprocesses)
    # goes to stderr: stdout is for the result alone.
    with stdout_to_stderr():
        try:
            data_dir, truth, outputs, error = run_pipeline(
                settings_mod.load(),
                persons=persons,
                seed=seed,
                days=days,
                data_dir=data_dir,
                log=log,
                cleanup=cleanup,
                daily=daily,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    log("scoring against the ground truth")
    result = score(truth, outputs, read_linkage_cases(data_dir))
    result["data"] = str(data_dir)
    result["seconds"] = round(time.monotonic() - started, 1)
    if error:
        result["pipeline_error"] = error
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(format_table(result))
        click.echo(f"data: {data_dir}; {result['seconds']} s")
    if error:
        raise click.ClickException(f"the pipeline failed: {error}")
