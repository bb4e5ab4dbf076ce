"""``ndc reliability``: what faults and bad input do to the data, measured.

The fault cases (ndc.reliability.process_cases, and ndc.reliability.source_cases when present)
run through the real path in a stack of their own (ndc.reliability.runner); the bad-input
corpus through the real extract and load; the soak, N days with faults, against a clean run."""

from __future__ import annotations

import json
import time
import uuid

import click

from ndc import settings as settings_mod
from ndc.cli.common import log, stdout_to_stderr


def _corpus() -> tuple[dict, list]:
    """The bad-input corpus into a throw-away database beside the warehouse."""
    from ndc.reliability.corpus import run_corpus, summarise
    from ndc.warehouse import drop_database, ensure_database

    s = settings_mod.load()
    url = f"{s.server_url}/{s.db_prefix}_corpus_{uuid.uuid4().hex[:8]}"
    ensure_database(url)
    try:
        outcomes = run_corpus(url)
    finally:
        drop_database(url)
    return summarise(outcomes), outcomes


def _corpus_line(summary: dict) -> str:
    return (
        f"corpus: {summary['files']} files tried, {summary['quarantined']} set aside, "
        f"{summary['clear_errors']} clear errors, {summary['loaded']} loaded, "
        f"{summary['crashes']} crashes; rows in {summary['rows_in']} = loaded "
        f"{summary['rows_loaded']} + set aside or in error {summary['rows_set_aside']}: "
        f"{'balanced' if summary['balanced'] else 'NOT BALANCED'}"
    )


def _table(cases: list[dict]) -> str:
    head = ("case", "rows lost", "rows duplicated", "recovered automatically", "seconds to recover")
    rows = [
        (
            c["case"],
            str(c["rows_lost"]),
            str(c["rows_duplicated"]),
            "yes" if c["recovered"] else "no",
            "-" if c["recover_s"] is None else f"{c['recover_s']:.2f}",
        )
        for c in cases
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(line.format(*r).rstrip() for r in [head, *rows])


@click.command()
@click.option("--bounded", is_flag=True, help="Only the cases cheap enough for CI.")
@click.option("--soak", is_flag=True, help="Also the soak: --days days of changes with faults.")
@click.option(
    "--cases",
    "names",
    default=None,
    help="Comma-separated case names (default: all; none: the soak alone).",
)
@click.option("--corpus-only", is_flag=True, help="Only the bad-input corpus (seconds).")
@click.option("--persons", default=300, show_default=True, help="The cases' country.")
@click.option("--days", default=30, show_default=True, help="Soak: days of changes.")
@click.option("--soak-persons", default=100_000, show_default=True, help="Soak: persons.")
@click.option("--seed", default=13, show_default=True, help="Country and fault days.")
@click.option("--keep", is_flag=True, help="Keep the stack's databases and files afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def reliability(
    bounded: bool,
    soak: bool,
    names: str | None,
    corpus_only: bool,
    persons: int,
    days: int,
    soak_persons: int,
    seed: int,
    keep: bool,
    as_json: bool,
) -> None:
    """Strike each fault case through the scheduler, the real databases and the landing zone,
    each from a clean state, and compare with a run without faults: rows lost, rows
    duplicated, recovered by Airflow's retries or by an operator, seconds to recover. Also
    runs the bad-input corpus, and with --soak N days of changes with faults on random days.
    Exits non-zero when a case lost or doubled rows, the soak ended unequal to its clean run,
    or the corpus crashed."""
    from ndc.reliability import runner

    started = time.monotonic()
    out: dict = {}
    with stdout_to_stderr():
        log("corpus: the bad-input files through the real extract and load")
        corpus, outcomes = _corpus()
        out["corpus"] = corpus
        log(_corpus_line(corpus))
        if not corpus_only:
            cases = runner.select(runner.all_cases(), names.split(",") if names else None, bounded)
            if cases or soak:
                out |= _run_stack(runner, cases, soak, persons, days, soak_persons, seed, keep)
    out["seconds"] = round(time.monotonic() - started, 1)
    if as_json:
        click.echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    else:
        if corpus_only:
            for o in outcomes:
                click.echo(f"{o.outcome:9} {o.reason or '':20} {o.case.source}/{o.case.name}")
        if "cases" in out:
            click.echo(_table(out["cases"]))
        click.echo(_corpus_line(corpus))
        if "soak" in out:
            s = out["soak"]
            click.echo(
                f"soak: {s['days']} days on {s['persons']} persons, faults {s['faults']}: "
                f"{'equal to the clean run' if s['equal_to_clean'] else 'NOT EQUAL'}; task peak "
                f"MiB by day {s['task_peak_mib_by_day']}"
            )
    _exit_status(out)


def _run_stack(runner, cases, soak, persons, days, soak_persons, seed, keep) -> dict:
    out: dict = {}
    user = settings_mod.load()
    with runner.reliability_stack(user, persons if cases else soak_persons, seed, log, keep) as st:
        if cases:
            st.reference = runner.reference_run(st)
            out["reference_s"] = st.extra["reference_s"]
            out["cases"] = [r.as_json() for r in runner.run_cases(st, cases)]
        if soak:
            out["soak"] = runner.run_soak(st, days, soak_persons, seed)
    return out


def _exit_status(out: dict) -> None:
    problems = [
        f"{c['case']}: {c['rows_lost']} lost, {c['rows_duplicated']} duplicated"
        for c in out.get("cases", [])
        if c["rows_lost"] or c["rows_duplicated"]
    ]
    if out["corpus"]["crashes"]:
        problems.append(f"{out['corpus']['crashes']} crash(es) in the corpus")
    if "soak" in out and not out["soak"]["equal_to_clean"]:
        problems.append("the soak's end state differs from its clean run")
    if problems:
        raise click.ClickException("; ".join(problems))
