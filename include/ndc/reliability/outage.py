"""Outages a case can cause without touching what other people use on this machine.

- :func:`cut_database`: one database of the shared PostgreSQL server refuses connections
  (``ALTER DATABASE ... ALLOW_CONNECTIONS false``) and its open sessions are ended
  (``pg_terminate_backend``): to the clients, the closest real thing to the server going away
  that does not stop the server every other helper and test uses.
- :class:`TcpGate`: the landing zone's S3 endpoint as the tasks see it, a TCP forwarder in
  front of the S3 server; ``down()`` closes the port and every open connection (connection
  refused, like a stopped MinIO), ``up()`` opens it again, with the bucket's objects intact
  (as MinIO keeps its disk across a restart; moto keeps them in memory, so it is not killed).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from psycopg import sql

from ndc.warehouse import connect


def _allow(server_url: str, database: str, allow: bool) -> None:
    with connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("alter database {} allow_connections {}").format(
                sql.Identifier(database), sql.SQL("true" if allow else "false")
            )
        )


def terminate_sessions(server_url: str, database: str) -> int:
    """End every session on ``database`` (not this one); returns how many."""
    with connect(f"{server_url}/postgres", autocommit=True) as conn:
        return len(
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = %s and pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        )


def cut_database(server_url: str, database: str, seconds: float) -> int:
    """Refuse connections to ``database`` and end its sessions, for ``seconds``; then allow
    them again (always, even when interrupted). Returns the sessions ended."""
    _allow(server_url, database, False)
    try:
        ended = terminate_sessions(server_url, database)
        time.sleep(seconds)
    finally:
        _allow(server_url, database, True)
    return ended


class TcpGate:
    """A loopback TCP forwarder to ``target`` that can be taken down and brought back up."""

    def __init__(self, target: tuple[str, int], port: int = 0):
        self.target = target
        self.port = port
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Close the port and every connection through it."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            with self._lock:
                self._open.discard(src)
            with contextlib.suppress(OSError):
                src.close()
