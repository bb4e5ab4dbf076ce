"""XML file drops: one entity's repeated element streamed into text record batches.

The file is parsed with ``xml.etree.ElementTree.iterparse`` and every element is cleared once
its record is read, so memory holds one top-level element (a parcel with its owners) at a
time, whatever the file's size. The encoding is the one the prolog declares (expat decodes
single-byte encodings such as windows-1258 through Python's codecs); a file declaring an
encoding its source does not list is refused. A column's path (``@attr``, ``Child``,
``Child/@attr``, ``../@attr``; include/ndc/registry.py ``XmlEntity``) that no record of the
file has fails the file, as a CSV header without a declared column does (for ``Child/@attr``
the element must occur; its attribute may be absent, as a parcel's ``<DiaChi>`` carries codes
or a text). A path some records lack is an optional element: null in those records.

What a record carries that no field maps is schema drift (:class:`Unmapped`), named by its
path in the registry's syntax (``@attr``, ``Child``, ``Child/@attr``, so it can be declared
as it is): listed in the manifest as the undeclared columns of a CSV header are, and kept in
the row's ``_extra``. Records of another entity nested in the record (a parcel's owners) are
that entity's, not drift; the enclosing element's attributes (``../@attr``) are the enclosing
record's.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

import pyarrow as pa

from ndc.extract.batch import ExtractError, extra_json, record_batch, schema, warn_drift
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
            f"does not know",
            reason="encoding",
            row=0,
        ) from exc
    allowed = {codecs.lookup(c).name for c in candidates}
    if name not in allowed:
        raise ExtractError(
            f"{source}: {path.name}: line 1: declares encoding {declared!r}, not one of the "
            f"source's encodings {candidates}",
            reason="encoding",
            row=0,
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


def _xml(elem: ElementTree.Element) -> str:
    """An element with its attributes and content as XML text (without what follows it)."""
    tail, elem.tail = elem.tail, None
    try:
        return ElementTree.tostring(elem, encoding="unicode")
    finally:
        elem.tail = tail


class Unmapped:
    """What of a record element the entity's fields do not map, as {path: value}:

    * an attribute of the record no ``@attr`` names: ``@attr``, its value;
    * a child element no field names (neither ``Child`` nor ``Child/@attr``): ``Child``, its
      text, and ``Child/@attr`` for each attribute; a child with elements of its own (which no
      field path can reach) as its XML text under ``Child``;
    * of a child a field names: its attributes no ``Child/@attr`` names, its text when
      ``Child`` is not mapped and it has some, and its own elements as ``Child/Sub`` (their
      text, or their XML when they have attributes or elements).

    A path found twice in a record (a repeated element) holds the list of its values. A
    mapped child's field reads its first occurrence; a later one is ``Child[n]`` (XPath's
    n-th), its text, or its XML when it has attributes or elements. A child element that is a
    record of another entity of the source (``record_paths``) is skipped."""

    def __init__(self, config: XmlEntity, record_paths: Iterable[str] = ()):
        paths = frozenset(config.fields.values())
        self.attributes = frozenset(p[1:] for p in paths if p.startswith("@"))
        # Each mapped child: the attributes fields name, and whether a field reads its text.
        self.children: dict[str, tuple[frozenset[str], bool]] = {}
        for tag in {p.partition("/@")[0] for p in paths if not p.startswith(("@", "../"))}:
            attrs = frozenset(p.partition("/@")[2] for p in paths if p.startswith(tag + "/@"))
            self.children[tag] = (attrs, tag in paths)
        prefix = config.record_path + "/"
        self.nested = frozenset(
            p[len(prefix) :].split("/")[0] for p in record_paths if p.startswith(prefix)
        )

    def __call__(self, record: ElementTree.Element) -> dict[str, object]:
        found: dict[str, object] = {}
        attrib = record.attrib
        if attrib and not attrib.keys() <= self.attributes:
            for name, value in attrib.items():
                if name not in self.attributes:
                    _add(found, "@" + name, value)
        seen: dict[str, int] = {}  # occurrences of each mapped child
        for child in record:
            tag = child.tag
            mapped = self.children.get(tag)
            if mapped is None:
                if tag not in self.nested:
                    _unmapped_child(found, tag, child)
                continue
            seen[tag] = n = seen.get(tag, 0) + 1
            if n > 1:  # the field read the first: a repeat is Child[n], XPath's n-th
                _add(
                    found, f"{tag}[{n}]", _xml(child) if len(child) or child.attrib else child.text
                )
                continue
            attrs, reads_text = mapped
            if child.attrib and not child.attrib.keys() <= attrs:
                for name, value in child.attrib.items():
                    if name not in attrs:
                        _add(found, f"{tag}/@{name}", value)
            if not reads_text and child.text and child.text.strip():
                _add(found, tag, child.text)
            for sub in child:
                _add(found, f"{tag}/{sub.tag}", _xml(sub) if len(sub) or sub.attrib else sub.text)
        return found


def _add(found: dict[str, object], key: str, value: str | None) -> None:
    """Record a path's value; a path found again in the record keeps the list of values."""
    value = value if value != "" else None  # as a declared field's
    if key not in found:
        found[key] = value
    elif isinstance(found[key], list):
        found[key].append(value)
    else:
        found[key] = [found[key], value]


