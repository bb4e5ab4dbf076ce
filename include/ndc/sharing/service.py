"""The once-only lookup service (``ndc serve``): an agency fetches or verifies a citizen's
facts from the population database with its own API key, only the fields its products' legal
bases allow, and every call is written to ``ops.access_log``.

``GET /v1/citizens/{personal_id}?fields=a,b&purpose=<product>``: the purpose is the name of
one of the agency's ``api`` products in the sharing registry; the fields must be elements of
that product. The checks, in this order, each refusal logged:

1. the key (``X-API-Key``): missing, malformed, unknown, revoked or wrong -> 401;
2. the agency's rate limit (ndc.sharing.ratelimit) -> 429 with ``Retry-After``;
3. the request's shape: a personal ID of 12 digits, known field names, a purpose -> 422;
4. the legal basis: no product for the purpose, or a field outside it -> 403 naming the
   purpose, the basis and the fields it does not cover. This is decided before any lookup,
   so an agency without a basis never learns whether a person exists;
5. the lookup: an entitled agency gets 404 for an unknown personal ID (knowing that a person
   does not exist is part of verifying one), else 200 with exactly the fields asked for.

``POST /v1/citizens/{personal_id}/verify`` with ``{"purpose": ..., "claims": {field: value}}``
answers, under the same rules, only whether each value the agency holds is the population
database's (true, false, or null when it holds none): the agency learns no value it did not
already have. The claimed values are not logged, only their field names.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at runtime,
# and they name the closures of create_app (authenticate).
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, NoReturn

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ndc.sharing.audit import Access, Outcome, ensure_tables, record
from ndc.sharing.fields import CITIZEN_FIELDS
from ndc.sharing.keys import key_id_of, verify_key
from ndc.sharing.ratelimit import RateLimiter
from ndc.sharing.registry import Product, api_products
from ndc.warehouse import connect

PERSONAL_ID_PATTERN = r"^[0-9]{12}$"
_FIELD = "(" + "|".join(CITIZEN_FIELDS) + ")"
FIELDS_PATTERN = f"^{_FIELD}(,{_FIELD})*$"  # known names only: the spec says what is accepted

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="The agency's key, from `ndc serve key create AGENCY`.",
)


class CitizenFacts(BaseModel):
    personal_id: str
    purpose: str
    legal_basis: str
    facts: dict[str, str | bool | None]  # exactly the fields asked for; dates as YYYY-MM-DD


FieldName = Literal[tuple(CITIZEN_FIELDS)]


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(
        min_length=1,
        max_length=200,
        description="The agency's registered purpose: one of its api products.",
    )
    claims: dict[FieldName, Annotated[str, Field(max_length=500)] | bool] = Field(
        min_length=1,
        description="The values the agency holds, by element name (dates YYYY-MM-DD).",
    )


class VerifyResult(BaseModel):
    personal_id: str
    purpose: str
    legal_basis: str
    # Per claim: true (the same), false (not), null (the population database holds no value).
    matches: dict[str, bool | None]


class Refusal(BaseModel):
    detail: Any


REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": Refusal, "description": "A request body that is not JSON."},
    401: {"model": Refusal, "description": "No API key, or not a valid one."},
    403: {
        "model": Refusal,
        "description": "No legal basis: the purpose is not one of the agency's products, or "
        "a field is outside it. Decided before any lookup.",
    },
    404: {"model": Refusal, "description": "No citizen with this personal ID (entitled callers)."},
    422: {"model": Refusal, "description": "Malformed personal ID, field list or purpose."},
    429: {"model": Refusal, "description": "The agency's rate limit; see Retry-After."},
    503: {"model": Refusal, "description": "The audit log or population database is down."},
}


@dataclass(frozen=True)
class Caller:
    agency: str
    key_id: str


def _requested(request: Request) -> dict[str, Any]:
    """What the call asked for, as sent (for the access log, whatever its shape)."""
    fields = request.query_params.get("fields") or ""
    asked, purpose = getattr(request.state, "asked", (None, None))
    return {
        "personal_id": request.path_params.get("personal_id"),
        "fields": asked or tuple(f for f in fields.split(",") if f),
        "purpose": purpose or request.query_params.get("purpose"),
        "client": request.client.host if request.client else None,
    }


def create_app(
    warehouse_url: str,
    population_url: str,
    products: dict[str, Product],
    rate: float = 5.0,
    burst: int = 20,
) -> FastAPI:
    """The lookup service over a warehouse (keys, access log) and a population database."""
    ensure_tables(warehouse_url)
    limiter = RateLimiter(rate, burst)
    app = FastAPI(
        title="ndc once-only lookup service",
        version="1",
        description=__doc__,
    )

    def log(request: Request, outcome: Outcome, status: int, detail: str | None = None) -> None:
        caller: Caller | None = getattr(request.state, "caller", None)
        access = Access(
            outcome=outcome,
            status=status,
            agency=caller.agency if caller else None,
            key_id=caller.key_id if caller else getattr(request.state, "key_id", None),
            detail=detail,
            **_requested(request),
        )
        try:
            with connect(warehouse_url) as conn:
                record(conn, access)
        except psycopg.Error as exc:
            raise HTTPException(503, "the access log cannot be written: no lookup") from exc
        request.state.logged = True

    def refuse(request: Request, outcome: Outcome, status: int, detail: Any, **kw) -> NoReturn:
        log(request, outcome, status, detail if isinstance(detail, str) else detail["message"])
        raise HTTPException(status, detail, **kw)

    def authenticate(
        request: Request, key: Annotated[str | None, Security(api_key_header)] = None
    ) -> Caller:
        request.state.key_id = key_id_of(key)
        try:
            with connect(warehouse_url) as conn:
                agency = verify_key(conn, key)
        except psycopg.Error as exc:
            raise HTTPException(503, "the key store is unavailable") from exc
        if agency is None:
            refuse(
                request,
                Outcome.UNAUTHENTICATED,
                401,
                "a valid API key is required (header X-API-Key)",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        request.state.caller = caller = Caller(agency, request.state.key_id)
        wait = limiter.take(agency)
        if wait is not None:
            refuse(
                request,
                Outcome.RATE_LIMITED,
                429,
                f"rate limit of agency {agency}: {limiter.rate:g} requests/s, burst "
                f"{limiter.burst}",
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )
        return caller

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for error in exc.errors():
            error = dict(error)
            loc = tuple(error.get("loc", ()))
            if loc == ("path", "personal_id") and error.get("type") == "string_pattern_mismatch":
                error["msg"] = "a personal ID number is 12 digits (0-9)"
            if loc == ("query", "fields") and error.get("type") == "string_pattern_mismatch":
                error["msg"] = f"comma-separated field names among {list(CITIZEN_FIELDS)}"
            errors.append(error)
        try:
            log(request, Outcome.INVALID, 422, "; ".join(str(e["msg"]) for e in errors))
        except HTTPException as down:
            return JSONResponse({"detail": down.detail}, status_code=down.status_code)
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def unlogged(request: Request, exc: StarletteHTTPException) -> Response:
        # What FastAPI refuses before the route runs (a body that is not JSON: 400) is logged
        # here; a path that is no route (router 404/405) is no call of the service.
        if not getattr(request.state, "logged", False) and "personal_id" in request.path_params:
            try:
                await run_in_threadpool(log, request, Outcome.INVALID, exc.status_code, exc.detail)
            except HTTPException as down:
                exc = down
        return await http_exception_handler(request, exc)

    def entitled_row(
        request: Request, caller: Caller, personal_id: str, purpose: str, asked: list[str]
    ) -> tuple[Product, tuple]:
        """The product whose basis covers the fields for the purpose (403 when none does,
        before any lookup), and the citizen's values of the fields (404 when unknown)."""
        mine = api_products(products, caller.agency)
        product = mine.get(purpose)
        if product is None:
            refuse(
                request,
                Outcome.FORBIDDEN,
                403,
                {
                    "error": "no_legal_basis",
                    "message": f"agency {caller.agency} has no legal basis for purpose "
                    f"{purpose!r}: its registered purposes are {sorted(mine)}",
                    "purpose": purpose,
                    "purposes": sorted(mine),
                },
            )
        missing = [f for f in asked if f not in product.elements]
        if missing:
            refuse(
                request,
                Outcome.FORBIDDEN,
                403,
                {
                    "error": "no_legal_basis",
                    "message": f"no legal basis for {', '.join(missing)}: purpose {purpose} "
                    f"({product.cite()}) allows only {', '.join(product.elements)}",
                    "purpose": purpose,
                    "legal_basis": product.cite(),
                    "fields_without_basis": missing,
                    "allowed_fields": list(product.elements),
                },
            )
        query = sql.SQL("select {} from citizen where personal_id = %s").format(
            sql.SQL(", ").join(sql.SQL(CITIZEN_FIELDS[f]) for f in asked)
        )
        try:
            with connect(population_url) as conn:
                row = conn.execute(query, (personal_id,)).fetchone()
        except psycopg.Error as exc:
            log(request, Outcome.UNAVAILABLE, 503, f"population database unavailable: {exc}")
            raise HTTPException(503, "the population database is unavailable") from exc
        if row is None:
            refuse(request, Outcome.NOT_FOUND, 404, "no citizen with this personal ID")
        return product, row

    @app.get(
        "/v1/citizens/{personal_id}",
        response_model=CitizenFacts,
        responses=REFUSALS,
        summary="A citizen's facts, for one of the agency's registered purposes",
    )
    def get_citizen(
        request: Request,
        caller: Annotated[Caller, Depends(authenticate)],
        personal_id: Annotated[
            str,
            Path(
                pattern=PERSONAL_ID_PATTERN,
                description="The personal identification number (12 digits).",
            ),
        ],
        fields: Annotated[
            str,
            Query(
                pattern=FIELDS_PATTERN,
                max_length=500,
                description="Comma-separated element names, among those of the pattern; "
                "only those the purpose's legal basis allows are answered.",
            ),
        ],
        purpose: Annotated[
            str,
            Query(
                min_length=1,
                max_length=200,
                description="The agency's registered purpose: the name of one of its api "
                "products in the sharing registry (`ndc sharing list`).",
            ),
        ],
    ) -> CitizenFacts:
        asked = list(dict.fromkeys(fields.split(",")))
        product, row = entitled_row(request, caller, personal_id, purpose, asked)
        log(request, Outcome.ALLOWED, 200)
        return CitizenFacts(
            personal_id=personal_id,
            purpose=purpose,
            legal_basis=product.cite(),
            facts={
                f: v.isoformat() if isinstance(v, date) else v
                for f, v in zip(asked, row, strict=True)
            },
        )

    @app.post(
        "/v1/citizens/{personal_id}/verify",
        response_model=VerifyResult,
        responses=REFUSALS,
        summary="Whether an agency's values of a citizen's facts match the population "
        "database's, without disclosing them",
    )
    def verify_citizen(
        request: Request,
        caller: Annotated[Caller, Depends(authenticate)],
        personal_id: Annotated[
            str,
            Path(
                pattern=PERSONAL_ID_PATTERN,
                description="The personal identification number (12 digits).",
            ),
        ],
        claims: VerifyRequest,
    ) -> VerifyResult:
        asked = list(claims.claims)
        request.state.asked = (tuple(asked), claims.purpose)
        product, row = entitled_row(request, caller, personal_id, claims.purpose, asked)
        log(request, Outcome.ALLOWED, 200)
        return VerifyResult(
            personal_id=personal_id,
            purpose=claims.purpose,
            legal_basis=product.cite(),
            matches={
                f: same(f, stored, claims.claims[f]) for f, stored in zip(asked, row, strict=True)
            },
        )

    return app


def _name(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold()


def same(field: str, stored: Any, claimed: str | bool) -> bool | None:
    """Whether a claimed value is the population database's; None when it holds none. Names
    compare in NFC, whitespace collapsed, case folded (marks count: "NGUYEN VAN AN" is not
    "Nguyễn Văn An"); dates as YYYY-MM-DD; codes and booleans as they are."""
    if stored is None:
        return None
    if isinstance(stored, bool) or isinstance(claimed, bool):
        return stored is claimed
    if isinstance(stored, date):
        return claimed == stored.isoformat()
    if field == "full_name":
        return _name(claimed) == _name(stored)
    return claimed == str(stored)
