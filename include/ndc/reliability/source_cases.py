"""Source and delivery fault cases: what a misbehaving source system or file delivery does to
the rows that reach the warehouse, measured.

Every case runs the real extract (ndc.extract.extract_source), the real landing zone (a local
folder under the case's work directory) and the real load (ndc.load.load_source) twice from
the same input: a clean reference run into one warehouse, and a run with the fault into
another (both ``<prefix>_sf_<case>_{clean,faulty}`` on the settings' PostgreSQL server,
bootstrapped here, dropped afterwards). It then compares the raw tables row by row
(:func:`ndc.reliability.cases.row_multiset_diff`, without ``_batch_id``, ``_loaded_at`` and
``_source_row``) and checks the load's side of the reconciliation of every batch: extracted =
landed = loaded = rows in the raw table (the staging terms need dbt, which these cases do not
run). The sources are a tiny synthetic country (ndc.synthetic.generate): its civil
registration files, its social insurance database on the machine's MariaDB (its SQLite file
in the concurrent case), and its education API served in this process behind a proxy that
injects the API's faults.

The cases do not go through the scheduler: "the next run" is the ingest's extract and load
called again, as the ingest DAG's retry or next scheduled run would.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from ndc.reliability.cases import CaseContext, CaseResult, FaultCase, row_multiset_diff

PERSONS, SEED, DAYS = 300, 13, 3
DAY = "2025-07-01"  # the landing day of the runs that are not one per delivery day
PAGE_SIZE = 10  # the API's pages in these cases: several pages of students
CHUNK_ROWS = 20  # the SQL extractor's chunks in the change-while-extracting case
API_TIMEOUT = (2, 1.0)  # connect, read (s): the timeout case waits this long, not two minutes
MYSQL_URL = os.environ.get("NDC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
IGNORED = frozenset({"_batch_id", "_loaded_at", "_source_row"})


# Runs and comparisons ------------------------------------------------------------------------


@dataclass
class Run:
    """One ingest run (extract, then load unless the extract failed, as the ingest DAG)."""

    error: str = ""  # what the operator saw: the failed task's message ('' when it succeeded)
    landed: int = 0
    loaded: int = 0
    set_aside: list[str] = field(default_factory=list)  # messages of files set aside
    seconds: float = 0.0


def ingest(source, location: str, landing, warehouse_url: str, day: str = DAY) -> Run:
    """Extract and load one source as the ingest DAG's two tasks do: an extract error fails the
    run after landing the good batches, and the load then does not run."""
    from ndc.extract import ExtractError, extract_source
    from ndc.load import load_source

    start = time.monotonic()
    try:
        result = extract_source(source, location, landing, day)
    except ExtractError as exc:
        return Run(str(exc), seconds=time.monotonic() - start)
    if result.errors:
        return Run("\n".join(result.errors), result.rows, seconds=time.monotonic() - start)
    loaded = load_source(warehouse_url, landing, source)
    return Run(
        "", result.rows, loaded.rows, result.set_aside_messages, time.monotonic() - start
    )  # fmt: skip


def raw_rows(warehouse_url: str, source) -> dict[str, list[tuple]]:
    """Every raw row of the source's entities as a tuple of its text values, without the
    columns a load sets (batch id, load time, source row number)."""
    from psycopg import sql

    from ndc.registry import raw_table
    from ndc.warehouse import connect

    rows: dict[str, list[tuple]] = {}
    with connect(warehouse_url) as conn:
        for entity in source.entities:
            table = raw_table(source.name, entity.name)
            columns = [
                c
                for (c,) in conn.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'raw' and table_name = %s order by ordinal_position",
                    (table,),
                )
                if c not in IGNORED
            ]
            if not columns:
                rows[entity.name] = []
                continue
            select = sql.SQL("select {} from raw.{}").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
                sql.Identifier(table),
            )
            rows[entity.name] = [tuple(r) for r in conn.execute(select)]
    return rows


def unbalanced_batches(warehouse_url: str) -> list[str]:
    """The load's side of the reconciliation: every ledger batch whose rows extracted, landed,
    loaded and held in its raw table are not all equal, described."""
    from psycopg import sql

    from ndc.registry import raw_table
    from ndc.warehouse import connect

    broken = []
    with connect(warehouse_url) as conn:
        ledger = conn.execute(
            "select batch_id, source, entity, rows_extracted, rows_landed, rows_loaded "
            "from ops.load_ledger order by batch_id"
        ).fetchall()
        for batch_id, source, entity, extracted, landed, loaded in ledger:
            table = sql.Identifier(raw_table(source, entity))
            held = conn.execute(
                sql.SQL("select count(*) from raw.{} where _batch_id = %s").format(table),
                (batch_id,),
            ).fetchone()[0]
            if not extracted == landed == loaded == held:
                broken.append(
                    f"{source}.{entity} batch {batch_id}: extracted {extracted}, landed "
                    f"{landed}, loaded {loaded}, in raw {held}"
                )
    return broken


def compare(
    name: str,
    sources: list,
    urls: dict[str, str],
    *,
    operator_saw: str,
    recovered: bool,
    recover_s: float | None,
    action: str | None = None,
    lost_to_source: int = 0,
    detail: dict | None = None,
) -> CaseResult:
    """The case's result: rows lost and duplicated in the faulty warehouse against the clean
    one (plus ``lost_to_source``: rows of the source system found in neither), and whether the
    ledger of both balances. A case with rows lost or doubled, or a ledger that does not
    balance, has not recovered, whatever the runs said."""
    lost, duplicated, clean_n, faulty_n = lost_to_source, 0, 0, 0
    for source in sources:
        clean, faulty = raw_rows(urls["clean"], source), raw_rows(urls["faulty"], source)
        for entity, rows in clean.items():
            n_lost, n_dup = row_multiset_diff(rows, faulty.get(entity, []))
            lost, duplicated = lost + n_lost, duplicated + n_dup
            clean_n, faulty_n = clean_n + len(rows), faulty_n + len(faulty.get(entity, []))
    broken = unbalanced_batches(urls["clean"]) + unbalanced_batches(urls["faulty"])
    ok = recovered and lost == 0 and duplicated == 0 and not broken
    return CaseResult(
        name,
        lost,
        duplicated,
        ok,
        recover_s if ok else None,
        operator_saw,
        None if ok else (action or "investigate: the rows differ from the clean run"),
        {
            "rows_clean": clean_n,
            "rows_faulty": faulty_n,
            "ledger": "balanced" if not broken else broken,
            **(detail or {}),
        },
    )


# What the cases run on -----------------------------------------------------------------------


@contextlib.contextmanager
def warehouses(ctx: CaseContext, case: str) -> Iterator[dict[str, str]]:
    """A clean and a faulty warehouse of the case, bootstrapped; dropped afterwards."""
    from ndc.registry import load_registry
    from ndc.warehouse import bootstrap, drop_database, ensure_database

    registry = load_registry()
    server, prefix = ctx.settings.server_url, ctx.settings.db_prefix
    urls = {n: f"{server}/{prefix}_sf_{case}_{n}" for n in ("clean", "faulty")}
    for url in urls.values():
        drop_database(url)
        ensure_database(url)
        bootstrap(url, registry)
    try:
        yield urls
    finally:
        for url in urls.values():
            drop_database(url)


def landing(ctx: CaseContext, case: str, run: str):
    from ndc.landing import LocalLandingZone

    return LocalLandingZone(ctx.work / case / run / "landing")


_country_dir: Path | None = None


def country(ctx: CaseContext) -> Path:
    """The tiny synthetic country the file and API cases read (never change): generated once
    per process."""
    global _country_dir
    if _country_dir is None:
        from ndc.synthetic import generate

        out = Path(tempfile.mkdtemp(prefix="ndc-source-faults-"))
        atexit.register(shutil.rmtree, out, True)
        ctx.log(f"sources: generating a synthetic country of {PERSONS} persons ({out})")
        generate(out, persons=PERSONS, seed=SEED, days=DAYS)
        _country_dir = out
    return _country_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mariadb_source(ctx: CaseContext, case: str) -> Iterator[str]:
    """The social insurance database of a synthetic country on the machine's MariaDB (its own
    database, dropped afterwards); yields its SQLAlchemy URL."""
    import sqlalchemy as sa

    from ndc.synthetic import generate

    name = f"{ctx.settings.db_prefix}_sf_{case}"
    url = f"{MYSQL_URL}/{name}?charset=utf8mb4"
    ctx.log(f"{case}: the social insurance database on MariaDB ({name})")
    generate(ctx.work / case / "country", persons=PERSONS, seed=SEED, days=DAYS,
             targets={"social_insurance": url})  # fmt: skip
    try:
        yield url
    finally:
        engine = sa.create_engine(MYSQL_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f"drop database if exists {name}"))
        engine.dispose()


def copy_mariadb(url: str, name: str, tables: list[str]) -> str:
    """A copy of the MariaDB database at `url` as database `name` (the given tables); its URL."""
    import sqlalchemy as sa

    source_db = sa.engine.make_url(url).database
    engine = sa.create_engine(MYSQL_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"drop database if exists {name}"))
        conn.execute(sa.text(f"create database {name} character set utf8mb4"))
        for table in tables:
            conn.execute(sa.text(f"create table {name}.{table} like {source_db}.{table}"))
            conn.execute(sa.text(f"insert into {name}.{table} select * from {source_db}.{table}"))
    engine.dispose()
    return f"{MYSQL_URL}/{name}?charset=utf8mb4"


def drop_mariadb(name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(MYSQL_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"drop database if exists {name}"))
    engine.dispose()


# SQL sources ---------------------------------------------------------------------------------


def sql_unreachable(ctx: CaseContext) -> CaseResult:
    """The social insurance database refuses connections (wrong port), then is back."""
    import sqlalchemy as sa

    from ndc.registry import load_registry

    name = "sql_unreachable"
    source = load_registry()["social_insurance"]
    with mariadb_source(ctx, name) as url, warehouses(ctx, name) as urls:
        clean = ingest(source, url, landing(ctx, name, "clean"), urls["clean"])
        ctx.log(f"{name}: clean run: {clean.loaded} rows loaded")
        refused = sa.engine.make_url(url).set(port=free_port())
        refused_url = refused.render_as_string(hide_password=False)
        faulty = landing(ctx, name, "faulty")
        start = time.monotonic()
        first = ingest(source, refused_url, faulty, urls["faulty"])
        ctx.log(f"{name}: source down: {first.error.splitlines()[0] if first.error else 'ok?'}")
        second = ingest(source, url, faulty, urls["faulty"])
        recover_s = time.monotonic() - start
        ctx.log(f"{name}: source back, next run: {second.loaded} rows loaded")
        return compare(
            name, [source], urls,
            operator_saw=first.error,
            recovered=bool(first.error) and not second.error and first.landed == 0,
            recover_s=recover_s,
            action="start the source database again (the next run catches up by itself)",
            detail={"first_run_landed": first.landed, "next_run_loaded": second.loaded},
        )  # fmt: skip


@contextlib.contextmanager
def after_first_chunk(entity_name: str, change: Callable[[], None]) -> Iterator[list]:
    """Run `change` once, between the first and the second chunk the SQL extractor reads of
    `entity_name` (the extractor's chunk boundary made observable by wrapping its chunking);
    yields a list that holds True once the change ran."""
    from ndc.extract import sql as sql_extract

    original = sql_extract._chunks
    done: list = []

    def chunks(result, entity, *args, **kwargs):
        for i, chunk in enumerate(original(result, entity, *args, **kwargs)):
            yield chunk
            if i == 0 and entity.name == entity_name and not done:
                change()
                done.append(True)

    sql_extract._chunks = chunks
    try:
        yield done
    finally:
        sql_extract._chunks = original


def _change_insured(url: str) -> Callable[[], None]:
    """Changes to insured_person as the source system would make them while it is read: a row
    already read and the last row updated, a row inserted, all stamped after the extract
    started (the watermark the next run starts from)."""
    import sqlalchemy as sa

    def change() -> None:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            first, last, high = conn.execute(
                sa.text(
                    "select min(ma_so_bhxh), (select ma_so_bhxh from insured_person order by "
                    "updated_at desc, ma_so_bhxh desc limit 1), max(updated_at) "
                    "from insured_person"
                )
            ).one()
            later = high + datetime.timedelta(hours=1)
            for key, name in ((first, "Nguyễn Văn Đổi"), (last, "Trần Thị Sửa")):
                conn.execute(
                    sa.text(
                        "update insured_person set ho_ten = :name, updated_at = :at "
                        "where ma_so_bhxh = :key"
                    ),
                    {"name": name, "at": later, "key": key},
                )
            conn.execute(
                sa.text(
                    "insert into insured_person (ma_so_bhxh, so_dinh_danh, so_cmnd, ho_ten, "
                    "ngay_sinh, gioi_tinh, ma_don_vi, ma_so_thue_don_vi, so_dien_thoai, "
                    "updated_at) select '9999999901', so_dinh_danh, so_cmnd, 'Lê Văn Mới', "
                    "ngay_sinh, gioi_tinh, ma_don_vi, ma_so_thue_don_vi, so_dien_thoai, :at "
                    "from insured_person where ma_so_bhxh = :key"
                ),
                {"at": later, "key": first},
            )
        engine.dispose()

    return change


def _source_rows_missing(url: str, source, warehouse_url: str) -> int:
    """Rows of the source system as it is now (each entity's declared columns, as the extractor
    turns them to text) that the warehouse's raw tables do not hold: what a watermark that
    skipped a change would lose."""
    import sqlalchemy as sa

    from ndc.extract.batch import text

    raw = raw_rows(warehouse_url, source)
    missing = 0
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        for entity in source.entities:
            cols = ", ".join(entity.columns)
            want = {tuple(text(v) for v in r) for r in conn.execute(sa.text(
                f"select {cols} from {entity.table}"))}  # fmt: skip
            held = {r[: len(entity.columns)] for r in raw[entity.name]}
            missing += len(want - held)
    engine.dispose()
    return missing


def _late_commit(url: str) -> Callable[[], None]:
    """Rows committed while the extract reads, stamped at or before the highest watermark it
    saw (a source transaction that set updated_at when it began and committed later): one at
    the same second as the high mark, one ten minutes earlier."""
    import sqlalchemy as sa

    def change() -> None:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            high = conn.execute(sa.text("select max(updated_at) from insured_person")).scalar()
            for key, at in (
                ("9999999902", high),
                ("9999999903", high - datetime.timedelta(minutes=10)),
            ):
                conn.execute(
                    sa.text(
                        "insert into insured_person (ma_so_bhxh, ho_ten, ngay_sinh, updated_at) "
                        "values (:key, 'Phạm Thị Muộn', '1990-01-02', :at)"
                    ),
                    {"key": key, "at": at},
                )
        engine.dispose()

    return change


def sql_change_case(name: str, make_change: Callable[[str], Callable[[], None]]):
    """A case of the social insurance database (MariaDB) changed by ``make_change(url)`` between
    the first and the second chunk of the extract, then a next run. The clean reference makes
    the same change to a copy after its first run. Besides the clean run, the warehouse is
    checked against the source as it is at the end: a change the watermark skipped is lost."""

    def run(ctx: CaseContext) -> CaseResult:
        from ndc.extract.sql import extract_sql
        from ndc.load import load_source
        from ndc.registry import load_registry

        source = load_registry()["social_insurance"]
        tables = [e.table for e in source.entities]
        with mariadb_source(ctx, name) as url, warehouses(ctx, name) as urls:
            copy_name = f"{ctx.settings.db_prefix}_sf_{name[:12]}_copy"
            clean_url = copy_mariadb(url, copy_name, tables)
            try:
                clean_landing = landing(ctx, name, "clean")
                first = ingest(source, clean_url, clean_landing, urls["clean"], "2025-07-01")
                make_change(clean_url)()
                ingest(source, clean_url, clean_landing, urls["clean"], "2025-07-02")
                ctx.log(f"{name}: clean runs: {first.loaded} rows, then the change")
                faulty = landing(ctx, name, "faulty")
                start = time.monotonic()
                with after_first_chunk("insured_person", make_change(url)) as changed:
                    result = extract_sql(source, url, faulty, "2025-07-01", chunk_rows=CHUNK_ROWS)
                error = "\n".join(result.errors)
                if not error:
                    load_source(urls["faulty"], faulty, source)
                chunks = sum(-(-m.rows_landed // CHUNK_ROWS) for m in result.landed)
                ctx.log(f"{name}: changed between chunks: {bool(changed)}; {result.rows} rows")
                second = ingest(source, url, faulty, urls["faulty"], "2025-07-02")
                recover_s = time.monotonic() - start
                missing = _source_rows_missing(url, source, urls["faulty"])
                ctx.log(f"{name}: next run: {second.loaded} rows loaded; {missing} row(s) of "
                        "the source in no batch")  # fmt: skip
            finally:
                drop_mariadb(copy_name)
            return compare(
                name, [source], urls,
                operator_saw=error or second.error or (
                    "nothing: the next run brought the changes" if not missing else
                    "nothing: no run failed, no message"),
                recovered=bool(changed) and not error and not second.error,
                recover_s=recover_s,
                action="have the source stamp the rows again (updated_at = now()): the next "
                "run takes them",
                lost_to_source=missing,
                detail={"chunks_first_run": chunks, "next_run_loaded": second.loaded,
                        "source_rows_missing": missing},
            )  # fmt: skip

    return run


# The REST API --------------------------------------------------------------------------------


class _FaultyApi(BaseHTTPRequestHandler):
    """Forwards to the real education API; the request for page 2 of the students, once,
    gets the fault instead (``state["fault"]``, cleared once injected)."""

    upstream = ""
    state: dict = {}

    def do_GET(self):  # noqa: N802 - the http.server interface
        import requests

        split = urlsplit(self.path)
        params = parse_qs(split.query)
        target = split.path.endswith("/students") and params.get("page") == ["2"]
        fault = self.state.get("fault") if target else None
        own = f"http://{self.headers['Host']}"
        if fault:
            self.state["fault"] = None
            self.state["injected"] = fault
        if fault == "http_500":
            return self._send(500, b'{"error": "internal server error"}')
        if fault == "timeout":
            time.sleep(API_TIMEOUT[1] + 1.5)  # longer than the client waits
        path = self.path
        if fault == "repeated_page":  # page 1's content again, its next link included
            path = f"{split.path}?{urlencode({**{k: v[-1] for k, v in params.items()}, 'page': 1})}"
        response = requests.get(self.upstream + path, timeout=30)
        body = response.content.replace(self.upstream.encode(), own.encode())
        if fault == "truncated_page":
            body = body[: len(body) // 2]
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(response.status_code, body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def faulty_api(db_path: Path) -> Iterator[tuple[str, dict]]:
    """The real education API over `db_path` behind a fault-injecting proxy; yields the
    proxy's URL and its state (set ``state["fault"]`` to inject one)."""
    from ndc.synthetic.education_api import serve

    api, api_url = serve(db_path, port=0)
    state: dict = {"fault": None, "injected": None}
    handler = type("Proxy", (_FaultyApi,), {"upstream": api_url, "state": state})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{proxy.server_port}", state
    finally:
        proxy.shutdown()
        proxy.server_close()
        api.shutdown()
        api.server_close()


def api_case(fault: str, what: str) -> Callable[[CaseContext], CaseResult]:
    """A case of the education API answering page 2 of the students with `fault`, once: the
    run fails with a clear error or lands the right rows; the retry lands every row once."""

    def run(ctx: CaseContext) -> CaseResult:
        from ndc.extract import api
        from ndc.registry import load_registry

        name = f"api_{fault}"
        registry_source = load_registry()["education"]
        source = registry_source.model_copy(
            update={"api": registry_source.api.model_copy(update={"page_size": PAGE_SIZE})}
        )
        db = country(ctx) / "education" / "education.sqlite"
        timeout = api.TIMEOUT
        with faulty_api(db) as (url, state), warehouses(ctx, name) as urls:
            api.TIMEOUT = API_TIMEOUT
            try:
                clean = ingest(source, url, landing(ctx, name, "clean"), urls["clean"])
                ctx.log(f"{name}: clean run: {clean.loaded} rows in pages of {PAGE_SIZE}")
                faulty = landing(ctx, name, "faulty")
                state["fault"] = fault
                start = time.monotonic()
                first = ingest(source, url, faulty, urls["faulty"])
                ctx.log(f"{name}: {what}: {first.error.splitlines()[0] if first.error else 'ok'}")
                retry = ingest(source, url, faulty, urls["faulty"])
                recover_s = time.monotonic() - start
                ctx.log(f"{name}: retry: {retry.loaded} rows loaded")
            finally:
                api.TIMEOUT = timeout
            return compare(
                name, [source], urls,
                operator_saw=first.error,
                recovered=state["injected"] == fault and bool(first.error) and not retry.error,
                recover_s=recover_s,
                detail={"first_run_loaded": first.loaded, "retry_loaded": retry.loaded},
            )  # fmt: skip

    return run


# File deliveries -----------------------------------------------------------------------------


def _inbox_files(ctx: CaseContext) -> dict[str, bytes]:
    """The civil registration files of the synthetic country: name -> bytes."""
    inbox = country(ctx) / "civil_registration" / "inbox"
    return {p.name: p.read_bytes() for p in sorted(inbox.iterdir())}


def _deliver(inbox: Path, files: dict[str, bytes]) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (inbox / name).write_bytes(data)


def _fullest(files: dict[str, bytes]) -> str:
    """The file with the most rows (lines)."""
    return max(files, key=lambda n: (files[n].count(b"\n"), n))


def _files_source():
    from ndc.registry import load_registry

    return load_registry()["civil_registration"]


def file_delivered_twice(ctx: CaseContext) -> CaseResult:
    """A delivered file sent again: under the same name, and as a copy under another name."""
    name = "file_delivered_twice"
    source = _files_source()
    files = _inbox_files(ctx)
    with warehouses(ctx, name) as urls:
        inbox = ctx.work / name / "clean" / "inbox"
        _deliver(inbox, files)
        clean = ingest(source, str(inbox), landing(ctx, name, "clean"), urls["clean"])
        ctx.log(f"{name}: clean run: {len(files)} files, {clean.loaded} rows")
        inbox, faulty = ctx.work / name / "faulty" / "inbox", landing(ctx, name, "faulty")
        _deliver(inbox, files)
        ingest(source, str(inbox), faulty, urls["faulty"])
        again = _fullest(files)
        stem, suffix = again.rsplit(".", 1)
        start = time.monotonic()
        _deliver(inbox, {again: files[again], f"{stem} (1).{suffix}": files[again]})
        second = ingest(source, str(inbox), faulty, urls["faulty"], "2025-07-02")
        recover_s = time.monotonic() - start
        ctx.log(f"{name}: {again} sent again: {second.loaded} rows loaded, "
                f"{len(second.set_aside)} file(s) set aside")  # fmt: skip
        return compare(
            name, [source], urls,
            operator_saw="\n".join(second.set_aside) or second.error,
            recovered=not second.error and second.loaded == 0,
            recover_s=recover_s,
            detail={"file": again, "second_run_loaded": second.loaded},
        )  # fmt: skip


def file_corrected(ctx: CaseContext) -> CaseResult:
    """A delivered file replaced by a corrected one under the same name (a name fixed, a row
    added): the correction lands as a new batch beside the original (raw keeps every
    delivery); compared with the same two deliveries under two names, nothing of either is
    dropped or doubled."""
    name = "file_corrected"
    source = _files_source()
    files = _inbox_files(ctx)
    target = _fullest(files)
    lines = files[target].decode("utf-8").splitlines(keepends=True)
    if len(lines) < 3:
        raise RuntimeError(f"{name}: {target} holds fewer than two rows to correct")
    first = lines[1].split(",")
    first[3] = first[3] + " Sửa"  # ho_ten corrected
    extra = lines[2].split(",")
    extra[0] = extra[0] + "-B"  # a registration the first file missed
    corrected = "".join([lines[0], ",".join(first), *lines[2:], ",".join(extra)]).encode()
    stem, suffix = target.rsplit(".", 1)
    with warehouses(ctx, name) as urls:
        inbox, clean = ctx.work / name / "clean" / "inbox", landing(ctx, name, "clean")
        _deliver(inbox, files)
        ingest(source, str(inbox), clean, urls["clean"])
        _deliver(inbox, {f"{stem}_v2.{suffix}": corrected})
        ingest(source, str(inbox), clean, urls["clean"], "2025-07-02")
        inbox, faulty = ctx.work / name / "faulty" / "inbox", landing(ctx, name, "faulty")
        _deliver(inbox, files)
        ingest(source, str(inbox), faulty, urls["faulty"])
        start = time.monotonic()
        _deliver(inbox, {target: corrected})
        second = ingest(source, str(inbox), faulty, urls["faulty"], "2025-07-02")
        recover_s = time.monotonic() - start
        ctx.log(f"{name}: {target} replaced: {second.loaded} rows of the correction loaded")
        return compare(
            name, [source], urls,
            operator_saw=second.error or "nothing: the correction lands as a new batch",
            recovered=not second.error and second.loaded == len(lines),
            recover_s=recover_s,
            detail={"file": target, "correction_loaded": second.loaded},
        )  # fmt: skip


def days_out_of_order(ctx: CaseContext) -> CaseResult:
    """The files of the last day delivered (and run) before the day before it."""
    name = "days_out_of_order"
    source = _files_source()
    by_day: dict[str, dict[str, bytes]] = {}
    for file, data in _inbox_files(ctx).items():
        by_day.setdefault(file.rsplit("_", 1)[-1].split(".")[0], {})[file] = data
    days = sorted(by_day)
    if len(days) < 3:
        raise RuntimeError(f"{name}: the country has files of {len(days)} day(s), not 3")
    late, early = days[-1], days[-2]
    order = [d for d in days if d not in (late, early)] + [late, early]
    with warehouses(ctx, name) as urls:
        for run, sequence in (("clean", days), ("faulty", order)):
            inbox, zone = ctx.work / name / run / "inbox", landing(ctx, name, run)
            start = time.monotonic()
            for day in sequence:
                _deliver(inbox, by_day[day])
                iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
                done = ingest(source, str(inbox), zone, urls[run], iso)
                if done.error:
                    break
            ctx.log(f"{name}: {run}: days delivered in the order {sequence}")
        recover_s = time.monotonic() - start
        return compare(
            name, [source], urls,
            operator_saw=done.error or "nothing: each day's files land as they come",
            recovered=not done.error,
            recover_s=recover_s,
            detail={"order": order},
        )  # fmt: skip


def concurrent_ingest(ctx: CaseContext) -> CaseResult:
    """Two runs of the same ingest at once (two threads, each extract and load, same landing
    zone and warehouse), for a file source and a SQL source."""
    from ndc.registry import load_registry

    name = "concurrent_ingest"
    registry = load_registry()
    home = country(ctx)
    insurance = home / "social_insurance" / "social_insurance.sqlite"
    sources = [
        (registry["civil_registration"], str(home / "civil_registration" / "inbox")),
        (registry["social_insurance"], f"sqlite:///{insurance}"),
    ]
    errors: list[str] = []
    overlapped: dict[str, bool] = {}
    with warehouses(ctx, name) as urls:
        for source, location in sources:
            ingest(source, location, landing(ctx, name, "clean"), urls["clean"])
        zone = landing(ctx, name, "faulty")
        start = time.monotonic()
        for source, location in sources:
            barrier = threading.Barrier(2)
            runs: list[Run] = []

            spans: list[tuple[float, float]] = []

            def one(source=source, location=location, barrier=barrier, runs=runs, spans=spans):
                barrier.wait()
                began = time.monotonic()
                try:
                    runs.append(ingest(source, location, zone, urls["faulty"]))
                except Exception as exc:  # noqa: BLE001 - reported as what the operator saw
                    runs.append(Run(f"{type(exc).__name__}: {exc}"))
                spans.append((began, time.monotonic()))

            threads = [threading.Thread(target=one) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            errors += [r.error for r in runs if r.error]
            # The two runs were at once: each began before the other ended.
            overlapped[source.name] = max(b for b, _ in spans) < min(e for _, e in spans)
            ctx.log(f"{name}: {source.name}: two runs at once loaded "
                    f"{[r.loaded for r in runs]} rows")  # fmt: skip
        recover_s = time.monotonic() - start
        return compare(
            name, [s for s, _ in sources], urls,
            operator_saw="\n".join(errors) or "nothing: the second run found the batches landed",
            recovered=not errors and all(overlapped.values()),
            recover_s=recover_s,
            detail={"runs_overlapped": overlapped},
        )  # fmt: skip


CASES: list[FaultCase] = [
    FaultCase("sql_unreachable", "the SQL source refuses connections (wrong port), then is "
              "back", sql_unreachable, bounded=True),
    FaultCase("sql_changed_while_extracted", "rows of the SQL source updated and inserted "
              "between two chunks of the extract",
              sql_change_case("sql_changed_while_extracted", _change_insured)),
    FaultCase("sql_late_commit", "rows committed while the extract reads, stamped at or "
              "before the highest watermark it saw",
              sql_change_case("sql_late_commit", _late_commit)),
    FaultCase("api_http_500", "the API answers a page with HTTP 500",
              api_case("http_500", "HTTP 500 on page 2")),
    FaultCase("api_timeout", "the API does not answer a page in time",
              api_case("timeout", "page 2 not answered in time")),
    FaultCase("api_truncated_page", "the API sends a page cut in the middle of its JSON",
              api_case("truncated_page", "page 2 cut in half")),
    FaultCase("api_repeated_page", "the API sends a page's content twice in a row",
              api_case("repeated_page", "page 1 sent again as page 2"), bounded=True),
    FaultCase("file_delivered_twice", "a delivered file sent again under the same name and "
              "under another name", file_delivered_twice, bounded=True),
    FaultCase("file_corrected", "a delivered file replaced by a corrected one (same name, new "
              "content)", file_corrected),
    FaultCase("days_out_of_order", "the last day's files delivered before the day before it",
              days_out_of_order),
    FaultCase("concurrent_ingest", "two runs of the same ingest at once (files and SQL)",
              concurrent_ingest),
]  # fmt: skip


def run_cases(
    settings, names: list[str] | None = None, bounded: bool = False, log=print
) -> list[CaseResult]:
    """Run the cases (all, the named ones, or the bounded ones) in a temporary work folder."""
    chosen = [c for c in CASES if (not names or c.name in names) and (c.bounded or not bounded)]
    unknown = set(names or []) - {c.name for c in CASES}
    if unknown:
        raise ValueError(f"no source fault case {sorted(unknown)}; the cases: "
                         f"{', '.join(c.name for c in CASES)}")  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="ndc-source-faults-") as work:
        for case in chosen:
            log(f"== {case.name}: {case.what}")
            results.append(case.run(CaseContext(settings, Path(work), log=log)))
    return results


def table(results: list[CaseResult]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| case | rows lost | rows doubled | recovered | seconds | the operator saw |",
        "|---|---:|---:|---|---:|---|",
    ]
    for r in results:
        how = "by itself" if r.recovered else f"no: {r.operator_action}"
        seconds = f"{r.recover_s:.2f}" if r.recover_s is not None else "-"
        saw = r.operator_saw.splitlines()[0] if r.operator_saw else ""
        lines.append(f"| {r.case} | {r.rows_lost} | {r.rows_duplicated} | {how} | {seconds} "
                     f"| {saw[:160]} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m ndc.reliability.source_cases [--bounded] [--json] [CASE ...]``: run the
    cases against the configured PostgreSQL server (databases ``<prefix>_sf_*``, dropped
    afterwards) and the machine's MariaDB; exits 1 when a case lost or doubled rows."""
    import argparse

    from ndc.settings import load

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n", 1)[0])
    parser.add_argument("cases", nargs="*", help="case names (default: every case)")
    parser.add_argument("--bounded", action="store_true", help="only the cases CI runs")
    parser.add_argument("--json", action="store_true", help="the results as JSON")
    args = parser.parse_args(argv)
    settings = load()
    if settings.embedded:
        from ndc import embedded

        embedded.start(settings.pgdata, settings.pg_port)
    start = time.monotonic()
    # With --json, the progress goes to stderr and stdout holds the JSON alone.
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    results = run_cases(settings, args.cases, args.bounded, log=log)
    if args.json:
        print(json.dumps([r.as_json() for r in results], ensure_ascii=False, indent=1))
    else:
        print(table(results))
        bad = [r.case for r in results if not r.recovered]
        print(f"{len(results)} case(s) in {time.monotonic() - start:.0f} s: "
              f"{len(results) - len(bad)} recovered, {len(bad)} not{': ' if bad else ''}"
              f"{', '.join(bad)}")  # fmt: skip
    return 0 if all(r.recovered for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