def _unmapped_child(found: dict[str, object], tag: str, child: ElementTree.Element) -> None:
    if len(child):  # elements of its own, which no field path can reach: its XML
        _add(found, tag, _xml(child))
        return
    _add(found, tag, child.text)
    for name, value in child.attrib.items():
        _add(found, f"{tag}/@{name}", value)


def _records(
    path: Path, source: str, entity: Entity, config: XmlEntity, unmapped: Unmapped
) -> Iterator[tuple[int, dict[str, str | None], dict[str, object]]]:
    """(record number from 1, {column: text}, {unmapped path: value}) of every record
    element, streamed."""
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
                yield n, row, unmapped(elem)
                elem.clear()
            stack.pop()
            parents.pop()
            if not stack and root is not None:
                root.remove(elem)  # a top-level element read: drop it (bounded memory)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise ExtractError(
            f"{source}: {path.name}: line {line}, column {column}: malformed XML "
            f"(after {n} <{parts[-1]}> record(s), row {n + 1}): {exc}",
            reason="malformed_xml",
            row=n + 1,
        ) from exc
    missing = [c for c in config.fields if c not in seen]
    if n and missing:
        raise ExtractError(
            f"{source}: {entity.name}: {path.name}: missing column(s) {missing}: no "
            f"<{config.record_path}> record has {[config.fields[c] for c in missing]}",
            reason="missing_columns",
            row=0,
        )


def xml_chunks(
    path: Path,
    source: str,
    entity: Entity,
    chunk_rows: int,
    drift: dict | None = None,
    record_paths: Iterable[str] = (),
) -> Iterator[pa.RecordBatch]:
    """An entity's records of an XML file, numbered from 1 in document order, as text batches
    (the encoding is the prolog's, checked first by ``declared_encoding``).

    What the records carry unmapped (:class:`Unmapped`; `record_paths`: the record paths of
    the source's entities, whose nested records are not drift) is kept in each row's
    ``_extra``; its paths go to ``drift["undeclared_columns"]`` (the manifest's ``extra``) as
    they are found, each logged once."""
    config = entity.xml
    if config is None:
        raise ExtractError(f"{source}: {entity.name}: no xml mapping in the registry")
    drift = {} if drift is None else drift
    unmapped = Unmapped(config, record_paths)
    address = config.legacy_address
    arrow_schema = schema(entity.columns)
    buffer: dict[str, list[str | None]] = {c: [] for c in entity.columns}
    extra: list[str | None] = []
    rows: list[int] = []
    for row_no, record, other in _records(path, source, entity, config, unmapped):
        if address is not None:
            text = (record.get(address.column) or "").strip()
            code, status = standardise_legacy_address(text) if text else (None, None)
            record[address.ward_code], record[address.status] = code, status
        for column in entity.columns:
            value = record[column]
            buffer[column].append(value if value != "" else None)
        if other:
            listed = drift.setdefault("undeclared_columns", [])
            new = [k for k in other if k not in listed]
            if new:
                listed += new
                where = f"{path.name}: <{config.record_path}> record {row_no}"
                warn_drift(source, entity, new, where)
            extra.append(extra_json(other, other.values()))
        else:
            extra.append(None)
        rows.append(row_no)
        if len(rows) >= chunk_rows:
            yield _batch(buffer, entity, rows, arrow_schema, extra)
            buffer = {c: [] for c in entity.columns}
            extra, rows = [], []
    if rows:
        yield _batch(buffer, entity, rows, arrow_schema, extra)


def _batch(buffer, entity: Entity, rows: list[int], arrow_schema, extra: list) -> pa.RecordBatch:
    drifted = any(e is not None for e in extra)
    columns = [buffer[c] for c in entity.columns]
    return record_batch(columns, rows, arrow_schema, extra if drifted else None)
