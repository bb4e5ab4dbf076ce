"""File drops: CSV (in the encoding the province uses), Excel workbooks and XML files (each
entity its repeated element: ndc.extract.xml), each landed once."""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import logging
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pyarrow as pa

from ndc.extract.batch import (
    DEFAULT_CHUNK_ROWS,
    ExtractError,
    ExtractResult,
    SourceCountError,
    extra_json,
    land_batch,
    record_batch,
    schema,
    sha256_file,
    text,
    undeclared_columns,
)
from ndc.extract.source_count import count_csv, count_xlsx, count_xml_records
from ndc.extract.xml import declared_encoding, xml_chunks
from ndc.file_quarantine import SetAside, safe_component, set_aside, set_aside_record
from ndc.landing import MANIFEST_SUFFIX, LandingZone, LandingZoneError
from ndc.registry import Entity, Source, SourceKind

log = logging.getLogger(__name__)

SAMPLE_BYTES = 1 << 16


@cache
def _vietnamese_letters() -> frozenset[str]:
    """Every letter of Vietnamese, NFC, with and without tone marks, both cases."""
    bases = "aăâeêioôơuưy"
    tones = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
    letters = {unicodedata.normalize("NFC", b + t) for b in bases for t in tones}
    letters |= set("bcdđghklmnpqrstvx")
    return frozenset(letters | {c.upper() for c in letters})


def vietnamese_score(sample: str) -> float:
    """Share of the non-ASCII characters of a text that are Vietnamese letters."""
    text_nfc = unicodedata.normalize("NFC", sample)
    wide = [c for c in text_nfc if ord(c) > 127]
    if not wide:
        return 1.0
    letters = _vietnamese_letters()
    return sum(c in letters for c in wide) / len(wide)


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# A UTF-8 file with a few cells typed in a legacy font (a clerk's TCVN3 cell in a UTF-8
# export): decoded cell by cell, see decode_cell.
MIXED_UTF8 = "utf-8+cells"
FONT_ENCODINGS = frozenset({"tcvn3", "abc"})


def _has_utf8_cell(path: Path, delimiter: str) -> bool:
    """True when a cell beyond ASCII of the file (first 64 KiB) is valid UTF-8."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES).decode("latin-1")
    for row in csv.reader(io.StringIO(sample), delimiter=delimiter):
        for cell in row:
            if cell.isascii():
                continue
            try:
                cell.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False


def detect_encoding(path: Path, candidates: list[str], delimiter: str = ",") -> str:
    """The encoding a file was written in, among the source's declared candidates.

    UTF-8 is taken when the whole file decodes as UTF-8 (legacy Vietnamese bytes practically
    never do). A file that is not, but holds a cell beyond ASCII that is valid UTF-8, is a
    UTF-8 file with cells typed in a legacy font: ``MIXED_UTF8``, decoded cell by cell
    (decode_cell), so one such cell does not garble every name of the file. A name in
    Windows-1258 or TCVN3 is practically never valid UTF-8 (its marked letters are single
    bytes, and no two in a syllable make a UTF-8 sequence: none of 1,243 in the legacy files
    of a 30,000-person synthetic country), so one UTF-8 cell is the sign,
    even in a small file whose only line holds a legacy cell beside a UTF-8 one. Otherwise, of
    the legacy encodings that decode the file, the one whose text (first 64 KiB) reads most
    like Vietnamese wins: Windows-1258 and TCVN3 both accept almost any byte, but only the
    right one yields Vietnamese letters.
    """
    from ndc import textcodecs

    textcodecs.register()
    if "utf-8" in candidates and _decodes(path, "utf-8"):
        return "utf-8"
    legacy = [c for c in candidates if c != "utf-8"]
    if "utf-8" in candidates and legacy and _has_utf8_cell(path, delimiter):
        return MIXED_UTF8
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    scored = []
    for name in (c for c in candidates if c != "utf-8"):
        if _decodes(path, name):
            scored.append((vietnamese_score(sample.decode(name, errors="ignore")), name))
    if not scored:
        raise ExtractError(
            f"{path.name}: not readable in any declared encoding {candidates}", reason="encoding"
        )
    return max(scored, key=lambda s: s[0])[1]


_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def _cell_score(text_nfc: str) -> float:
    """How Vietnamese a decoded cell reads: the share of its characters beyond ASCII that are
    Vietnamese letters, not an upper-case letter inside a word ("NguyÔn" is TCVN3 read as
    Windows-1258) and not in a word with two tone marks (a syllable has one: "Nguyờịn" is
    Windows-1258 read as TCVN3)."""
    letters = _vietnamese_letters()
    good = total = 0
    for word in text_nfc.split():
        tones = sum(c in _TONE_MARKS for c in unicodedata.normalize("NFD", word))
        for i, c in enumerate(word):
            if ord(c) <= 127:
                continue
            total += 1
            inner_upper = c.isupper() and i > 0 and word[i - 1].islower()
            good += c in letters and not inner_upper and tones <= 1
    return good / total if total else 1.0


def decode_cell(data: bytes, legacy: list[str]) -> tuple[str, str]:
    """One cell of a UTF-8 file that may hold a few legacy cells: (text NFC, encoding used).

    UTF-8 when the cell's bytes are UTF-8; otherwise the legacy candidate whose reading is
    most Vietnamese (_cell_score). On a tie a font encoding (TCVN3) wins: legacy text gets
    into a Unicode file by being typed in a legacy font, while Windows-1258 is the code page
    of whole files ("Võ Phúc" in TCVN3 reads "Vâ Phóc" in Windows-1258, letters too)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    readings = [(unicodedata.normalize("NFC", data.decode(e, errors="replace")), e) for e in legacy]
    return max(readings, key=lambda r: (_cell_score(r[0]), r[1] in FONT_ENCODINGS))


