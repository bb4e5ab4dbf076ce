"""The source's own count of a file's records, by a parse apart from the extractor's.

The reconciliation starts at the source: a batch's ``rows_at_source`` must equal the rows the
extractor wrote (ndc.extract.batch.BatchWriter.land), so an extractor that skips a record
cannot balance. Each count reads the file again with another parser than the extractor's, so
a bug in one does not hide in the other:

* CSV: pyarrow's C++ CSV reader over the bytes (the extractor: Python's ``csv`` module over the
  decoded text). Every encoding a source declares (UTF-8, Windows-1258, TCVN3) keeps ASCII's
  bytes for the delimiter, quote and line end, so the records are counted without decoding;
  columns are read as binary and then dropped.
* xlsx: the worksheet's XML part unzipped and streamed through expat, counting ``<row>``
  elements holding a value (the extractor: openpyxl's read-only cells; rows without a value,
  a sheet's formatted empty rows, are skipped by both), less the header row.
* XML: expat's element events counted at the entity's record path (the extractor:
  ElementTree's ``iterparse`` and its field mapping).

SQL sources are counted by a ``count(*)`` of the window in the extract's snapshot
(ndc.extract.sql), API sources by the ``total`` the API reports (ndc.extract.api).
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from xml.parsers import expat

from ndc.extract.batch import ExtractError

# A record (with its quoted line ends) must fit in one block of pyarrow's reader.
CSV_BLOCK_BYTES = 16 << 20


def count_csv(path: Path, delimiter: str) -> int:
    """Data records of a CSV file (the header excluded), counted by pyarrow's reader: every
    record is tokenised (a quoted line end stays in its field), only the first column is
    converted, as bytes (no decoding)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        reader = pacsv.open_csv(
            fh,
            read_options=pacsv.ReadOptions(
                block_size=CSV_BLOCK_BYTES, autogenerate_column_names=True
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=["f0"], column_types={"f0": pa.binary()}
            ),
        )
        records = sum(batch.num_rows for batch in reader)
    return max(records - 1, 0)  # the header


def _local(name: str) -> str:
    """An element's name without its namespace (expat, no namespace processing)."""
    return name.rpartition(":")[2]


def _sheet_part(book: zipfile.ZipFile, sheet: str | None) -> str:
    """The zip member of a workbook's worksheet (`sheet`, or the first), by the workbook's
    sheet list and its relationships."""
    sheets: list[tuple[str, str]] = []  # (name, relationship id)
    targets: dict[str, str] = {}

    def on_sheet(name, attrs):
        if _local(name) == "sheet":
            rel = next((v for k, v in attrs.items() if _local(k) == "id"), "")
            sheets.append((attrs.get("name", ""), rel))

    def on_rel(name, attrs):
        if _local(name) == "Relationship":
            targets[attrs.get("Id", "")] = attrs.get("Target", "")

    for member, handler in (("xl/workbook.xml", on_sheet), ("xl/_rels/workbook.xml.rels", on_rel)):
        parser = expat.ParserCreate()
        parser.StartElementHandler = handler
        parser.Parse(book.read(member), True)
    chosen = next((s for s in sheets if sheet is None or s[0] == sheet), None)
    if chosen is None or chosen[1] not in targets:
        raise ExtractError(f"no worksheet {sheet!r} in the workbook's parts", reason="count_failed")
    target = targets[chosen[1]]
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def count_xlsx(path: Path, sheet: str | None) -> int:
    """Data rows of a worksheet (the header row excluded): ``<row>`` elements of its XML part
    with a cell value (``<v>`` with text, or an inline string ``<is>``), streamed by expat."""
    count = 0
    state = {"row": False, "valued": False, "in_v": False}

    def start(name, _attrs):
        tag = _local(name)
        if tag == "row":
            state["row"], state["valued"] = True, False
        elif tag == "is" and state["row"]:
            state["valued"] = True
        elif tag == "v":
            state["in_v"] = True

    def chars(data):
        if state["in_v"] and data.strip():
            state["valued"] = True

    def end(name):
        nonlocal count
        tag = _local(name)
        if tag == "v":
            state["in_v"] = False
        elif tag == "row":
            count += state["valued"]
            state["row"] = False

    with zipfile.ZipFile(path) as book, book.open(_sheet_part(book, sheet)) as part:
        parser = expat.ParserCreate()
        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.CharacterDataHandler = chars
        parser.ParseFile(part)
    return max(count - 1, 0)  # the header row


def count_xml(path: Path, record_path: str) -> int:
    """Elements at `record_path` (below the root, as the registry's ``xml.record_path``) of
    an XML file, streamed by expat; names as ElementTree spells them (``{uri}local``)."""
    return count_xml_records(path, [record_path])[record_path]


def count_xml_records(path: Path, record_paths: list[str]) -> dict[str, int]:
    """Elements at each of `record_paths` of an XML file, in one streamed pass (a file holds
    several entities, a parcel's owners nested in it: one pass counts them all)."""
    wanted = {tuple(p.split("/")): p for p in record_paths}
    depths = {len(parts) for parts in wanted}
    lasts = {parts[-1] for parts in wanted}
    counts = dict.fromkeys(record_paths, 0)
    stack: list[str] = []

    def start(name, _attrs):
        if "}" in name:
            uri, _, local = name.rpartition("}")
            name = f"{{{uri}}}{local}"
        stack.append(name)

    def end(_name):
        # Below the root: the stack's tail; cheap tests first, most elements fail them.
        if len(stack) - 1 in depths and stack[-1] in lasts:
            found = wanted.get(tuple(stack[1:]))
            if found is not None:
                counts[found] += 1
        stack.pop()

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler, parser.EndElementHandler = start, end
    with open(path, "rb") as fh:
        parser.ParseFile(fh)
    return counts
