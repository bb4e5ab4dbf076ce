"""What ``ndc report`` prints: per source and entity the row counts of every stage."""

from __future__ import annotations

from ndc.population import citizen_count
from ndc.registry import Source
from ndc.warehouse import connect

# Per batch, loaded = conformed + quarantined + merged (duplicates collapsed into another row).
STAGES = ("extracted", "landed", "loaded", "conformed", "quarantined", "merged")

_QUERY = """
select l.source, l.entity, count(*) as batches,
       sum(l.rows_extracted), sum(l.rows_landed), sum(l.rows_loaded),
       coalesce(sum(r.rows_conformed), 0), coalesce(sum(r.rows_quarantined), 0),
       coalesce(sum(r.rows_merged), 0),
       count(r.batch_id) as reconciled, count(*) filter (where r.balanced) as balanced
from ops.load_ledger l
left join ops.reconciliation r using (batch_id)
group by l.source, l.entity
"""


def build_report(warehouse_url: str, population_url: str, sources: dict[str, Source]) -> dict:
    """The report as plain data, in the documented ``--json`` shape."""
    counts: dict[tuple[str, str], tuple] = {}
    with connect(warehouse_url) as conn:
        if conn.execute("select to_regclass('ops.reconciliation')").fetchone()[0]:
            counts = {(r[0], r[1]): r[2:] for r in conn.execute(_QUERY)}
    report: dict = {"sources": {}, "population": {"citizens": citizen_count(population_url)}}
    for source in sources.values():
        entities = report["sources"].setdefault(source.name, {})
        for entity in source.entities:
            batches, *stage_rows, reconciled, balanced = counts.get(
                (source.name, entity.name), (0,) * (len(STAGES) + 3)
            )
            entry = {stage: int(n or 0) for stage, n in zip(STAGES, stage_rows, strict=True)}
            # Balanced when every loaded batch was reconciled and held.
            entry["balanced"] = bool(reconciled == batches and balanced == batches)
            entry["batches"] = int(batches)
            entities[entity.name] = entry
    return report


def format_report(report: dict) -> str:
    """A fixed-width table for people."""
    header = ("source", "entity", "batches", *STAGES, "reconciliation")
    rows = [header]
    for source, entities in report["sources"].items():
        for entity, e in entities.items():
            verdict = "balanced" if e["balanced"] else "NOT BALANCED"
            rows.append((source, entity, e["batches"], *(e[s] for s in STAGES), verdict))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            str(v).ljust(w) if i < 2 or i == len(row) - 1 else str(v).rjust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"population database: {report['population']['citizens']} citizens")
    return "\n".join(lines)
