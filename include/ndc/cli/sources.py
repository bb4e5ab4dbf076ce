"""``ndc sources``: the synthetic source systems that run as servers."""

from __future__ import annotations

import os
import sys
import time

import click

from ndc import settings as settings_mod
from ndc.cli.common import log


@click.group()
def sources() -> None:
    """The synthetic source systems that run as servers (the education REST API)."""


def source_processes(s: settings_mod.Settings):
    from ndc.processes import Processes

    return Processes(s.home / "run", s.home / "logs")


def start_sources(s: settings_mod.Settings) -> None:
    import requests

    url = f"http://127.0.0.1:{s.api_port}"
    argv = [
        sys.executable,
        "-m",
        "ndc.synthetic.education_api",
        "--data",
        str(s.data_dir),
        "--port",
        str(s.api_port),
    ]
    procs = source_processes(s)
    pid = procs.start("education_api", argv, dict(os.environ), cwd=s.home)
    for _ in range(100):
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                log(f"sources: education API on {url} (pid {pid})")
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise click.ClickException(
        f"the education API did not start; see {procs.log_path('education_api')}"
    )


@sources.command("up")
def sources_up() -> None:
    """Serve the synthetic education API (REST, paginated) from the generated data."""
    start_sources(settings_mod.load())


@sources.command("down")
def sources_down() -> None:
    """Stop the synthetic education API."""
    click.echo(
        "stopped"
        if source_processes(settings_mod.load()).stop(["education_api"])
        else "not running"
    )
