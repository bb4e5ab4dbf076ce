"""``ndc evaluate``: how well the pipeline handles every injected defect, against the truth.

Three parts:

- :func:`score` is pure: the generator's truth (``truth/defects.parquet``) and the pipeline's
  outputs as DataFrames in, the per-class and clean-record scores out.
- :func:`read_outputs` pulls those outputs from a warehouse, per the shared output contract
  (staging views, ``quarantine.quarantined_rows``, ``quarantine.merged_duplicates``,
  ``marts.discrepancies_<source>``). A relation that does not exist yet is reported, not fatal.
- :func:`run_pipeline` runs the whole flow through Airflow on a country, into databases,
  a landing zone and an Airflow of its own (never the user's).

Record keys: the truth's ``record_key`` is each entity's source key, which is what staging
calls ``record_key`` (see :data:`RECORD_KEYS`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ndc.settings import DBT_PROJECT_DIR, Settings

# The truth's record_key is the source column below, and staging's record_key is that column
# trimmed (conform_text). Residence and social insurance ids are SQLite integers, so a
# household member's key is e.g. '128' on both sides.
RECORD_KEYS: dict[tuple[str, str], str] = {
    ("civil_registration", "birth"): "so_dang_ky",
    ("civil_registration", "death"): "so_dang_ky",
    ("civil_registration", "marriage"): "so_dang_ky",
    ("social_insurance", "insured_person"): "ma_so_bhxh",
    ("social_insurance", "contribution_period"): "id",
    ("residence", "residence_change"): "id",
    ("residence", "household_member"): "id",
    ("education", "student"): "student_id",
    ("education", "enrolment"): "enrolment_id",
    ("education", "graduation"): "graduation_id",
    ("business_registry", "enterprise"): "ma_so_thue",
}

# The ONE map from a defective source field (truth.field) to the staging column that holds
# its conformed value, read off dbt_project/models/staging/**.
FIELD_COLUMNS: dict[tuple[str, str], dict[str, str]] = {
    ("civil_registration", "birth"): {
        "ho_ten": "full_name",
        "ho_ten_me": "mother_full_name",
        "ngay_sinh": "date_of_birth",
        "ngay_dang_ky": "registration_date",
        "so_dinh_danh": "personal_id",
    },
    ("civil_registration", "death"): {
        "ho_ten": "full_name",
        "ngay_sinh": "date_of_birth",
        "ngay_mat": "date_of_death",
        "ngay_dang_ky": "registration_date",
        "so_dinh_danh": "personal_id",
    },
    ("civil_registration", "marriage"): {
        "ho_ten_chong": "husband_full_name",
        "ho_ten_vo": "wife_full_name",
        "ngay_sinh_chong": "husband_date_of_birth",
        "ngay_sinh_vo": "wife_date_of_birth",
        "ngay_dang_ky": "registration_date",
        "so_dinh_danh_chong": "husband_personal_id",
        "so_dinh_danh_vo": "wife_personal_id",
    },
    ("social_insurance", "insured_person"): {
        "ho_ten": "full_name",
        "ngay_sinh": "date_of_birth",
        "so_dinh_danh": "personal_id",
        "so_dien_thoai": "phone_e164",
    },
    ("residence", "residence_change"): {
        "ma_xa": "commune_code_2025",
        "ngay_bien_dong": "change_date",
        "so_dinh_danh": "personal_id",
    },
    ("education", "student"): {
        "full_name": "full_name",
        "date_of_birth": "date_of_birth",
        "citizen_id": "personal_id",
    },
    ("business_registry", "enterprise"): {
        "ho_ten_nguoi_dai_dien": "representative_full_name",
        "ngay_thanh_lap": "founding_date",
        "so_dinh_danh_nguoi_dai_dien": "representative_personal_id",
    },
}
# Source fields holding a person's name: their staging columns are checked against
# `<column>_raw` on clean records.
NAME_FIELDS = frozenset(
    {"ho_ten", "ho_ten_me", "ho_ten_chong", "ho_ten_vo", "full_name", "ho_ten_nguoi_dai_dien"}
)

# The discrepancy mart's `discrepancy` value for each discrepancy class.
DISCREPANCY_KINDS = {
    "dob_conflict": "date_of_birth",
    "pid_sex_year_mismatch": "pid_sex_year",
    "dead_still_active": "dead_still_active",
}

QUARANTINE_RELATION = "quarantine.quarantined_rows"
MERGED_RELATION = "quarantine.merged_duplicates"
SOURCES = ("civil_registration", "social_insurance", "residence", "education", "business_registry")
EXAMPLES = 5


def staging_relation(source: str, entity: str) -> str:
    return f"staging.stg_{source}__{entity}s"


def discrepancy_relation(source: str) -> str:
    return f"marts.discrepancies_{source}"


def name_columns(source: str, entity: str) -> list[str]:
    """The conformed person-name columns of one source entity."""
    fields = FIELD_COLUMNS.get((source, entity), {})
    return [column for f, column in fields.items() if f in NAME_FIELDS]


@dataclass
class Outputs:
    """What the pipeline produced; a relation that does not exist is None, named in missing."""

    staging: dict[tuple[str, str], pd.DataFrame | None]
    quarantined: pd.DataFrame | None
    merged: pd.DataFrame | None
    discrepancies: dict[str, pd.DataFrame | None]
    missing: list[str] = field(default_factory=list)


# --- scoring --------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A cell as comparable text: None for null, ISO for dates, NFC and trimmed otherwise."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def _collapsed(value: object) -> str | None:
    """A raw name as it should come out when nothing is wrong with it: NFC, single spaces."""
    text = _text(value)
    return " ".join(text.split()) if text else None


class _Context:
    """Lookups over the outputs, built once; records notes about what is missing."""

    def __init__(self, defects: pd.DataFrame, outputs: Outputs):
        self.outputs = outputs
        self.notes: list[str] = [f"{name} does not exist" for name in outputs.missing]
        self._noted: set[str] = set()
        self.quarantined: set[tuple] = set()
        if outputs.quarantined is not None:
            q = outputs.quarantined
            self.quarantined = set(
                zip(q.source, q.entity, q.record_key.map(_text), q.reason_code, strict=True)
            )
        self.merged: dict[tuple, set[str | None]] = {}
        if outputs.merged is not None:
            m = outputs.merged
            for key, survivor in zip(
                zip(m.source, m.entity, m.record_key.map(_text), strict=True),
                m.surviving_record_key.map(_text),
                strict=True,
            ):
                self.merged.setdefault(key, set()).add(survivor)
        self.discrepancies: dict[tuple, list[str | None]] = {}
        for frame in outputs.discrepancies.values():
            if frame is None:
                continue
            for key, reference in zip(
                zip(
                    frame.source,
                    frame.entity,
                    frame.record_key.map(_text),
                    frame.discrepancy,
                    strict=True,
                ),
                frame.reference_value.map(_text),
                strict=True,
            ):
                self.discrepancies.setdefault(key, []).append(reference)
        # Staging rows of the defective records only, by (source, entity, record_key).
        self.rows: dict[tuple, list[dict]] = {}
        for (source, entity), keys in defects.groupby(["source", "entity"]).record_key:
            frame = outputs.staging.get((source, entity))
            if frame is None:
                continue
            hit = frame[frame.record_key.map(_text).isin(set(keys))]
            for row in hit.to_dict("records"):
                self.rows.setdefault((source, entity, _text(row["record_key"])), []).append(row)

    def note(self, message: str) -> None:
        if message not in self._noted:
            self._noted.add(message)
            self.notes.append(message)

    def staging_has(self, source: str, entity: str, *columns: str) -> bool:
        """True when the staging view exists with these columns; else a note."""
        frame = self.outputs.staging.get((source, entity))
        relation = staging_relation(source, entity)
        if frame is None:
            self.note(f"{relation} does not exist")
            return False
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            self.note(f"{relation} has no column {', '.join(absent)}")
            return False
        return True

    def column(self, d) -> str | None:
        column = FIELD_COLUMNS.get((d.source, d.entity), {}).get(d.field)
        if column is None:
            self.note(f"no staging column known for {d.source}.{d.entity}.{d.field}")
        return column


# A check returns (handled, what the pipeline produced: shown for misses).
Check = tuple[bool, str | None]


def _check_quarantine(ctx: _Context, d) -> Check:
    if ctx.outputs.quarantined is None:
        return False, None
    hit = (d.source, d.entity, d.record_key, d.reason_code) in ctx.quarantined
    if hit:
        return True, d.reason_code
    got = sorted(
        q[3] for q in ctx.quarantined if q[:3] == (d.source, d.entity, d.record_key)
    )  # rare path (a miss): a scan is fine
    return False, ",".join(got) or "not quarantined"


def _check_value(ctx: _Context, d, column: str | None, expected: str | None) -> Check:
    """Every staging row of the record holds the expected value in the column."""
    if column is None or not ctx.staging_has(d.source, d.entity, column):
        return False, None
    rows = ctx.rows.get((d.source, d.entity, d.record_key), [])
    if not rows:
        return False, "no staging row"
    got = [_text(r[column]) for r in rows]
    return all(g == _text(expected) for g in got), "|".join(str(g) for g in got)


def _check_name(ctx: _Context, d) -> Check:
    return _check_value(ctx, d, ctx.column(d), d.clean_value)


def _check_date(ctx: _Context, d) -> Check:
    return _check_value(ctx, d, ctx.column(d), d.clean_value)


def _check_year_only(ctx: _Context, d) -> Check:
    column = ctx.column(d)
    if column is None:
        return False, None
    precision = f"{column}_precision"
    if not ctx.staging_has(d.source, d.entity, column, precision):
        return False, None
    ok, got = _check_value(ctx, d, column, f"{d.clean_value}-01-01")
    if not ok:
        return ok, got
    ok, got_precision = _check_value(ctx, d, precision, "year")
    return ok, f"{got} precision {got_precision}"


def _check_phone(ctx: _Context, d) -> Check:
    return _check_value(ctx, d, "phone_e164", d.clean_value)


def _check_cmnd(ctx: _Context, d) -> Check:
    return _check_value(ctx, d, "personal_id", d.clean_value)


def _check_admin_unambiguous(ctx: _Context, d) -> Check:
    return _check_value(ctx, d, "commune_code_2025", d.clean_value)


def _check_admin_ambiguous(ctx: _Context, d) -> Check:
    columns = ("admin_conversion_ambiguous", "commune_code_2025")
    if not ctx.staging_has(d.source, d.entity, *columns):
        return False, None
    rows = ctx.rows.get((d.source, d.entity, d.record_key), [])
    if not rows:
        return False, "no staging row"
    ok = all(
        r["admin_conversion_ambiguous"] is True and _text(r["commune_code_2025"]) is None
        for r in rows
    )
    got = "|".join(
        f"ambiguous={r['admin_conversion_ambiguous']} code={r['commune_code_2025']}" for r in rows
    )
    return ok, got


def _merged_into(ctx: _Context, d) -> Check:
    if ctx.outputs.merged is None:
        return False, None
    survivors = ctx.merged.get((d.source, d.entity, d.record_key), set())
    return _text(d.clean_value) in survivors, ",".join(sorted(map(str, survivors))) or "not merged"


def _check_duplicate_exact(ctx: _Context, d) -> Check:
    if not ctx.staging_has(d.source, d.entity, "duplicate_of_record_key"):
        return False, None
    rows = ctx.rows.get((d.source, d.entity, d.record_key), [])
    survivors = sum(_text(r["duplicate_of_record_key"]) is None for r in rows)
    merged, got = _merged_into(ctx, d)
    return survivors == 1 and merged, f"{survivors} of {len(rows)} rows kept; merged into {got}"


def _check_duplicate_near(ctx: _Context, d) -> Check:
    return _merged_into(ctx, d)


def _check_discrepancy(ctx: _Context, d) -> Check:
    if ctx.outputs.discrepancies.get(d.source) is None:
        return False, None
    kind = DISCREPANCY_KINDS[d.defect_class]
    references = ctx.discrepancies.get((d.source, d.entity, d.record_key, kind))
    if references is None:
        kinds = sorted(
            k[3] for k in ctx.discrepancies if k[:3] == (d.source, d.entity, d.record_key)
        )
        return False, ",".join(kinds) or "not reported"
    if d.defect_class == "dob_conflict":
        return _text(d.clean_value) in references, "|".join(map(str, references))
    return True, kind


CHECKS: dict[str, Callable[[_Context, object], Check]] = {
    "date_year_only": _check_year_only,
    "date_excel_serial": _check_date,
    "date_text_dmy": _check_date,
    "phone_old_11_digit": _check_phone,
    "cmnd_only": _check_cmnd,
    "admin_legacy_unambiguous": _check_admin_unambiguous,
    "admin_legacy_ambiguous": _check_admin_ambiguous,
    "duplicate_exact": _check_duplicate_exact,
    "duplicate_near": _check_duplicate_near,
    **{name: _check_discrepancy for name in DISCREPANCY_KINDS},
}


def _check_for(defect_class: str, expected_handling: str) -> Callable | None:
    if expected_handling == "quarantine":
        return _check_quarantine
    if defect_class.startswith("name_"):
        return _check_name
    return CHECKS.get(defect_class)


def _score_clean(defects: pd.DataFrame, ctx: _Context) -> dict:
    """Records without any injected defect: which were quarantined, merged, reported or renamed."""
    flawed = set(zip(defects.source, defects.entity, defects.record_key, strict=True))
    merged = set(ctx.merged)
    reported = {k[:3] for k in ctx.discrepancies}
    reasons = {"quarantined": 0, "merged": 0, "discrepancy": 0, "name_altered": 0}
    records = changed = 0
    examples: list[dict] = []
    for (source, entity), frame in sorted(ctx.outputs.staging.items()):
        if frame is None or frame.empty:
            continue
        frame = frame.reset_index(drop=True)
        triples = [(source, entity, _text(k)) for k in frame.record_key]
        clean = np.array([t not in flawed for t in triples], dtype=bool)
        frame = frame[clean].reset_index(drop=True)
        triples = [t for t, c in zip(triples, clean, strict=True) if c]
        records += len(frame)
        merged_flag = np.array([t in merged for t in triples], dtype=bool)
        if "duplicate_of_record_key" in frame:
            merged_flag |= frame.duplicate_of_record_key.notna().to_numpy()
        altered = np.zeros(len(frame), dtype=bool)
        for column in name_columns(source, entity):
            if column in frame and f"{column}_raw" in frame:
                conformed = frame[column].map(_text)
                raw = frame[f"{column}_raw"].map(_collapsed)
                same = (conformed == raw) | (conformed.isna() & raw.isna())
                altered |= ~same.to_numpy()
        flags = {
            "quarantined": frame.quarantine_reason_code.notna().to_numpy(),
            "merged": merged_flag,
            "discrepancy": np.array([t in reported for t in triples], dtype=bool),
            "name_altered": altered,
        }
        any_flag = np.zeros(len(frame), dtype=bool)
        for reason, flag in flags.items():
            reasons[reason] += int(flag.sum())
            any_flag |= flag
        changed += int(any_flag.sum())
        for i in any_flag.nonzero()[0][: max(0, EXAMPLES - len(examples))]:
            row = frame.iloc[i]
            examples.append(
                {
                    "source": source,
                    "entity": entity,
                    "record_key": triples[i][2],
                    "why": [r for r, f in flags.items() if f[i]],
                    "quarantine_reason_code": row.get("quarantine_reason_code"),
                    **{
                        c: f"{row.get(c + '_raw')!r} -> {row.get(c)!r}"
                        for c in name_columns(source, entity)
                        if c in row and f"{c}_raw" in row
                    },
                }
            )
    return {
        "records": records,
        "wrongly_changed": changed,
        "rate": changed / records if records else 0.0,
        "by_reason": reasons,
        "examples": examples,
    }


def score(defects: pd.DataFrame, outputs: Outputs) -> dict:
    """Per defect class of the truth: expected, handled as expected, rate; then clean records.

    ``defects`` has the columns of truth/defects.parquet. Returns the ``--json`` shape:
    ``{"classes": {cls: {"expected", "handled", "rate", ...}}, "clean": {...}, "notes": [...]}``.
    """
    defects = defects.copy()
    defects["record_key"] = defects.record_key.map(_text)
    ctx = _Context(defects, outputs)
    classes: dict[str, dict] = {}
    for defect_class, group in sorted(defects.groupby("defect_class"), key=lambda g: g[0]):
        handling = group.expected_handling.iloc[0]
        check = _check_for(defect_class, handling)
        if check is None:
            ctx.note(f"no check is defined for {defect_class} ({handling}): counted as not handled")
        handled = 0
        misses: list[dict] = []
        by_source: dict[str, list[int]] = {}
        for d in group.itertuples(index=False):
            ok, got = check(ctx, d) if check else (False, None)
            handled += ok
            counts = by_source.setdefault(f"{d.source}.{d.entity}", [0, 0])
            counts[0] += 1
            counts[1] += ok
            if not ok and len(misses) < EXAMPLES:
                misses.append(
                    {
                        "source": d.source,
                        "entity": d.entity,
                        "record_key": d.record_key,
                        "field": d.field,
                        "raw": d.raw_value,
                        "clean": d.clean_value,
                        "got": got,
                    }
                )
        classes[defect_class] = {
            "expected": len(group),
            "handled": int(handled),
            "rate": handled / len(group),
            "handling": handling,
            "by_entity": {k: {"expected": e, "handled": h} for k, (e, h) in by_source.items()},
            "misses": misses,
        }
    clean = _score_clean(defects, ctx)
    return {"classes": classes, "clean": clean, "notes": ctx.notes}


def format_table(result: dict) -> str:
    """The scores as a plain-text table, then the notes."""
    lines = [f"{'defect class':<26} {'handling':<12} {'expected':>8} {'handled':>8} {'rate':>8}"]
    lines.append("-" * len(lines[0]))
    for name, c in result["classes"].items():
        lines.append(
            f"{name:<26} {c.get('handling', ''):<12} {c['expected']:>8} {c['handled']:>8} "
            f"{c['rate']:>8.1%}"
        )
    clean = result["clean"]
    lines.append("-" * len(lines[0]))
    lines.append(
        f"{'clean records':<26} {'unchanged':<12} {clean['records']:>8} "
        f"{clean['records'] - clean['wrongly_changed']:>8} {1 - clean['rate']:>8.2%}"
    )
    lines.append(
        f"wrongly changed clean records: {clean['wrongly_changed']} ({clean['rate']:.3%})"
        + (
            " - " + ", ".join(f"{k} {v}" for k, v in clean.get("by_reason", {}).items() if v)
            if clean["wrongly_changed"]
            else ""
        )
    )
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


# --- reading the warehouse ------------------------------------------------------------------


def _frame(conn, relation: str, columns: str = "*") -> pd.DataFrame | None:
    if conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is None:
        return None
    cur = conn.execute(f"select {columns} from {relation}")  # names from this module only
    return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description], dtype=object)


def read_outputs(warehouse_url: str, entities: list[tuple[str, str]]) -> Outputs:
    """The contract's output relations from a warehouse; missing ones are None and listed."""
    from ndc.warehouse import connect

    missing: list[str] = []

    def read(conn, relation: str, columns: str = "*") -> pd.DataFrame | None:
        frame = _frame(conn, relation, columns)
        if frame is None:
            missing.append(relation)
        return frame

    with connect(warehouse_url) as conn:
        staging = {(s, e): read(conn, staging_relation(s, e)) for s, e in entities}
        quarantined = read(conn, QUARANTINE_RELATION, "source, entity, record_key, reason_code")
        merged = read(conn, MERGED_RELATION, "source, entity, record_key, surviving_record_key")
        discrepancies = {
            s: read(
                conn,
                discrepancy_relation(s),
                "source, entity, record_key, discrepancy, reference_value",
            )
            for s in sorted({s for s, _ in entities})
        }
    return Outputs(staging, quarantined, merged, discrepancies, missing)


