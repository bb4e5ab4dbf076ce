"""What ``ndc report`` prints: per source and entity the row counts of every stage, per
source agency the discrepancies to send back (marts.discrepancies_<source>) by kind, and the
six-property scorecard's latest figures per source and property (marts.quality_scorecard)."""

from __future__ import annotations

from psycopg import sql

from ndc.dictionary.measures import PROPERTIES
from ndc.file_quarantine import OPEN_SET_ASIDE
from ndc.population import citizen_count
from ndc.registry import Source, raw_table
from ndc.scorecard import SHARING_SOURCE, latest_figures
from ndc.scorecard import summary as scorecard_summary
from ndc.warehouse import connect, has_column

# Per batch, at source (the source's own count, ndc.extract.source_count) = extracted = landed
# = loaded = conformed + quarantined + linked (quarantined for the personal ID, then linked to a
# citizen by ndc.linkage.flow) + merged (duplicates collapsed into another row).
STAGES = ("at_source", "extracted", "landed", "loaded", "conformed", "quarantined", "linked",
          "merged")  # fmt: skip
# The kinds of marts.discrepancies_<source> (dbt_project/models/marts/discrepancies).
DISCREPANCY_KINDS = (
    "date_of_birth",
    "sex",
    "full_name",
    "dead_still_active",
    "pid_sex_year",
    "admin_unit_ambiguous",
)

_QUERY = """
select l.source, l.entity, count(*) as batches,
       -- null when a batch was landed before the source counted it: no partial sum
       case when count(l.rows_at_source) = count(*) then sum(l.rows_at_source) end,
       sum(l.rows_extracted), sum(l.rows_landed), sum(l.rows_loaded),
       coalesce(sum(r.rows_conformed), 0), coalesce(sum(r.rows_quarantined), 0),
       coalesce(sum(r.rows_linked), 0), coalesce(sum(r.rows_merged), 0),
       count(r.batch_id) as reconciled, count(*) filter (where r.balanced) as balanced
from ops.load_ledger l
left join ops.reconciliation r using (batch_id)
group by l.source, l.entity
"""


# A batch's row count once however many columns it lists (the first of its unnest).
_DRIFT = """
select source, entity, array_agg(distinct col order by col), min(loaded_at),
       coalesce(sum({rows}) filter (where ord = 1), 0)
from ops.load_ledger, unnest(undeclared_columns) with ordinality as u(col, ord)
group by source, entity
"""


def schema_drift(conn) -> dict[str, dict]:
    """``{"<source>.<entity>": {"columns": [...], "since": iso, "rows": n}}``: the columns
    sources sent that the registry does not declare, from the load ledger, and how many rows
    carried values of them (kept in the raw table's ``_extra``; batches loaded before
    ``_extra`` existed count none)."""
    if not has_column(conn, "ops", "load_ledger", "undeclared_columns"):
        return {}
    rows = "undeclared_rows" if has_column(conn, "ops", "load_ledger", "undeclared_rows") else "0"
    return {
        f"{source}.{entity}": {"columns": list(columns), "since": since.isoformat(), "rows": n}
        for source, entity, columns, since, n in conn.execute(_DRIFT.format(rows=rows))
    }


def set_aside_files(conn) -> list[dict]:
    """The files still set aside (ops.file_quarantine, no corrected file loaded since), each
    with its source, entity, file, sha256, reason code, message, row and when."""
    if not conn.execute("select to_regclass('ops.file_quarantine')").fetchone()[0]:
        return []
    names = ("source", "entity", "file", "sha256", "reason", "message", "row", "set_aside_at")
    return [
        {**dict(zip(names, r, strict=True)), "set_aside_at": r[-1].isoformat()}
        for r in conn.execute(OPEN_SET_ASIDE)
    ]


def discrepancy_counts(conn, source: str) -> dict:
    """``{"total": n, "by_kind": {kind: n}}`` from the source's discrepancy mart; zeros
    while the mart is not built yet."""
    by_kind = dict.fromkeys(DISCREPANCY_KINDS, 0)
    mart = f"marts.discrepancies_{source}"
    if conn.execute("select to_regclass(%s)", (mart,)).fetchone()[0]:
        query = sql.SQL("select discrepancy, count(*) from {} group by discrepancy").format(
            sql.Identifier("marts", f"discrepancies_{source}")
        )
        for kind, n in conn.execute(query):
            by_kind[kind] = int(n)
    return {"total": sum(by_kind.values()), "by_kind": by_kind}


def _last_deliveries(conn) -> dict:
    """The last delivery of every product (ops.sharing_log), by product."""
    from ndc.sharing.delivery import last_deliveries

    return {
        d.pop("product"): {**d, "delivered_at": d["delivered_at"].isoformat()}
        for d in last_deliveries(conn)
    }


