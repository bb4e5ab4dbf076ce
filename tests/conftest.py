"""Shared fixtures: the machine's PostgreSQL and MariaDB, throw-away databases, S3 on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

PG_URL = os.environ.get("NDC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")
MYSQL_URL = os.environ.get("NDC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")


def pytest_collection_modifyitems(config, items):
    """For `make test`'s parallel run (pytest-xdist, --dist loadgroup): each end-to-end module
    is a group of its own (an Airflow of its own, minutes of mostly waiting on the scheduler),
    every other test is in one group, run in order in one worker, so the session fixtures (one
    `dbt build` of the whole project) are built once. Without xdist the marks do nothing."""
    for item in items:
        group = item.path.stem if item.get_closest_marker("e2e") else "suite"
        item.add_marker(pytest.mark.xdist_group(group))


def databases_like(prefix: str) -> list[str]:
    """The databases on the test server whose names start with ``prefix``."""
    from ndc.warehouse import connect

    with connect(f"{PG_URL}/postgres") as conn:
        rows = conn.execute(
            "select datname from pg_database where datname like %s", (f"{prefix}%",)
        ).fetchall()
    return [r[0] for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database on the machine's server; dropped afterwards."""
    from ndc.warehouse import drop_database, ensure_database

    url = f"{PG_URL}/ndc_test_{uuid.uuid4().hex[:10]}"
    ensure_database(url)
    yield url
    drop_database(url)


@pytest.fixture
def mysql_database():
    """A fresh MariaDB database (SQLAlchemy URL); dropped afterwards."""
    import sqlalchemy as sa

    name = f"ndc_test_{uuid.uuid4().hex[:10]}"
    server = sa.create_engine(MYSQL_URL)
    with server.begin() as conn:
        conn.execute(sa.text(f"create database {name} character set utf8mb4"))
    yield f"{MYSQL_URL}/{name}?charset=utf8mb4"
    with server.begin() as conn:
        conn.execute(sa.text(f"drop database if exists {name}"))
    server.dispose()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server on loopback: (endpoint, access key, secret key)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("moto server did not start")
    yield endpoint, "testing", "testing"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def registry():
    from ndc.registry import load_registry

    return load_registry()


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "dbt_unit: the dbt project's unit tests alone (the machine's PostgreSQL)"
    )
