"""The education ministry's REST API over the generated SQLite store (stdlib only).

    GET /health                                   -> {"status": "ok"}
    GET /api/v1/{students|enrolments|graduations}?updated_since=<ISO>&page=<n>&page_size=<m>

Pages are 1-based (page_size default 500, at most 1000); `updated_since` keeps records whose
`updated_at` is strictly greater; records are ordered by (updated_at, key). The response is
``{"data": [...], "page": n, "page_size": m, "total": <matching records>, "next": <URL|null>}``.
An unknown entity gives 404, a bad parameter 400, both as ``{"error": "..."}``.

Run in the foreground: ``python -m ndc.synthetic.education_api --data OUT [--port P]``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ENTITIES = {
    "students": (
        "student_id",
        ["student_id", "citizen_id", "full_name", "date_of_birth", "gender", "ethnicity_code",
         "updated_at"],
    ),
    "enrolments": (
        "enrolment_id",
        ["enrolment_id", "student_id", "school_code", "school_year", "grade", "enrolled_on",
         "updated_at"],
    ),
    "graduations": (
        "graduation_id",
        ["graduation_id", "student_id", "level", "year", "classification", "updated_at"],
    ),
}  # fmt: skip
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000


class BadRequest(ValueError):
    """A query parameter is invalid."""


def _iso(value: str) -> str:
    """Validate an ISO-8601 timestamp; return it in the store's form 'YYYY-MM-DDTHH:MM:SSZ'
    (UTC; a timestamp without zone is taken as UTC). Stored times are whole seconds, so a
    fraction is dropped: `> 10:00:05` then matches exactly what `> 10:00:05.5` should."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"updated_since: not an ISO-8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(params: dict[str, list[str]], name: str, default: int, lo: int, hi: int | None) -> int:
    raw = params.get(name, [None])[-1]
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name}: not an integer: {raw!r}") from exc
    if value < lo or (hi is not None and value > hi):
        limit = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise BadRequest(f"{name}: must be {limit}, got {value}")
    return value


def query(db_path: Path, entity: str, params: dict[str, list[str]], base_url: str) -> dict:
    """One page of an entity (raises KeyError for an unknown entity, BadRequest)."""
    key, columns = ENTITIES[entity]
    unknown = set(params) - {"updated_since", "page", "page_size"}
    if unknown:
        raise BadRequest(f"{sorted(unknown)[0]}: unknown parameter")
    page = _int(params, "page", 1, 1, None)
    size = _int(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    since = params.get("updated_since", [None])[-1]
    where, args = "", []
    if since:
        where, args = "WHERE updated_at > ?", [_iso(since)]
    uri = f"file:{db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        total = conn.execute(f"SELECT COUNT(*) FROM {entity} {where}", args).fetchone()[0]
        rows = conn.execute(
            f"SELECT {', '.join(columns)} FROM {entity} {where} "
            f"ORDER BY updated_at, {key} LIMIT ? OFFSET ?",
            [*args, size, (page - 1) * size],
        ).fetchall()
    nxt = None
    if page * size < total:
        q = {"page": page + 1, "page_size": size}
        if since:
            q["updated_since"] = since
        nxt = f"{base_url}/api/v1/{entity}?{urlencode(q)}"
    return {
        "data": [dict(zip(columns, r, strict=True)) for r in rows],
        "page": page,
        "page_size": size,
        "total": total,
        "next": nxt,
    }


def make_handler(db_path: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "moet-api/1.0"

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/")
            if path == "/health":
                self._send(200, {"status": "ok"})
                return
            prefix = "/api/v1/"
            entity = path[len(prefix) :] if path.startswith(prefix) else None
            if entity not in ENTITIES:
                self._send(404, {"error": f"not found: {parts.path}"})
                return
            address = self.server.server_address
            host = self.headers.get("Host") or f"{address[0]}:{address[1]}"
            try:
                body = query(db_path, entity, parse_qs(parts.query, keep_blank_values=True),
                             f"http://{host}")  # fmt: skip
            except BadRequest as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, body)

    return Handler


def serve(db_path: Path, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start the API in a daemon thread; return the server (call .shutdown()) and its URL."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(db_path)
    server = ThreadingHTTPServer((host, port), make_handler(db_path))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, required=True, help="the generator's output folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    db = args.data / "education" / "education.sqlite"
    if not db.is_file():
        raise SystemExit(f"no education store at {db}: run `ndc generate` first")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(db))
    print(f"education API on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