class _Header:
    """Where a file's declared columns are, and its other columns (schema drift)."""

    def __init__(
        self, source: str, name: str, header: list[str], entity: Entity, drift: dict | None
    ):
        missing = [c for c in entity.columns if c not in header]
        if missing:
            raise ExtractError(
                f"{source}: {name}: missing column(s) {missing} of entity {entity.name}; "
                f"header is {header} (row 0, the header)",
                reason="missing_columns",
                row=0,
            )
        self.index = [header.index(c) for c in entity.columns]
        self._source, self._name, self._entity = source, name, entity
        self._drift = {} if drift is None else drift
        # Every other position keeps its values in _extra, under its header name, or under
        # "<name>#<position>" (1-based) when the name is empty or taken (a repeated column).
        taken, declared = set(entity.columns), set(self.index)
        self.extra: list[tuple[int, str]] = []
        for i, h in enumerate(header):
            if i in declared:
                continue
            key = h if h and h not in taken else f"{h}#{i + 1}"
            taken.add(key)
            self.extra.append((i, key))
        # A nameless column is drift once it carries a value (a spreadsheet's empty trailing
        # columns are not); the named ones are from the header on.
        self._unnamed = {key for i, key in self.extra if not header[i]}
        self._note([key for _, key in self.extra if key not in self._unnamed])

    def _note(self, keys: list[str]) -> None:
        new = undeclared_columns(self._source, self._entity, keys, self._name)
        if new:
            self._drift["undeclared_columns"] = self._drift.get("undeclared_columns", []) + new

    def row_extra(self, values: list[str | None]) -> str | None:
        """A row's _extra from its values at the undeclared positions."""
        found = extra_json([key for _, key in self.extra], values)
        if found is not None and self._unnamed:
            carried = [
                key for (_, key), v in zip(self.extra, values, strict=True)
                if v is not None and key in self._unnamed
            ]  # fmt: skip
            if carried:
                self._unnamed.difference_update(carried)
                self._note(carried)
        return found


