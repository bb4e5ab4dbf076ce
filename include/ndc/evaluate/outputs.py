"""The pipeline's outputs an evaluation scores, read from a warehouse per the shared output
contract, and the generator's truth they are scored against."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

QUARANTINE_RELATION = "quarantine.quarantined_rows"
MERGED_RELATION = "quarantine.merged_duplicates"
# Rows quarantined for their personal ID that linkage linked to a citizen (they left
# quarantine), and every linkage result with its band (ndc.linkage.flow).
LINKED_RELATION = "quarantine.linked_rows"
LINKS_RELATION = "ops.person_links"


def staging_relation(source: str, entity: str) -> str:
    return f"staging.stg_{source}__{entity}s"


def discrepancy_relation(source: str) -> str:
    return f"marts.discrepancies_{source}"


@dataclass
class Outputs:
    """What the pipeline produced; a relation that does not exist is None, named in missing."""

    staging: dict[tuple[str, str], pd.DataFrame | None]
    quarantined: pd.DataFrame | None
    merged: pd.DataFrame | None
    discrepancies: dict[str, pd.DataFrame | None]
    missing: list[str] = field(default_factory=list)
    # Optional (a warehouse without linkage has neither): not listed as missing.
    linked: pd.DataFrame | None = None
    links: pd.DataFrame | None = None


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
        linked = _frame(conn, LINKED_RELATION, "source, entity, record_key, reason_code")
        links = _frame(conn, LINKS_RELATION, "source, entity, record_key, personal_id, band")
    return Outputs(staging, quarantined, merged, discrepancies, missing, linked, links)


def read_linkage_cases(data_dir: Path) -> pd.DataFrame | None:
    """The hard linkage cases among the ID-less records (truth/linkage_cases.parquet of
    ``ndc.synthetic.linkage_cases``); None for a country generated before they were labelled."""
    path = data_dir / "truth" / "linkage_cases.parquet"
    return pd.read_parquet(path).astype(object) if path.exists() else None


def read_truth(data_dir: Path) -> pd.DataFrame:
    path = data_dir / "truth" / "defects.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no ground truth at {path}: is {data_dir} from `ndc generate`?")
    return pd.read_parquet(path).astype(object).where(lambda f: f.notna(), None)
