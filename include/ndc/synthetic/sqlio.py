"""Write synthetic SQL source tables to SQLite (fast path) or any SQLAlchemy URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S"


def ensure_database(url: URL) -> None:
    """Create the URL's database on MySQL/MariaDB or PostgreSQL if it does not exist."""
    backend = url.get_backend_name()
    if not url.database or backend not in ("mysql", "mariadb", "postgresql"):
        return
    server_url = url._replace(database="postgres" if backend == "postgresql" else None)
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        quoted = engine.dialect.identifier_preparer.quote(url.database)
        with engine.connect() as conn:
            if backend == "postgresql":
                exists = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}
                ).first()
                if exists is None:
                    conn.execute(sa.text(f"CREATE DATABASE {quoted} ENCODING 'UTF8'"))
            else:
                conn.execute(
                    sa.text(
                        f"CREATE DATABASE IF NOT EXISTS {quoted} "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    )
                )
    finally:
        engine.dispose()


def normalise_url(url: str | URL) -> URL:
    """Parse a URL; MySQL/MariaDB get charset=utf8mb4."""
    url = make_url(url)
    if url.get_backend_name() in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def _converter(column: sa.Column):
    """Text -> Python value for server targets (rows carry ISO dates and timestamps)."""
    if isinstance(column.type, sa.DateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if isinstance(column.type, sa.Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    return lambda v: int(v) if isinstance(v, np.integer) else v


def write_tables(
    url: str | URL,
    metadata: sa.MetaData,
    data: dict[str, tuple[Sequence[str], Iterable[Sequence]]],
    chunk: int = 20_000,
) -> str:
    """Drop, recreate and fill each table; data: table -> (columns, rows). Returns the URL.

    Rows carry dates as ISO text and timestamps as 'YYYY-MM-DD HH:MM:SS' text: SQLite stores
    them as they are (through the sqlite3 module, fast); other databases get them converted to
    date/datetime values through SQLAlchemy.
    """
    url = normalise_url(url)
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        engine = sa.create_engine(url)
        try:
            metadata.create_all(engine)
        finally:
            engine.dispose()
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            for table, (columns, rows) in data.items():
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})"
                )
                conn.executemany(sql, rows)
        return url.render_as_string(hide_password=True)
    ensure_database(url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                table.drop(conn, checkfirst=True)
            metadata.create_all(conn)
            for name, (columns, rows) in data.items():
                table = metadata.tables[name]
                conv = [(c, _converter(table.c[c])) for c in columns]
                batch = []
                for row in rows:
                    batch.append({c: f(v) for (c, f), v in zip(conv, row, strict=True)})
                    if len(batch) >= chunk:
                        conn.execute(table.insert(), batch)
                        batch = []
                if batch:
                    conn.execute(table.insert(), batch)
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=True)