def _chunks(
    records: Iterator[tuple[int, list]], header: _Header, entity: Entity, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    arrow_schema = schema(entity.columns)
    buffer: list[list[str | None]] = [[] for _ in entity.columns]
    extra: list[str | None] = []
    drifted = False
    rows: list[int] = []
    for row_no, record in records:
        for out, i in zip(buffer, header.index, strict=True):
            value = text(record[i])
            out.append(value if value != "" else None)
        if header.extra:
            values = [text(record[i]) or None for i, _ in header.extra]
            extra.append(header.row_extra(values))
            drifted = drifted or extra[-1] is not None
        rows.append(row_no)
        if len(rows) >= chunk_rows:
            yield record_batch(buffer, rows, arrow_schema, extra if drifted else None)
            buffer = [[] for _ in entity.columns]
            extra, drifted, rows = [], False, []
    if rows:
        yield record_batch(buffer, rows, arrow_schema, extra if drifted else None)


def csv_chunks(
    path: Path,
    source: str,
    entity: Entity,
    encoding: str,
    delimiter: str,
    chunk_rows: int,
    legacy: list[str] | None = None,
    drift: dict | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows of a CSV file, numbered from 1 after the header, as text record batches.

    A ``MIXED_UTF8`` file is read as Latin-1 (one character per byte, so the CSV structure,
    all ASCII, parses as in the bytes) and each cell's bytes are decoded by decode_cell,
    trying the `legacy` encodings the source declares."""
    mixed = encoding == MIXED_UTF8
    with open(path, encoding="latin-1" if mixed else encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        if mixed:
            reader = _CellDecoder(reader, legacy or [], f"{source}: {path.name}")
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise _csv_error(source, path, 0, reader.line_num, exc) from exc
        if header is None:
            raise ExtractError(
                f"{source}: {path.name}: empty file, expected a header row (row 0)",
                reason="empty_file",
                row=0,
            )
        header = [h.strip().lstrip("\ufeff") for h in header]
        columns = _Header(source, path.name, header, entity, drift)

        def records():
            row_no = 0
            rows = iter(reader)
            while True:
                try:
                    record = next(rows, None)
                except csv.Error as exc:
                    raise _csv_error(source, path, row_no + 1, reader.line_num, exc) from exc
                except UnicodeDecodeError as exc:
                    raise ExtractError(
                        f"{source}: {path.name}: row {row_no + 1} (after line "
                        f"{reader.line_num}): not {encoding}: {exc}",
                        reason="encoding",
                        row=row_no + 1,
                    ) from exc
                if record is None:
                    return
                row_no += 1
                if len(record) != len(header):
                    raise ExtractError(
                        f"{source}: {path.name}: row {row_no} (line {reader.line_num}) has "
                        f"{len(record)} fields, the header has {len(header)}",
                        reason="field_count",
                        row=row_no,
                    )
                yield row_no, record

        yield from _chunks(records(), columns, entity, chunk_rows)


def _csv_error(source: str, path: Path, row: int, line: int, exc: csv.Error) -> ExtractError:
    """A CSV syntax error (a field over the size limit, a quote left open, a NUL byte) naming
    the row and line."""
    reason = "field_too_large" if "field larger than field limit" in str(exc) else "csv_syntax"
    return ExtractError(
        f"{source}: {path.name}: row {row} (line {line}): not readable as CSV: {exc}",
        reason=reason,
        row=row,
    )


class _CellDecoder:
    """A csv reader over a Latin-1 reading of a mixed file whose rows come out decoded cell by
    cell; logs the cells that were not UTF-8."""

    def __init__(self, reader, legacy: list[str], where: str):
        self._reader = reader
        self._legacy = legacy
        self._where = where

    @property
    def line_num(self) -> int:
        return self._reader.line_num

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        row = next(self._reader)
        out = []
        for cell in row:
            if cell.isascii():
                out.append(cell)
                continue
            text_, used = decode_cell(cell.encode("latin-1"), self._legacy)
            if used != "utf-8":
                log.info("%s line %d: a %s cell in a UTF-8 file", self._where, self.line_num, used)
            out.append(text_)
        return out


# A workbook is a zip of XML parts: refuse one that would unpack to more than this, or whose
# large parts are compressed more than a spreadsheet's XML ever is (a decompression bomb).
MAX_XLSX_UNCOMPRESSED = 1 << 30
MAX_XLSX_RATIO = 200
RATIO_CHECKED_FROM = 16 << 20


def check_workbook_size(path: Path, source: str) -> None:
    """Fail before parsing a workbook that would unpack to a decompression bomb. The sizes are
    the zip directory's; reading a part stops at its declared size (zipfile), so a lying
    directory cannot unpack more."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as book:
            parts = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractError(
            f"{source}: {path.name}: not a readable .xlsx workbook (not a zip): {exc}",
            reason="not_xlsx",
            row=0,
        ) from exc
    total = sum(p.file_size for p in parts)
    worst = max(parts, key=lambda p: p.file_size / max(p.compress_size, 1), default=None)
    ratio = worst.file_size / max(worst.compress_size, 1) if worst else 0
    if total > MAX_XLSX_UNCOMPRESSED or (
        worst is not None and worst.file_size >= RATIO_CHECKED_FROM and ratio > MAX_XLSX_RATIO
    ):
        raise ExtractError(
            f"{source}: {path.name}: refused as a decompression bomb: unpacks to "
            f"{total} bytes (limit {MAX_XLSX_UNCOMPRESSED}); part {worst.filename!r} is "
            f"compressed {ratio:.0f}:1 (limit {MAX_XLSX_RATIO}:1 above "
            f"{RATIO_CHECKED_FROM} bytes)",
            reason="decompression_bomb",
            row=0,
        )


def xlsx_chunks(
    path: Path,
    source: str,
    entity: Entity,
    sheet: str | None,
    chunk_rows: int,
    drift: dict | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows of a worksheet (streamed, read-only), numbered from 1 after the header row."""
    from openpyxl import load_workbook

    check_workbook_size(path, source)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/... for a broken workbook
        raise ExtractError(
            f"{source}: {path.name}: not a readable .xlsx workbook: {exc!r}",
            reason="not_xlsx",
            row=0,
        ) from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ExtractError(
                f"{source}: {path.name}: no worksheet {sheet!r}; it has {book.sheetnames}",
                reason="missing_sheet",
                row=0,
            )
        rows = (book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise ExtractError(
                f"{source}: {path.name}: empty worksheet, expected a header row (row 0)",
                reason="empty_file",
                row=0,
            )
        header = [str(h).strip() if h is not None else "" for h in first]
        columns = _Header(source, path.name, header, entity, drift)

        def records():
            for row_no, record in enumerate(rows, start=1):
                if all(v is None for v in record):
                    continue  # formatted but empty rows at the end of a sheet
                yield row_no, list(record) + [None] * (len(header) - len(record))

        yield from _chunks(records(), columns, entity, chunk_rows)
    finally:
        book.close()


def extract_files(
    source: Source,
    inbox: Path,
    landing: LandingZone,
    day: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ExtractResult:
    """Land every new file of the inbox; a file already landed (same bytes) is skipped.

    A file that cannot be read is set aside with its reason (ndc.file_quarantine) and the
    others are still landed: ``result.set_aside`` lists them, and the same bytes are skipped
    with the same reason by the next run until a corrected file replaces them.
    """
    assert source.kind is SourceKind.FILES and source.files is not None
    config = source.files
    result = ExtractResult(source.name)
    if not inbox.is_dir():
        raise ExtractError(f"{source.name}: inbox folder {inbox} does not exist")
    names = sorted(p.name for p in inbox.iterdir() if p.is_file())
    counts: dict = {}  # an XML file's record counts, all its entities in one pass
    for entity in source.entities:
        landed = landing.landed_batch_ids(source.name, entity.name)
        by_bytes = _landed_by_bytes(landed)
        for name in (n for n in names if fnmatch.fnmatch(n, entity.pattern or "")):
            path = inbox / name
            digest = sha256_file(path)
            # Same name and bytes -> same batch: landed once. Changed bytes -> a new batch.
            # An XML file holds several entities (owners nested in parcels): one batch each.
            # The name as a safe key component: a file name with shell characters or
            # spaces cannot reach a landing key, a command or a path unchanged.
            stem = safe_component(path.stem)
            batch_id = (
                f"{stem}-{entity.name}-{digest[:12]}"
                if config.format == "xml"
                else f"{stem}-{digest[:12]}"
            )
            if batch_id in landed:
                result.skipped.append(batch_id)
                continue
            twin = by_bytes.get(digest[:12])
            if twin is not None and _rows_landed(landing, source.name, entity.name, twin):
                # The same bytes delivered again under another name: landing them would load
                # every row twice. Set aside, naming the batch that holds them.
                record = set_aside(
                    landing, source.name, entity.name, name, digest, "duplicate_file",
                    f"{source.name}: {name}: the same bytes as batch {twin}, "
                    "already landed: not landed again (its rows would be loaded twice)",
                )  # fmt: skip
                log.warning("set aside [duplicate_file]: %s", record.message)
                result.set_aside.append(record)
                continue
            before = set_aside_record(landing, source.name, entity.name, name, digest)
            if before is not None:
                log.warning("still set aside (same bytes): %s", before.message)
                result.set_aside.append(before)
                continue
            try:
                # The undeclared columns (schema drift), filled as the file is read.
                drift: dict = {}
                fields: dict = {"source_file": name, "source_sha256": digest, "extra": drift}
                if config.format == "xlsx":
                    chunks = xlsx_chunks(
                        path, source.name, entity, config.sheet, chunk_rows, drift=drift
                    )
                elif config.format == "xml":
                    fields["encoding"] = declared_encoding(path, source.name, config.encodings)
                    chunks = xml_chunks(
                        path,
                        source.name,
                        entity,
                        chunk_rows,
                        drift=drift,
                        record_paths=[e.xml.record_path for e in source.entities if e.xml],
                    )
                else:
                    fields["encoding"] = detect_encoding(path, config.encodings, config.delimiter)
                    chunks = csv_chunks(
                        path,
                        source.name,
                        entity,
                        fields["encoding"],
                        config.delimiter,
                        chunk_rows,
                        legacy=[e for e in config.encodings if e != "utf-8"],
                        drift=drift,
                    )
                manifest = land_batch(
                    landing,
                    source.name,
                    entity,
                    day,
                    batch_id,
                    chunks,
                    source_count=_counter(path, source, entity, counts.setdefault(digest, {})),
                    where=f"file {name}",
                    **fields,
                )
            except SourceCountError as exc:  # the extractor's bug, not the file's: fail loudly
                log.error("%s", exc)
                result.errors.append(str(exc))
                continue
            except LandingZoneError:  # the platform's trouble, not the file's: the task fails
                raise
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
                record = _set_aside_for(landing, source.name, entity.name, name, digest, exc)
                result.set_aside.append(record)
                continue
            result.landed.append(manifest)
            by_bytes[digest[:12]] = batch_id
    return result


def _counter(path: Path, source: Source, entity: Entity, known: dict[str, int]):
    """The file's record count by a parse apart from the extractor's (ndc.extract.source_count),
    as a call made once the extractor has read the file. An XML file's entities are counted in
    one pass, kept in `known` for the file's other entities."""
    config = source.files

    def count() -> int:
        try:
            if config.format == "xlsx":
                return count_xlsx(path, config.sheet)
            if config.format == "xml":
                if not known:
                    paths = [e.xml.record_path for e in source.entities if e.xml]
                    known.update(count_xml_records(path, paths))
                return known[entity.xml.record_path]
            return count_csv(path, config.delimiter)
        except Exception as exc:  # noqa: BLE001 - whatever the second parser raises
            raise SourceCountError(
                f"{source.name}.{entity.name}: file {path.name}: read by the extractor, but "
                f"its records could not be counted apart from it: {exc!r}",
                reason="count_failed",
            ) from exc

    return count


def _landed_by_bytes(batch_ids: set[str]) -> dict[str, str]:
    """The landed batches of an entity by the digest their id ends with (the file's sha256,
    first 12 hex digits): a file whose bytes are landed already, under any name."""
    return {b.rsplit("-", 1)[-1]: b for b in sorted(batch_ids)}


def _rows_landed(landing: LandingZone, source: str, entity: str, batch_id: str) -> int:
    """The rows a landed batch holds (from its manifest). A file of a header alone is left to
    land again under another name: two provinces' empty files are often the same bytes."""
    suffix = f"/{batch_id}{MANIFEST_SUFFIX}"
    for key in landing.manifests(source, entity):
        if key.endswith(suffix):
            return landing.read_manifest(key).rows_landed
    return 0


def _set_aside_for(
    landing: LandingZone, source: str, entity: str, name: str, digest: str, exc: Exception
) -> SetAside:
    """Set a file aside for the error its reading raised. An exception other than ndc's own
    (a reader's bug or an input no check foresaw) is set aside as ``unexpected_error`` with its
    traceback in the log: counted as a crash by the bad-input corpus (ndc.reliability)."""
    if isinstance(exc, ExtractError):
        reason, row, message = exc.reason, exc.row, str(exc)
    elif isinstance(exc, csv.Error):
        reason, row, message = "csv_syntax", None, f"{name}: not readable as CSV: {exc}"
    elif isinstance(exc, UnicodeDecodeError):
        reason, row, message = "encoding", None, f"{name}: {exc}"
    else:
        log.exception("%s: %s: unexpected error", source, name)
        reason, row = "unexpected_error", None
        message = f"{name}: unexpected {type(exc).__name__}: {exc}"
    if name not in message:
        message = f"{name}: {message}"
    if not message.startswith(source):
        message = f"{source}: {message}"
    log.warning("set aside [%s]: %s", reason, message)
    return set_aside(landing, source, entity, name, digest, reason, message, row)
