"""The ndc pages of the Airflow UI: a FastAPI app of server-rendered HTML (Jinja2, inline SVG
charts) over the warehouse. plugins/ndc_pages.py mounts it in Airflow's api-server under
``/ndc`` with Airflow's own authentication; here it takes the warehouse URL and the
dependencies that say who the user is, so it runs without Airflow in tests.

Pages that show person rows (quarantined rows, a raw row, a discrepancy list or its CSV, the
access log) record the view in ``ops.ui_access_log``: who, which page and filter, when."""

# No `from __future__ import annotations`: FastAPI reads the routes' Annotated
# dependencies (User, Conn, local to create_app) from evaluated annotations.

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ndc.ui import charts, queries
from ndc.warehouse import connect

TEMPLATES = Path(__file__).parent / "templates"
PAGES = (
    ("reconciliation", "Reconciliation"),
    ("quarantine", "Quarantine"),
    ("discrepancies", "Discrepancies"),
    ("scorecard", "Scorecard"),
    ("logs", "Sharing and access logs"),
)
SCORECARD = "marts.quality_scorecard"
SHARING_LOG = "ops.sharing_log"
ACCESS_LOG = "ops.access_log"
# A discrepancy list shows this many rows; its CSV holds them all.
LIST_ROWS = 500

_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True
)


