"""``make bench``: ndc's landing + load path against raw COPY and pandas ``to_sql``."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ndc.extract import land_batch
from ndc.landing import LocalLandingZone
from ndc.load import load_batch
from ndc.registry import load_registry, raw_table
from ndc.settings import Settings
from ndc.warehouse import connect, drop_database, ensure_database, ensure_raw_table

# Targets from the issue: ndc's load at least 0.6x raw COPY and 15x pandas to_sql.
TARGET_VS_COPY = 0.6
TARGET_VS_TO_SQL = 15.0
SOURCE, ENTITY = "civil_registration", "birth"


def synthetic_births(rows: int, seed: int = 1) -> pa.Table:
    """Rows shaped like provincial birth registrations (all text, as landed)."""
    rng = np.random.default_rng(seed)
    n = np.arange(rows)
    family = np.array(["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi"])
    given = np.array(["An", "Bình", "Cường", "Dũng", "Hà", "Lan", "Minh", "Ngọc", "Thảo"])
    day = rng.integers(1, 29, rows).astype(str)
    month = rng.integers(1, 13, rows).astype(str)
    cols = {
        "so_dang_ky": np.char.add("KS-01-", n.astype(str)),
        "ngay_dang_ky": np.char.add(np.char.add(day, "/"), np.char.add(month, "/2025")),
        "so_dinh_danh": np.char.zfill((rng.integers(0, 10**12, rows)).astype(str), 12),
        "ho_ten": np.char.add(
            np.char.add(rng.choice(family, rows), " Văn "), rng.choice(given, rows)
        ),
        "ngay_sinh": np.char.add(np.char.add(day, "/"), np.char.add(month, "/2025")),
        "gioi_tinh": rng.choice(np.array(["Nam", "Nữ"]), rows),
        "noi_sinh_tinh": rng.choice(np.array(["01", "79", "48", "31"]), rows),
        "ho_ten_me": np.char.add(rng.choice(family, rows), " Thị Hoa"),
        "so_dinh_danh_me": np.char.zfill((rng.integers(0, 10**12, rows)).astype(str), 12),
    }
    table = pa.table({k: pa.array(v.tolist(), pa.string()) for k, v in cols.items()})
    return table.append_column("_source_row", pa.array(n + 1, pa.int64()))


def _truncate(conn, table: str) -> None:
    conn.execute(f"truncate raw.{table}")
    conn.execute("truncate ops.load_ledger cascade")


def run_load_benchmark(settings: Settings, rows: int, log: Callable[[str], None] = print) -> str:
    """Run the three loads side by side on the same rows and return a printable table."""
    source = load_registry()[SOURCE]
    entity = source.entity(ENTITY)
    url = f"{settings.server_url}/{settings.db_prefix}_bench"
    ensure_database(url)
    table = raw_table(SOURCE, ENTITY)
    results: dict[str, float] = {}
    try:
        from ndc.warehouse import bootstrap

        bootstrap(url, {SOURCE: source})
        log(f"bench: generating {rows:,} rows")
        data = synthetic_births(rows)
        with tempfile.TemporaryDirectory(prefix="ndc-bench-") as tmp:
            landing = LocalLandingZone(Path(tmp) / "landing")
            csv_path = Path(tmp) / "rows.csv"
            with_batch = data.append_column("_batch_id", pa.array(["bench"] * rows, pa.string()))
            pacsv.write_csv(with_batch, csv_path, pacsv.WriteOptions(include_header=False))

            log("bench: ndc landing (Parquet + manifest)")
            t = time.perf_counter()
            manifest = land_batch(
                landing,
                SOURCE,
                entity,
                "2025-06-01",
                "bench",
                data.to_batches(max_chunksize=50_000),
            )
            results["ndc landing"] = time.perf_counter() - t

            with connect(url, autocommit=True) as conn:
                ensure_raw_table(conn, SOURCE, ENTITY, entity.columns)
                _truncate(conn, table)
                log("bench: ndc load (Parquet -> COPY, ledger, one transaction)")
                t = time.perf_counter()
                loaded = load_batch(conn, landing, manifest)
                results["ndc load"] = time.perf_counter() - t
                assert loaded == rows, f"ndc load copied {loaded} rows, expected {rows}"

                _truncate(conn, table)
                log("bench: raw COPY of the same rows from a CSV file")
                columns = ", ".join(with_batch.column_names)
                t = time.perf_counter()
                with (
                    conn.cursor() as cur,
                    cur.copy(f"copy raw.{table} ({columns}) from stdin (format csv)") as copy,
                    open(csv_path, "rb") as fh,
                ):
                    while block := fh.read(1 << 20):
                        copy.write(block)
                results["raw COPY"] = time.perf_counter() - t
                _truncate(conn, table)

            log("bench: pandas to_sql (the usual hand-written loader)")
            import sqlalchemy as sa

            frame = data.to_pandas()
            frame["_batch_id"] = "bench"
            engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
            t = time.perf_counter()
            frame.to_sql(
                table, engine, schema="raw", if_exists="append", index=False, chunksize=10_000
            )
            results["pandas to_sql"] = time.perf_counter() - t
            engine.dispose()
    finally:
        drop_database(url)
    return format_results(rows, results)


def format_results(rows: int, seconds: dict[str, float]) -> str:
    rate = {name: rows / s for name, s in seconds.items()}
    lines = [f"load benchmark: {rows:,} rows (raw.{SOURCE}__{ENTITY} shape, 9 text columns)", ""]
    lines.append(f"{'method':<16}{'seconds':>10}{'rows/s':>14}{'vs raw COPY':>14}{'vs to_sql':>12}")
    for name, s in seconds.items():
        lines.append(
            f"{name:<16}{s:>10.2f}{rate[name]:>14,.0f}{rate[name] / rate['raw COPY']:>13.2f}x"
            f"{rate[name] / rate['pandas to_sql']:>11.1f}x"
        )
    vs_copy = rate["ndc load"] / rate["raw COPY"]
    vs_sql = rate["ndc load"] / rate["pandas to_sql"]
    lines.append("")
    lines.append(
        f"ndc load vs raw COPY: {vs_copy:.2f}x (target >= {TARGET_VS_COPY}x) "
        f"{'PASS' if vs_copy >= TARGET_VS_COPY else 'FAIL'}"
    )
    lines.append(
        f"ndc load vs to_sql:   {vs_sql:.1f}x (target >= {TARGET_VS_TO_SQL}x) "
        f"{'PASS' if vs_sql >= TARGET_VS_TO_SQL else 'FAIL'}"
    )
    return "\n".join(lines)
