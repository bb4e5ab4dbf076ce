"""REST API sources: every page of records updated since the last landed watermark."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

import pyarrow as pa
import requests

from ndc.extract.batch import (
    BatchWriter,
    CountMismatch,
    ExtractError,
    ExtractResult,
    extra_json,
    extra_text,
    incremental_batch_id,
    previous_watermark,
    record_batch,
    schema,
    text,
    undeclared_columns,
)
from ndc.landing import LandingZone, Manifest
from ndc.registry import Entity, Mode, Source, SourceKind

log = logging.getLogger(__name__)

TIMEOUT = (10, 120)  # connect, read (seconds)
# A page larger than this is refused before it is parsed (a page of a few thousand records is
# a few MiB): an oversized or endless response must not exhaust the worker's memory.
MAX_RESPONSE_BYTES = int(os.environ.get("NDC_API_MAX_RESPONSE_BYTES", 64 << 20))


def _body(response: requests.Response, source: str, page_url: str, limit: int) -> bytes:
    """The response body, read in blocks up to `limit` bytes: a larger one fails clearly."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        response.close()
        raise ExtractError(
            f"{source}: {page_url}: response of {declared} bytes, over the limit of {limit} "
            "(NDC_API_MAX_RESPONSE_BYTES)",
            reason="response_too_large",
        )
    chunks, size = [], 0
    for block in response.iter_content(1 << 16):
        size += len(block)
        if size > limit:
            response.close()
            raise ExtractError(
                f"{source}: {page_url}: response over the limit of {limit} bytes "
                "(NDC_API_MAX_RESPONSE_BYTES)",
                reason="response_too_large",
            )
        chunks.append(block)
    return b"".join(chunks)