def build_report(warehouse_url: str, population_url: str, sources: dict[str, Source]) -> dict:
    """The report as plain data, in the documented ``--json`` shape."""
    counts: dict[tuple[str, str], tuple] = {}
    with connect(warehouse_url) as conn:
        if conn.execute("select to_regclass('ops.reconciliation')").fetchone()[0]:
            counts = {(r[0], r[1]): r[2:] for r in conn.execute(_QUERY)}
        discrepancies = {name: discrepancy_counts(conn, name) for name in sources}
        drift = schema_drift(conn)
        aside = set_aside_files(conn)
        sharing = _last_deliveries(conn)
    report: dict = {
        "sources": {},
        "population": {"citizens": citizen_count(population_url)},
        "discrepancies": discrepancies,
        "schema_drift": drift,
        # Per source and property: the latest day, met (None: nothing measured), the worst
        # figure; {} while the scorecard is not built.
        "scorecard": scorecard_summary(
            [
                f
                for f in latest_figures(warehouse_url)
                if f.source in sources or f.source == SHARING_SOURCE
            ]
        ),
        "set_aside": aside,
        "sharing": sharing,
    }
    for source in sources.values():
        entities = report["sources"].setdefault(source.name, {})
        for entity in source.entities:
            batches, *stage_rows, reconciled, balanced = counts.get(
                (source.name, entity.name), (0,) * (len(STAGES) + 3)
            )
            entry = {stage: int(n or 0) for stage, n in zip(STAGES, stage_rows, strict=True)}
            if batches and stage_rows[0] is None:
                entry["at_source"] = None  # batches landed before the source counted them
            # Balanced when every loaded batch was reconciled and held.
            entry["balanced"] = bool(reconciled == batches and balanced == batches)
            entry["batches"] = int(batches)
            entities[entity.name] = entry
    return report


def _table(rows: list[tuple], left: set[int]) -> list[str]:
    """Fixed-width lines: a header, a rule, the rows; columns in ``left`` left-aligned."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            str(v).ljust(w) if i in left else str(v).rjust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_report(report: dict) -> str:
    """Fixed-width tables for people."""
    header = ("source", "entity", "batches", *STAGES, "reconciliation")
    rows = [header]
    for source, entities in report["sources"].items():
        for entity, e in entities.items():
            verdict = "balanced" if e["balanced"] else "NOT BALANCED"
            cells = (e.get(s) for s in STAGES)  # no source count (older batches): "-"
            rows.append((source, entity, e["batches"], *("-" if n is None else n for n in cells),
                         verdict))  # fmt: skip
    lines = _table(rows, left={0, 1, len(header) - 1})
    lines.append("")
    lines.append(f"population database: {report['population']['citizens']} citizens")
    discrepancies = report.get("discrepancies", {})
    if discrepancies:
        rows = [("discrepancies to send back", "total", *DISCREPANCY_KINDS)]
        for source, d in discrepancies.items():
            rows.append((source, d["total"], *(d["by_kind"][k] for k in DISCREPANCY_KINDS)))
        lines.append("")
        lines.extend(_table(rows, left={0}))
    scorecard = report.get("scorecard", {})
    if scorecard:
        lines.append("")
        lines.extend(_table(_scorecard_rows(scorecard), left=set(range(8))))
    for entity, d in report.get("schema_drift", {}).items():
        source, _, name = entity.partition(".")
        lines.append("")
        lines.append(
            f"schema drift: {entity} sends undeclared column(s) {', '.join(d['columns'])} "
            f"(since {d['since'][:19]}; {d.get('rows', 0)} row(s) with values, kept in "
            f"raw.{raw_table(source, name)}._extra, not conformed: declare them in "
            f"include/sources/{source}.yaml to conform them)"
        )
    aside = report.get("set_aside", [])
    if aside:
        lines.append("")
        lines.append(
            f"{len(aside)} file(s) set aside (not landed, not lost: fix the file and drop the "
            "corrected one into the inbox):"
        )
        for r in aside:
            where = f"{r['source']}.{r['entity']}"
            lines.append(f"  {where}  {r['file']}  [{r['reason']}]  {r['message']}")
    sharing = report.get("sharing", {})
    if sharing:
        rows = [("last delivery", "consumer", "delivery", "kind", "rows", "delivered at")]
        for product, d in sharing.items():
            rows.append(
                (
                    product,
                    d["consumer"],
                    d["delivery_id"],
                    d["kind"],
                    d["rows"],
                    d["delivered_at"][:19],
                )
            )
        lines.append("")
        lines.extend(_table(rows, left={0, 1, 2, 3, 5}))
    return "\n".join(lines)


def _scorecard_rows(scorecard: dict) -> list[tuple]:
    """Per source: each property's verdict; a missed one with its worst figure and target."""
    rows: list[tuple] = [("scorecard (latest day)", "day", *PROPERTIES)]
    for source, properties in scorecard.items():
        cells = []
        for prop in PROPERTIES:
            p = properties[prop]
            w = p["worst"]
            if w is None:
                cells.append(p["status"].replace("_", " "))
            elif p["met"]:
                cells.append("met")
            else:
                sign = "<" if w["value"] < w["target"] else ">"
                cells.append(f"MISSED {w['measure']} {w['value']:g} {sign} {w['target']:g}")
        day = next((p["day"] for p in properties.values() if p["day"]), "")
        rows.append((source, day, *cells))
    return rows
