"""``ndc bench --only count``: what counting each file at the source (a second parse,
ndc.extract.source_count) adds to its extract, on big synthetic files of each format.

The extract of a file includes its count (ndc.extract.files); the count is also timed alone,
so the extract without it is the difference, and the overhead is count / (extract - count).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ndc.bench import synthetic_births
from ndc.extract.files import extract_files
from ndc.extract.source_count import count_csv, count_xlsx, count_xml_records
from ndc.landing import LocalLandingZone
from ndc.registry import Source, load_registry

# Workbooks are ten times smaller: openpyxl writes and reads them at a tenth of CSV's pace.
XLSX_SHARE = 10


def _write_csv(path: Path, rows: int) -> None:
    import pyarrow.csv as pacsv

    table = synthetic_births(rows)
    pacsv.write_csv(table.drop_columns(["_source_row"]), path)


def _write_xml(path: Path, rows: int) -> None:
    """Land registry parcels, one owner each, in the shape of the synthetic country's files."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<DuLieuDatDai MaTinh="01">\n')
        for i in range(rows):
            fh.write(
                f'<ThuaDat MaThua="P{i}" SoTo="12" SoThua="{i}"><DienTich>250.5</DienTich>'
                '<MucDichSuDung>ONT</MucDichSuDung><DiaChi MaHuyen="001" MaXa="00001"/>'
                f'<NgayCapNhat>2025-06-28</NgayCapNhat><ChuSuDung STT="1"><SoDinhDanh>'
                f"{i:012d}</SoDinhDanh><HoTen>Nguyễn Văn An</HoTen><NgaySinh>1990-01-02"
                "</NgaySinh><TyLeSoHuu>100</TyLeSoHuu><MaXaThuongTru>00004</MaXaThuongTru>"
                "</ChuSuDung></ThuaDat>\n"
            )
        fh.write("</DuLieuDatDai>\n")


def _write_xlsx(path: Path, source: Source, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(source.files.sheet)
    columns = source.entities[0].columns
    sheet.append(columns)
    for i in range(rows):
        sheet.append([f"{c} {i}" if c != columns[0] else f"{i:010d}" for c in columns])
    book.save(path)


def _time(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def run_count_benchmark(rows: int, work: Path, log: Callable[[str], None] = print) -> dict:
    """Per format: rows, file size, the extract's seconds (count included), the count's
    alone, and the overhead of the count on the extract without it."""
    registry = load_registry()
    cases = [
        ("csv", "civil_registration", "births_01_20250601.csv", rows),
        ("xml", "land_registry", "land_01_20250628.xml", rows),
        ("xlsx", "business_registry", "enterprises_2025W26.xlsx", rows // XLSX_SHARE),
    ]
    results = {}
    for fmt, name, file_name, n in cases:
        source = registry[name]
        inbox = work / name / "inbox"
        inbox.mkdir(parents=True)
        path = inbox / file_name
        log(f"count bench: writing {n:,} {fmt} rows ({name})")
        if fmt == "csv":
            _write_csv(path, n)
        elif fmt == "xml":
            _write_xml(path, n)
        else:
            _write_xlsx(path, source, n)
        log(f"count bench: extracting {path.name} ({path.stat().st_size / 1e6:.0f} MB)")
        landing = LocalLandingZone(work / name / "landing")
        extract_s, result = _time(lambda: extract_files(source, inbox, landing, "2025-07-01"))  # noqa: B023
        assert not result.errors and not result.set_aside, result.summary()
        log(f"count bench: counting {path.name} alone")
        if fmt == "csv":
            count_s, counted = _time(lambda: count_csv(path, source.files.delimiter))  # noqa: B023
        elif fmt == "xml":
            record_paths = [e.xml.record_path for e in source.entities]
            count_s, counted = _time(lambda: count_xml_records(path, record_paths))  # noqa: B023
            counted = counted[record_paths[0]]
        else:
            count_s, counted = _time(lambda: count_xlsx(path, source.files.sheet))  # noqa: B023
        assert counted == n, (fmt, counted, n)
        results[fmt] = {
            "rows": n,
            "entities": len(result.landed),
            "mb": round(path.stat().st_size / 1e6, 1),
            "extract_s": round(extract_s, 2),
            "count_s": round(count_s, 2),
            "overhead": round(count_s / max(extract_s - count_s, 1e-9), 3),
        }
    return results


def format_summary(results: dict) -> str:
    lines = [
        "count at the source: a second parse of each file, beside its extract",
        "",
        f"{'format':<8}{'rows':>11}{'MB':>8}{'extract s':>11}{'count s':>9}{'overhead':>10}",
    ]
    for fmt, r in results.items():
        lines.append(
            f"{fmt:<8}{r['rows']:>11,}{r['mb']:>8.0f}{r['extract_s']:>11.2f}{r['count_s']:>9.2f}"
            f"{r['overhead']:>10.1%}"
        )
    lines.append("")
    lines.append(
        "extract s: the whole extract of the file (every entity; its counts included); "
        "overhead: count / (extract - count)"
    )
    return "\n".join(lines)