def _pages(
    session: requests.Session,
    source: str,
    url: str,
    params: dict,
    limit: int | None = None,
    reported: dict | None = None,
) -> Iterator[tuple[str, list[dict]]]:
    """Follow ``next`` links from the first page; yields (page URL, records).

    `reported` gets ``total`` (the records the API says match the query, as paged APIs report
    it on every page: the first page's is kept) and ``url`` (the first page's URL), or no
    ``total`` when the API reports none."""
    next_url: str | None = url
    first = True
    while next_url:
        try:
            response = session.get(
                next_url, params=params if first else None, timeout=TIMEOUT, stream=True
            )
        except requests.RequestException as exc:
            raise ExtractError(f"{source}: {next_url}: request failed: {exc}") from exc
        page_url = response.url
        if not response.ok:
            raise ExtractError(
                f"{source}: {page_url}: HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            raw = _body(response, source, page_url, MAX_RESPONSE_BYTES if limit is None else limit)
        except requests.RequestException as exc:
            raise ExtractError(f"{source}: {page_url}: response cut off: {exc}") from exc
        try:
            body = json.loads(raw)
            records = body["data"]
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise TypeError("data is not a list of records (objects)")
            next_link = body.get("next")
            if next_link is not None and not isinstance(next_link, str):
                raise TypeError(f"next is {type(next_link).__name__}, not a link")
            total = body.get("total")
            if total is not None and (type(total) is not int or total < 0):
                raise TypeError(f"total is {total!r}, not a count")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ExtractError(
                f"{source}: {page_url}: not a page of records ({exc!r})", reason="bad_response"
            ) from exc
        if first and reported is not None:
            reported["url"] = page_url
            if total is not None:
                reported["total"] = total
        yield page_url, records
        next_url = next_link
        first = False


def _refuse_repeats(
    source: str,
    entity: Entity,
    page_url: str,
    records: list[dict],
    row_no: int,
    seen: dict[tuple, tuple[str, int]],
) -> None:
    """Fail on a record received twice with the same content in one extraction: the API
    repeated a page (or part of one), and landing it would load those rows twice. A record
    received again with other content (updated while the pages were read) is a new version,
    kept as such."""
    for i, record in enumerate(records):
        key = tuple(text(record.get(c)) for c in entity.primary_key)
        digest = hash(json.dumps(record, sort_keys=True, default=str))
        earlier = seen.get(key)
        if earlier is not None and earlier[1] == digest:
            raise ExtractError(
                f"{source}.{entity.name}: {page_url}: record {row_no + i} "
                f"({', '.join(entity.primary_key)} {', '.join(map(str, key))}) repeats the same "
                f"record received from {earlier[0]}: the API repeated a page; nothing landed, "
                "the next run reads the pages again",
                reason="repeated_page",
                row=row_no + i,
            )
        seen[key] = (page_url, digest)


def _entity_chunks(
    source: str, entity: Entity, pages: Iterator[tuple[str, list[dict]]], state: dict
) -> Iterator[pa.RecordBatch]:
    """Each page's records as a record batch. A record's fields beyond the declared columns
    are schema drift: their names are discovered page by page (``state["undeclared"]``, the
    manifest's) and their values kept in the record's ``_extra``."""
    arrow_schema = schema(entity.columns)
    declared = frozenset(entity.columns)
    seen: dict[tuple, tuple[str, int]] = {}  # primary key -> (page URL, record's digest)
    row_no = 1
    for page_url, records in pages:
        if not records:
            continue
        _refuse_repeats(source, entity, page_url, records, row_no, seen)
        columns: list[list[str | None]] = [[] for _ in entity.columns]
        extra: list[str | None] = []
        drifted = False
        for i, record in enumerate(records):
            missing = [c for c in entity.columns if c not in record]
            if missing:
                raise ExtractError(
                    f"{source}.{entity.name}: {page_url}: record {row_no + i} lacks declared "
                    f"field(s) {missing}",
                    reason="missing_columns",
                    row=row_no + i,
                )
            for out, column in zip(columns, entity.columns, strict=True):
                out.append(text(record[column]))
            if len(record) == len(declared):  # every field declared: no drift (the usual)
                extra.append(None)
                continue
            others = [k for k in record if k not in declared]
            new = [k for k in others if k not in state["undeclared"]]
            if new:
                state["undeclared"] += undeclared_columns(source, entity, new, page_url)
            extra.append(extra_json(others, [extra_text(record[k]) for k in others]))
            drifted = True
        marks = [m for m in columns[entity.columns.index(entity.watermark_column)] if m]
        if marks:
            state["high"] = max([state.get("high") or "", *marks])
        rows = range(row_no, row_no + len(records))
        yield record_batch(columns, rows, arrow_schema, extra if drifted else None)
        row_no += len(records)


def extract_api(
    source: Source,
    base_url: str,
    landing: LandingZone,
    day: str,
    session: requests.Session | None = None,
) -> ExtractResult:
    """Land each entity's records updated since its last landed watermark as one batch."""
    assert source.kind is SourceKind.API and source.api is not None
    result = ExtractResult(source.name)
    session = session or requests.Session()
    for entity in source.entities:
        try:
            manifest = _extract_entity(session, source, entity, base_url, landing, day)
        except ExtractError as exc:
            message = str(exc)
            if not message.startswith(source.name):
                message = f"{source.name}.{entity.name}: {entity.endpoint}: {message}"
            log.error("%s", message)
            result.errors.append(message)
            continue
        if manifest is None:
            result.skipped.append(entity.name)
        else:
            result.landed.append(manifest)
    return result


def _extract_entity(
    session, source: Source, entity: Entity, base_url, landing, day
) -> Manifest | None:
    api = source.api
    params: dict = {"page": 1, "page_size": api.page_size}
    low = None
    if entity.mode is Mode.INCREMENTAL:
        low = previous_watermark(landing, source.name, entity)
        if low is not None:
            params[api.updated_since_param] = low
    url = base_url.rstrip("/") + entity.endpoint
    state: dict = {"undeclared": []}
    reported: dict = {}
    with BatchWriter(entity) as writer:
        pages = _pages(session, source.name, url, params, reported=reported)
        for chunk in _entity_chunks(source.name, entity, pages, state):
            writer.write(chunk)
        # The API's own count of the query (its reported total): the batch must hold as many.
        total, where = reported.get("total"), reported.get("url", url)
        if total is not None and total != writer.rows:
            raise CountMismatch(source.name, entity.name, where, total, writer.rows)
        at_source = {"rows_at_source": total, "where": where}
        if writer.rows == 0:
            log.info("%s.%s: nothing updated since %s", source.name, entity.name, low)
            return None
        drift = {"undeclared_columns": state["undeclared"]} if state["undeclared"] else {}
        if entity.mode is Mode.INCREMENTAL:
            high = state.get("high")
            if high is None:
                raise ExtractError(
                    f"{source.name}.{entity.name}: {url}: {writer.rows} record(s) and none "
                    f"has a {entity.watermark_column}: no watermark to land them under",
                    reason="missing_watermark",
                )
            return writer.land(
                landing,
                source.name,
                day,
                incremental_batch_id(entity, low, high),
                watermark_column=entity.watermark_column,
                watermark_from=low,
                watermark_to=high,
                extra=drift,
                **at_source,
            )
        return writer.land(
            landing, source.name, day, f"{entity.name}-{day}", extra=drift, **at_source
        )
