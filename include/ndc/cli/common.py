"""What every command group uses: the progress log, the registry, stdout kept for results."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

import click

_T0 = time.monotonic()


def log(message: str) -> None:
    """A progress line on stderr (stdout stays for results, e.g. --json): elapsed time and
    message, flushed at once."""
    click.echo(f"[{time.monotonic() - _T0:6.1f}s] {message}", err=True)
    sys.stderr.flush()


def registry_sources() -> dict:
    from ndc.registry import load_registry

    return load_registry()


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr for the duration (this process and its children)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
