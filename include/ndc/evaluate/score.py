"""The scores of an evaluation, pure: the generator's truth (``truth/defects.parquet``) and the
pipeline's outputs (:class:`ndc.evaluate.outputs.Outputs`) in, the per-class and clean-record
scores out."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pandas as pd

from ndc.evaluate.outputs import Outputs, staging_relation
from ndc.registry import ColumnKind, load_registry

_ENTITIES = [(s.name, e) for s in load_registry().values() for e in s.entities]
# The ONE map from a defective source field (truth.field) to the staging column that holds
# its conformed value: each registry entity's `conform` (include/sources/*.yaml).
FIELD_COLUMNS: dict[tuple[str, str], dict[str, str]] = {
    (source, entity.name): {column: c.to for column, c in entity.conform.items()}
    for source, entity in _ENTITIES
    if entity.conform
}
# Source fields holding a person's name, by entity: their staging columns are checked against
# `<column>_raw` on clean records.
NAME_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    (source, entity.name): frozenset(
        column for column, c in entity.conform.items() if c.kind is ColumnKind.PERSON_NAME
    )
    for source, entity in _ENTITIES
}

# The discrepancy mart's `discrepancy` value for each discrepancy class.
DISCREPANCY_KINDS = {
    "dob_conflict": "date_of_birth",
    "pid_sex_year_mismatch": "pid_sex_year",
    "dead_still_active": "dead_still_active",
}

EXAMPLES = 5


def name_columns(source: str, entity: str) -> list[str]:
    """The conformed person-name columns of one source entity."""
    fields = FIELD_COLUMNS.get((source, entity), {})
    names = NAME_FIELDS.get((source, entity), frozenset())
    return [column for f, column in fields.items() if f in names]


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
        if outputs.linked is not None:
            # Quarantined for the reason, then linked to a citizen: handled as expected.
            q = outputs.linked
            self.quarantined |= set(
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


def _check_partial_date(ctx: _Context, d) -> Check:
    """date_zero_parts: clean_value "YYYY-MM" (month precision) or "YYYY" (year precision)."""
    column = ctx.column(d)
    if column is None or not ctx.staging_has(d.source, d.entity, column, f"{column}_precision"):
        return False, None
    month = len(d.clean_value) == 7
    expected = f"{d.clean_value}-01" if month else f"{d.clean_value}-01-01"
    ok, got = _check_value(ctx, d, column, expected)
    if not ok:
        return ok, got
    precision = "month" if month else "year"
    ok, got_precision = _check_value(ctx, d, f"{column}_precision", precision)
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
    "phone_international": _check_phone,
    "pid_spreadsheet": _check_date,  # the field's staging column holds the clean value
    "date_zero_parts": _check_partial_date,
    "date_separators": _check_date,
    "cmnd_only": _check_cmnd,
    "admin_legacy_unambiguous": _check_admin_unambiguous,
    "admin_legacy_ambiguous": _check_admin_ambiguous,
    "admin_address_text": _check_admin_unambiguous,
    "admin_address_split": _check_admin_ambiguous,
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


def score(defects: pd.DataFrame, outputs: Outputs, cases: pd.DataFrame | None = None) -> dict:
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
    out = {"classes": classes, "clean": clean, "notes": ctx.notes}
    if outputs.links is not None:
        out["linkage"] = score_linkage(defects, outputs.links, cases)
    return out


LINKAGE_CLASSES = ("pid_missing", "pid_malformed", "pid_unknown_province")


def score_linkage(
    defects: pd.DataFrame, links: pd.DataFrame, cases: pd.DataFrame | None = None
) -> dict:
    """The linkage of records without a usable ID against the truth (the true personal ID is
    the defect's clean value): precision, recall and F1 of the auto-link band over the
    records linkage scored, and the size of the review band (and how often its candidate is
    the person). With the hard cases of truth/linkage_cases.parquet (``cases``), the same per
    case (``by_case``; records of no hard case are ``plain``)."""
    truth = {
        (d.source, d.entity, _text(d.record_key)): _text(d.clean_value)
        for d in defects.itertuples(index=False)
        if d.defect_class in LINKAGE_CLASSES
    }
    case_of = {}
    if cases is not None:
        case_of = {
            (c.source, c.entity, _text(c.record_key)): c.case for c in cases.itertuples(index=False)
        }
    tallies: dict[str, dict[str, int]] = {}
    for r in links.itertuples(index=False):
        key = (r.source, r.entity, _text(r.record_key))
        if key not in truth:
            continue
        right = _text(r.personal_id) == truth[key]
        for name in ("all", case_of.get(key, "plain")) if case_of else ("all",):
            t = tallies.setdefault(name, dict.fromkeys(_TALLIES, 0))
            t["records"] += 1
            if r.band == "auto_link":
                t["auto_link"] += 1
                t["auto_link_right"] += right
            elif r.band == "review":
                t["review"] += 1
                t["review_right"] += right
    out = _linkage_scores(tallies.get("all", dict.fromkeys(_TALLIES, 0)))
    if case_of:
        out["by_case"] = {
            name: _linkage_scores(t) for name, t in sorted(tallies.items()) if name != "all"
        }
    return out


_TALLIES = ("records", "auto_link", "auto_link_right", "review", "review_right")


def _linkage_scores(t: dict[str, int]) -> dict:
    auto, right, scored = t["auto_link"], t["auto_link_right"], t["records"]
    precision = right / auto if auto else 1.0
    recall = right / scored if scored else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": scored,
        "auto_link": auto,
        "auto_link_right": right,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "review": t["review"],
        "review_right": t["review_right"],
        "non_link": scored - auto - t["review"],
    }


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
    linkage = result.get("linkage")
    if linkage:
        lines.append(
            f"linkage of {linkage['records']} records without a usable ID: auto-linked "
            f"{linkage['auto_link']} (precision {linkage['precision']:.2%}, recall "
            f"{linkage['recall']:.2%}, F1 {linkage['f1']:.3f}), review {linkage['review']} "
            f"({linkage['review_right']} right), not linked {linkage['non_link']}"
        )
        for case, c in linkage.get("by_case", {}).items():
            lines.append(
                f"  {case:<14} {c['records']:>5} records: auto-linked {c['auto_link']} "
                f"({c['auto_link'] - c['auto_link_right']} wrong, recall {c['recall']:.2%}), "
                f"review {c['review']} ({c['review_right']} right), not linked {c['non_link']}"
            )
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)
