"""The once-only lookup service shown at work (``ndc serve demo``, the end of ``make demo``):
a key for an agency with a legal basis and one for an agency without, ``ndc serve`` started
on a free port (uvicorn, real HTTP), one lookup each, and the two calls found in
``ops.access_log``. The keys are created as ``ndc serve key create`` creates them, and revoked
at the end, so a demo leaves no working key behind."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from ndc.settings import Settings
from ndc.sharing.keys import key_id_of, revoke_key
from ndc.sharing.registry import Product, api_products, consumers, load_sharing_registry
from ndc.warehouse import connect

NDC = [sys.executable, "-m", "ndc.cli"]
# The lookup asks for what a benefit office checks before paying.
WANTED = ("full_name", "date_of_birth", "is_deceased")


class LookupDemoError(RuntimeError):
    """A step of the demo did not go as the service documents; the message says which."""


@dataclass
class Call:
    agency: str
    url: str
    status: int
    body: dict


def agencies(products: dict[str, Product]) -> tuple[str, Product, str]:
    """An agency with an api product (and that product), and a consumer agency with none."""
    names = sorted(consumers(products))
    entitled = [(a, p) for a in names for p in api_products(products, a).values()]
    refused = [a for a in names if not api_products(products, a)]
    if not entitled or not refused:
        raise LookupDemoError(
            "the sharing registry needs an agency with an api product and one without "
            f"(include/sharing/): entitled {[a for a, _ in entitled]}, others {refused}"
        )
    agency, product = entitled[0]
    return agency, product, refused[0]


def a_living_citizen(population_url: str) -> str:
    with connect(population_url) as conn:
        row = conn.execute(
            "select personal_id from citizen where date_of_death is null order by personal_id "
            "limit 1"
        ).fetchone()
    if row is None:
        raise LookupDemoError(f"no living citizen in the population database {population_url}")
    return row[0]


def create_key(warehouse_url: str, agency: str) -> str:
    """A key for the agency, made as ``ndc serve key create <agency>`` makes it (in this
    process: a second ``ndc`` process costs seconds of imports for one insert)."""
    from ndc.sharing import keys

    with connect(warehouse_url) as conn:
        return keys.create_key(conn, agency)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log_file: Path, timeout: float = 90) -> subprocess.Popen:
    """``ndc serve --port <port>`` in the background, once it answers /openapi.json."""
    out = open(log_file, "wb")  # noqa: SIM115 (the server writes to it until stopped)
    proc = subprocess.Popen(
        [*NDC, "serve", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LookupDemoError(
                f"ndc serve exited with {proc.returncode}: {log_file.read_text()[-2000:]}"
            )
        try:
            if requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.3)
    stop_server(proc)
    raise LookupDemoError(f"ndc serve did not answer on port {port} in {timeout:.0f}s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def lookup(base: str, key: str, personal_id: str, fields: list[str], purpose: str) -> tuple:
    path = f"/v1/citizens/{personal_id}"
    params = {"fields": ",".join(fields), "purpose": purpose}
    r = requests.get(base + path, params=params, headers={"X-API-Key": key}, timeout=30)
    return r.status_code, r.json(), f"{path}?fields={params['fields']}&purpose={purpose}"


def access_log(warehouse_url: str, key_ids: list[str]) -> list[tuple]:
    """(agency, personal_id, purpose, outcome, status) of every call made with the keys."""
    with connect(warehouse_url) as conn:
        return conn.execute(
            "select agency, personal_id, purpose, outcome, status from ops.access_log "
            "where key_id = any(%s) order by id",
            (key_ids,),
        ).fetchall()


def run_lookup_demo(settings: Settings, log: Callable[[str], None] = print) -> dict:
    """The two lookups through a running ``ndc serve``; returns both calls and their log."""
    entitled, product, refused = agencies(load_sharing_registry())
    personal_id = a_living_citizen(settings.population_url)
    fields = [f for f in WANTED if f in product.elements] or product.elements[:2]
    keys = {}
    for agency in (entitled, refused):
        keys[agency] = create_key(settings.warehouse_url, agency)
        log(f"lookup: key {key_id_of(keys[agency])} for {agency} (as ndc serve key create)")
    port = free_port()
    calls = []
    with tempfile.TemporaryDirectory(prefix="ndc-serve-") as tmp:
        server = start_server(port, Path(tmp) / "serve.log")
        log(f"lookup: ndc serve on http://127.0.0.1:{port} (pid {server.pid})")
        try:
            for agency in (entitled, refused):
                status, body, url = lookup(
                    f"http://127.0.0.1:{port}", keys[agency], personal_id, fields, product.name
                )
                calls.append(Call(agency, url, status, body))
                log(f"lookup: {agency}: GET {url} -> {status}")
        finally:
            stop_server(server)
            log(f"lookup: ndc serve stopped (pid {server.pid})")
    key_ids = [key_id_of(k) for k in keys.values()]
    logged = access_log(settings.warehouse_url, key_ids)
    with connect(settings.warehouse_url) as conn:
        for key_id in key_ids:
            revoke_key(conn, key_id)
    log(f"lookup: demo keys revoked ({', '.join(key_ids)})")
    if [c.status for c in calls] != [200, 403]:
        raise LookupDemoError(
            f"expected 200 for {entitled} and 403 for {refused}, got "
            + "; ".join(f"{c.agency}: {c.status} {c.body}" for c in calls)
        )
    return {"purpose": product.name, "personal_id": personal_id, "calls": calls, "log": logged}


def format_summary(result: dict) -> str:
    allowed, refused = result["calls"]
    detail = refused.body.get("detail", {})
    message = detail.get("message", detail) if isinstance(detail, dict) else detail
    lines = [
        "Once-only lookup service (ndc serve):",
        f"  {allowed.agency}: GET {allowed.url} -> {allowed.status} "
        f"{', '.join(f'{k}={v}' for k, v in allowed.body['facts'].items())}",
        f"  {refused.agency}: GET {refused.url} -> {refused.status} {message}",
        "  ops.access_log:",
    ]
    lines += [
        f"    {agency}  {personal_id}  {purpose}  {outcome}  {status}"
        for agency, personal_id, purpose, outcome, status in result["log"]
    ]
    return "\n".join(lines)