def create_app(
    warehouse_url: Callable[[], str],
    sources: Callable[[], list[str]],
    user: Callable[..., str],
    dependencies: list[Any] | None = None,
    person_rows: Callable[..., Any] | None = None,
) -> FastAPI:
    """The app; ``user`` is a FastAPI dependency giving the signed-in user's name (refusing
    the request when there is none), ``dependencies`` run before every route (permissions),
    ``person_rows`` before the routes that show person rows (the quarantine browser and its raw
    row, a discrepancy list and its CSV, the logs): it refuses (403) a user who may see only
    the aggregates (reconciliation, scorecard, discrepancy counts)."""
    app = FastAPI(title="ndc", dependencies=dependencies or [], docs_url=None, redoc_url=None)
    personal = [Depends(person_rows)] if person_rows else []

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException):
        if exc.status_code in (401, 403):
            body = _env.get_template("refused.html").render(
                status=exc.status_code,
                detail=exc.detail,
                next=str(request.url),
                base=request.scope.get("root_path", "").rstrip("/"),
            )
            return HTMLResponse(body, status_code=exc.status_code)
        return HTMLResponse(f"<p>{exc.detail}</p>", status_code=exc.status_code)

    def render(request: Request, template: str, page: str, **context) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/")
        html = _env.get_template(template).render(
            base=base, pages=PAGES, page=page, request=request, **context
        )
        return HTMLResponse(html)

    def db():
        with connect(warehouse_url(), autocommit=True) as conn:
            yield conn

    User = Annotated[str, Depends(user)]
    Conn = Annotated[Any, Depends(db)]

    @app.get("/", include_in_schema=False)
    def index(request: Request, _: User):
        base = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{base}/reconciliation")

    @app.get("/reconciliation", response_class=HTMLResponse)
    def reconciliation(
        request: Request, _: User, conn: Conn, page: Annotated[int, Query(ge=1)] = 1
    ):
        totals, count = queries.batch_totals(conn)
        last = max(1, -(-count // queries.BATCH_PAGE_SIZE))
        return render(
            request,
            "reconciliation.html",
            "reconciliation",
            batches=queries.batches(conn, min(page, last)),
            totals=totals,
            count=count,
            page_number=min(page, last),
            last_page=last,
            chart=charts.bars(totals),
        )

    @app.get("/reconciliation/{batch_id}", response_class=HTMLResponse)
    def batch(batch_id: str, request: Request, _: User, conn: Conn):
        found = queries.batch(conn, batch_id)
        if found is None:
            raise HTTPException(404, f"no batch {batch_id} in ops.load_ledger")
        return render(request, "batch.html", "reconciliation", batch=found)

    @app.get("/quarantine", response_class=HTMLResponse, dependencies=personal)
    def quarantine(
        request: Request,
        who: User,
        conn: Conn,
        source: str = "",
        entity: str = "",
        reason: str = "",
        after: str = "",
        size: Annotated[int, Query(ge=1, le=500)] = queries.PAGE_SIZE,
    ):
        where = queries.QuarantineFilter(source, entity, reason)
        keyset = _keyset(after)
        rows, total = queries.quarantine_page(conn, where, keyset, size)
        if rows:
            queries.log_view(conn, who, "quarantine", where.as_dict() | {"after": after}, len(rows))
        last = rows[-1] if len(rows) == size else None
        return render(
            request,
            "quarantine.html",
            "quarantine",
            rows=rows,
            total=total,
            where=where,
            after=after,
            next_after=f"{last['_batch_id']}:{last['_source_row']}" if last else "",
            facets=queries.quarantine_facets(conn),
            reasons=queries.reason_codes(conn),
            page_size=size,
        )

    @app.get("/quarantine/row", response_class=HTMLResponse, dependencies=personal)
    def quarantined_row(
        request: Request,
        source: str,
        entity: str,
        batch: str,
        row: int,
        who: User,
        conn: Conn,
    ):
        raw = queries.raw_row(conn, source, entity, batch, row)
        if raw is None:
            raise HTTPException(404, f"no row {row} of batch {batch} in raw {source}.{entity}")
        rejected = queries.rejection(conn, source, entity, batch, row)
        queries.log_view(
            conn, who, "quarantine/row", {"source": source, "batch": batch, "row": row}, 1
        )
        return render(
            request,
            "quarantined_row.html",
            "quarantine",
            raw=raw,
            rejected=rejected,
            reasons=queries.reason_codes(conn),
            source=source,
            entity=entity,
        )

    @app.get("/discrepancies", response_class=HTMLResponse)
    def discrepancy_index(request: Request, _: User, conn: Conn):
        counts = queries.discrepancy_sources(conn, sources())
        return render(
            request,
            "discrepancies.html",
            "discrepancies",
            counts=counts,
            chart=charts.bars({s: {"discrepancies": n} for s, n in counts.items()}),
        )

    @app.get("/discrepancies/{source}.csv", dependencies=personal)
    def discrepancy_csv(source: str, who: User, conn: Conn):
        rows = _discrepancies(conn, source, sources())
        out = io.StringIO()
        names = (
            list(rows[0])
            if rows
            else queries.column_types(conn, f"marts.discrepancies_{source}").keys()
        )
        writer = csv.DictWriter(out, fieldnames=list(names), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        queries.log_view(conn, who, "discrepancies.csv", {"source": source}, len(rows))
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="discrepancies_{source}.csv"'},
        )

    @app.get("/discrepancies/{source}", response_class=HTMLResponse, dependencies=personal)
    def discrepancy_list(source: str, request: Request, who: User, conn: Conn):
        rows = _discrepancies(conn, source, sources(), limit=LIST_ROWS)
        kinds = queries.discrepancy_kinds(conn, source) if rows else {}
        if rows:
            queries.log_view(conn, who, "discrepancies", {"source": source}, len(rows))
        return render(
            request,
            "discrepancy_list.html",
            "discrepancies",
            source=source,
            rows=rows,
            total=sum(kinds.values()),
            kinds=kinds,
        )

    @app.get("/scorecard", response_class=HTMLResponse)
    def scorecard(request: Request, _: User, conn: Conn, source: str = ""):
        if not queries.exists(conn, SCORECARD):
            return render(request, "scorecard.html", "scorecard", rows=None)
        trend = queries.scorecard_trend(conn, _share_measures(), source)
        return render(
            request,
            "scorecard.html",
            "scorecard",
            rows=queries.scorecard_latest(conn, source),
            source=source,
            sources=queries.scorecard_sources(conn),
            trend=trend,
            chart=charts.lines(_trend(trend)),
        )

    @app.get("/logs", response_class=HTMLResponse, dependencies=personal)
    def logs(request: Request, who: User, conn: Conn):
        shown = {}
        for relation in (SHARING_LOG, ACCESS_LOG):
            types = queries.column_types(conn, relation) if queries.exists(conn, relation) else {}
            order = queries.time_column(types) or next(iter(types), None)
            rows = queries.table_rows(conn, relation, order, limit=200) if order else None
            shown[relation] = {"rows": rows, "columns": list(types)}
        if shown[ACCESS_LOG]["rows"]:
            queries.log_view(conn, who, "logs", {}, len(shown[ACCESS_LOG]["rows"]))
        return render(request, "logs.html", "logs", logs=shown)

    return app


def _keyset(after: str) -> tuple[str, int] | None:
    """``<batch_id>:<source_row>`` of the last row of the previous page."""
    if not after:
        return None
    batch_id, _, row = after.rpartition(":")
    if not batch_id or not row.isdigit():
        raise HTTPException(400, f"after={after!r} is not <batch_id>:<source_row>")
    return batch_id, int(row)


def _discrepancies(conn, source: str, known: list[str], limit: int | None = None) -> list[dict]:
    if source not in known:
        raise HTTPException(404, f"no source {source!r} in the registry")
    if not queries.exists(conn, f"marts.discrepancies_{source}"):
        return []
    return queries.discrepancies(conn, source, limit)


def _share_measures() -> list[str]:
    """The measures whose unit is a share (include/dictionary/quality_measures.yaml): the ones
    a trend can average; a lag in days would not sit on the same axis."""
    from ndc.dictionary.measures import quality_measures

    return [m["name"] for m in quality_measures() if m["unit"] == "share"]


def _trend(points: list[dict]) -> dict[str, list[tuple[str, float]]]:
    """The lines of the trend chart: one per property, in the dispatch's order, with one
    point per day of the scorecard's history."""
    from ndc.dictionary.measures import PROPERTIES

    series: dict[str, list[tuple[str, float]]] = {}
    for prop in PROPERTIES:
        for p in points:
            if p["property"] == prop and p["share"] is not None:
                series.setdefault(prop, []).append((str(p["day"]), round(float(p["share"]), 4)))
    return series
