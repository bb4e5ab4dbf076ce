"""XML file drops: one entity's repeated element streamed into text record batches.

The file is parsed with ``xml.etree.ElementTree.iterparse`` and every element is cleared once
its record is read, so memory holds one top-level element (a parcel with its owners) at a
time, whatever the file's size. The encoding is the one the prolog declares (expat decodes
single-byte encodings such as windows-1258 through Python's codecs); a file declaring an
encoding its source does not list is refused. A column's path (``@attr``, ``Child``,
``Child/@attr``, ``../@attr``; include/ndc/registry.py ``XmlEntity``) that no record of the
file has fails the file, as a CSV header without a declared column does (for ``Child/@attr``
the element must occur; its attribute may be absent, as a parcel's ``<DiaChi>`` carries codes
or a text).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

import pyarrow as pa

from ndc.extract.batch import ExtractError, record_batch, schema
from ndc.registry import Entity, XmlEntity

PROLOG = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
MATCHED, UNMATCHED = "matched", "unmatched"


def declared_encoding(path: Path, source: str, candidates: list[str]) -> str:
    """The encoding the file's prolog declares (XML's default UTF-8 when it declares none),
    which must be one of the source's declared encodings."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    match = PROLOG.match(head)
    declared = match.group(1).decode("ascii") if match else "utf-8"
    try:
        name = codecs.lookup(declared).name
    except LookupError as exc:
        raise ExtractError(
            f"{source}: {path.name}: line 1: declares encoding {declared!r}, which Python "
            f"does not know"
        ) from exc
    allowed = {codecs.lookup(c).name for c in candidates}
    if name not in allowed:
        raise ExtractError(
            f"{source}: {path.name}: line 1: declares encoding {declared!r}, not one of the "
            f"source's encodings {candidates}"
        )
    return declared


def _value(path: str, record: ElementTree.Element, parent: dict[str, str] | None) -> tuple:
    """(found, text) of a field path on a record element."""
    if path.startswith("../@"):
        if parent is None or path[4:] not in parent:
            return False, None
        return True, parent[path[4:]]
    if path.startswith("@"):
        value = record.get(path[1:])
        return value is not None, value
    child_tag, _, attr = path.partition("/@")
    child = record.find(child_tag)
    if child is None:
        return False, None
    if attr:  # the element is the column: its attribute may be absent (a code or a text)
        return True, child.get(attr)
    return True, child.text


@lru_cache(maxsize=65_536)
def standardise_legacy_address(address: str) -> tuple[str | None, str]:
    """The legacy ward code of a free-text legacy address, with ``matched``, or ``unmatched``.

    Offline: vietnamadminunits' legacy parser reads the package's own tables (its
    ``convert_address``, which may call an online geocoder, is never used). The parse is
    taken only when it names a ward, and the ward's, district's and province's names all occur
    in the address (the parser falls back on partial or default matches: a guess, refused).
    """
    from vietnamadminunits.parser.parser_legacy import parse_address_legacy
    from vietnamadminunits.parser.utils import key_normalize

    text = unicodedata.normalize("NFC", address)
    try:
        unit = parse_address_legacy(text, keep_street=False, level=3)
    except Exception:  # noqa: BLE001 - the parser raises anything on odd input: no match
        return None, UNMATCHED
    if not unit.ward_code:
        return None, UNMATCHED
    key = key_normalize(text)
    # Short names, without the parser's disambiguation suffix ("Long Mỹ (Huyện)").
    names = [
        re.sub(r"\s*\(.*\)$", "", n or "")
        for n in (unit.short_ward, unit.short_district, unit.short_province)
    ]
    if not all(n and key_normalize(n) in key for n in names):
        return None, UNMATCHED
    return unit.ward_code, MATCHED


def _records(
    path: Path, source: str, entity: Entity, config: XmlEntity
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(record number from 1, {column: text}) of every record element, streamed."""
    parts = config.record_path.split("/")
    stack: list[str] = []
    parents: list[dict[str, str] | None] = []  # attributes of the element at each depth
    root: ElementTree.Element | None = None
    seen: set[str] = set()
    n = 0
    try:
        for event, elem in ElementTree.iterparse(path, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = elem
                    continue
                stack.append(elem.tag)
                parents.append(dict(elem.attrib))
                continue
            if elem is root:
                break
            if stack == parts:
                n += 1
                parent = parents[-2] if len(parents) > 1 else None
                row = {}
                for column, field_path in config.fields.items():
                    found, value = _value(field_path, elem, parent)
                    if found:
                        seen.add(column)
                    row[column] = value
                yield n, row
                elem.clear()
            stack.pop()
            parents.pop()
            if not stack and root is not None:
                root.remove(elem)  # a top-level element read: drop it (bounded memory)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise ExtractError(
            f"{source}: {path.name}: line {line}, column {column}: malformed XML "
            f"(after {n} <{parts[-1]}> record(s)): {exc}"
        ) from exc
    missing = [c for c in config.fields if c not in seen]
    if n and missing:
        raise ExtractError(
            f"{source}: {entity.name}: {path.name}: missing column(s) {missing}: no "
            f"<{config.record_path}> record has {[config.fields[c] for c in missing]}"
        )


def xml_chunks(
    path: Path, source: str, entity: Entity, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    """An entity's records of an XML file, numbered from 1 in document order, as text batches
    (the encoding is the prolog's, checked first by ``declared_encoding``)."""
    config = entity.xml
    if config is None:
        raise ExtractError(f"{source}: {entity.name}: no xml mapping in the registry")
    address = config.legacy_address
    arrow_schema = schema(entity.columns)
    buffer: dict[str, list[str | None]] = {c: [] for c in entity.columns}
    rows: list[int] = []
    for row_no, record in _records(path, source, entity, config):
        if address is not None:
            text = (record.get(address.column) or "").strip()
            code, status = standardise_legacy_address(text) if text else (None, None)
            record[address.ward_code], record[address.status] = code, status
        for column in entity.columns:
            value = record[column]
            buffer[column].append(value if value != "" else None)
        rows.append(row_no)
        if len(rows) >= chunk_rows:
            yield record_batch([buffer[c] for c in entity.columns], rows, arrow_schema)
            buffer = {c: [] for c in entity.columns}
            rows = []
    if rows:
        yield record_batch([buffer[c] for c in entity.columns], rows, arrow_schema)
