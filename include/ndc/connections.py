"""Turn an Airflow connection into what a library function takes (a URL or a folder)."""

from __future__ import annotations

from typing import Protocol

# SQLAlchemy drivers shipped in requirements.txt, by Airflow connection type.
_DRIVERS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "sqlite": "sqlite",
}


class ConnectionLike(Protocol):
    conn_type: str
    extra_dejson: dict

    def get_uri(self) -> str: ...


def source_location(conn: ConnectionLike) -> str:
    """The folder (``fs`` connections) or SQLAlchemy URL a source's connection points at.

    ``extra.path`` or ``extra.url`` win when set; otherwise the connection's URI with the
    SQLAlchemy driver ndc installs for its type.
    """
    extra = conn.extra_dejson or {}
    if extra.get("path"):
        return str(extra["path"])
    if extra.get("url"):
        return str(extra["url"])
    uri = conn.get_uri()
    scheme, sep, rest = uri.partition("://")
    driver = _DRIVERS.get(conn.conn_type, scheme)
    return f"{driver}{sep}{rest.split('?')[0]}"


def postgres_url(conn: ConnectionLike) -> str:
    """libpq URL of a postgres connection (psycopg takes ``postgres://`` as is)."""
    return conn.get_uri().split("?")[0]