def read_truth(data_dir: Path) -> pd.DataFrame:
    path = data_dir / "truth" / "defects.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no ground truth at {path}: is {data_dir} from `ndc generate`?")
    return pd.read_parquet(path).astype(object).where(lambda f: f.notna(), None)


# --- running the pipeline on its own stack --------------------------------------------------


def evaluation_settings(user: Settings) -> tuple[Path, str]:
    """Where an evaluation runs: NDC_HOME/evaluate and the database prefix <prefix>_eval."""
    return user.home / "evaluate", f"{user.db_prefix}_eval"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Replace every NDC_/AIRFLOW variable of this process by ``values``, restore afterwards."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("NDC_", "AIRFLOW")):
            del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drop_databases(settings: Settings) -> None:
    from ndc.warehouse import drop_database

    for role in ("warehouse", "population", "airflow"):
        drop_database(settings.database_url(role))


def dbt_parse(log: Callable[[str], None]) -> None:
    """Write dbt's manifest, which Cosmos renders the transform DAG from, with the profile and
    connection fields the transform's build runs with (ndc.dbt_profile), so that build starts
    from this parse (dbt drops a partial parse made with another profile)."""
    from ndc.dbt_profile import PROFILE_NAME, TARGET_NAME, env_for_url
    from ndc.settings import load

    dbt = Path(sys.executable).parent / "dbt"
    log("dbt: parsing the project (the manifest the transform DAG is rendered from)")
    proc = subprocess.run(
        [str(dbt if dbt.exists() else "dbt"), "parse", "--profiles-dir", ".", "--quiet"]
        + ["--profile", PROFILE_NAME, "--target", TARGET_NAME],
        cwd=DBT_PROJECT_DIR,
        env=os.environ | env_for_url(load().warehouse_url),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def settle(client, settings: Settings, log: Callable[[str], None], rounds: int = 4) -> int:
    """Transform and sync again until the population database stops changing.

    A sync changes the population database (new citizens, filled values, deaths), which the
    next transform conforms against (names take the population's marks, CMNDs resolve): the
    warehouse and the population database agree once a transform and its sync change nothing.
    Live, the next day's runs do this; an evaluation, which must compare a finished state,
    does it here. Returns the rounds run."""
    from ndc.airflow_runtime import AirflowError
    from ndc.compare import table_hashes
    from ndc.flow import _now

    def population() -> dict:
        return table_hashes(settings.population_url, ["public.citizen"])

    before = population()
    for n in range(1, rounds + 1):
        started = _now()
        run_id = client.trigger("transform")
        log(f"settling: transform run {run_id} (round {n})")
        client.wait_run("transform", run_id, log=log)
        if client.task_state("transform", run_id, "prepare_warehouse") == "skipped":
            # Nothing new since the last transform: its sync already ran on this warehouse.
            log(f"settled after {n} round(s): the transform had nothing to do")
            return n
        sync = client.wait_triggered_run("sync_population", after=started, log=log)
        client.wait_run("sync_population", sync["dag_run_id"], log=log)
        after = population()
        if after == before:
            log(f"settled after {n} round(s): the population database no longer changes")
            return n
        before = after
    raise AirflowError(f"the population database still changed after {rounds} settling rounds")


def run_pipeline(
    user: Settings,
    *,
    persons: int,
    seed: int,
    days: int,
    data_dir: Path | None,
    log: Callable[[str], None],
    cleanup: bool = False,
    daily: bool = True,
) -> tuple[Path, Outputs, str | None]:
    """Generate a country (unless ``data_dir``), run every DAG on it through an Airflow of its
    own, and read the outputs. Returns the data folder, the outputs and the pipeline's error
    (None when every run succeeded; the outputs are read either way).

    ``daily`` (a generated country only): the days arrive one at a time, as they would live:
    day 1 is generated and run through the flow, then the country is extended by one day and
    the flow runs again, up to ``days``. Otherwise every day is generated and run at once. Either
    way the pipeline then settles (:func:`settle`)."""
    from ndc.airflow_runtime import (
        ADMIN_USER,
        AirflowClient,
        AirflowError,
        admin_password,
        airflow_env,
        down,
        up,
    )
    from ndc.flow import run_flow
    from ndc.population import load_baseline
    from ndc.registry import load_registry
    from ndc.settings import load
    from ndc.stack import databases_up
    from ndc.synthetic import generate
    from ndc.synthetic.education_api import serve

    home, prefix = evaluation_settings(user)
    if data_dir is not None and data_dir.resolve().is_relative_to(home.resolve()):
        raise ValueError(f"{data_dir} is inside {home}, which every evaluation starts afresh")
    if user.embedded:
        from ndc import embedded

        log(f"postgres: embedded server on 127.0.0.1:{user.pg_port} ({user.pgdata})")
        embedded.start(user.pgdata, user.pg_port)
    env = {
        "NDC_HOME": str(home),
        "NDC_PG_URL": user.server_url,
        "NDC_DB_PREFIX": prefix,
        "NDC_AIRFLOW_PORT": str(_free_port()),
    }
    sources = load_registry()
    with _environment(env):
        settings = load()
        # What an earlier evaluation left behind (an interrupted run) goes first.
        down(settings, log=log)
        _drop_databases(settings)
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        daily = daily and data_dir is None and days > 1
        if data_dir is None:
            data_dir = home / "sources"
            first = 1 if daily else days
            log(f"generating {persons} persons (seed {seed}, {first} day(s)) into {data_dir}")
            generate(data_dir, persons=persons, seed=seed, days=first)
        data_dir = data_dir.resolve()
        read_truth(data_dir)  # fail early on a folder without ground truth
        os.environ["NDC_DATA_DIR"] = str(data_dir)
        api, api_url = serve(data_dir / "education" / "education.sqlite", port=0)
        os.environ["NDC_SOURCE_EDUCATION_URL"] = api_url
        log(f"sources: education API on {api_url}")
        settings = load()
        error = None
        try:
            databases_up(settings, sources, log=log)
            baseline = data_dir / "population_db" / "baseline.parquet"
            log(f"population: loaded {load_baseline(settings.population_url, baseline)} citizens")
            dbt_parse(log)
            url = up(settings, airflow_env(settings, sources), log=log)
            log(f"airflow: {url} (home {settings.airflow_home})")
            client = AirflowClient(url, ADMIN_USER, admin_password(settings))
            try:
                run_flow(client, list(sources), log=log)
                for day in range(2, days + 1) if daily else ():
                    log(f"day {day}: extending the country by one day")
                    generate(data_dir, persons=persons, seed=seed, days=day)
                    run_flow(client, list(sources), log=log)
                settle(client, settings, log=log)
            except AirflowError as exc:
                error = str(exc)
                log(f"pipeline failed: {error}; scoring what it produced")
            log("reading the outputs from the warehouse")
            entities = [(s.name, e.name) for s in sources.values() for e in s.entities]
            outputs = read_outputs(settings.warehouse_url, entities)
        finally:
            down(settings, log=log)
            api.shutdown()
            if cleanup:
                log(f"dropping the evaluation databases ({prefix}_*) and {home}")
                _drop_databases(settings)
                shutil.rmtree(home, ignore_errors=True)
        if not cleanup:
            log(f"outputs kept in {settings.warehouse_url} (dropped by the next evaluation)")
    return data_dir, outputs, error
