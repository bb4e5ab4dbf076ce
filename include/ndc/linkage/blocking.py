"""How many candidate pairs each blocking rule makes, and how many true pairs the rules keep."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from ndc.linkage.specs import Spec


def blocking_report(
    spec: Spec,
    records: pd.DataFrame,
    population: pd.DataFrame,
    true_pairs: Iterable[tuple[str, str]],
    *,
    record_id: str = "record_id",
    population_id: str = "personal_id",
) -> dict:
    """Per rule: pairs it makes, pairs new to the rules before it, and the recall of true
    pairs so far; in total: distinct pairs and recall (the ceiling of any model's recall)."""
    rec = spec.prepare(records, record_id)
    pop = spec.prepare(population, population_id)
    truth = pd.DataFrame(list(true_pairs), columns=["rid", "pid"], dtype=str)
    con = duckdb.connect()
    try:
        con.register("rec", rec)
        con.register("pop", pop)
        con.register("truth", truth)
        con.execute("create temp table seen (rid varchar, pid varchar)")
        rules = []
        for rule in spec.blocking_rules:
            con.execute(
                "create or replace temp table this as select distinct l.unique_id as rid, "
                f"r.unique_id as pid from rec as l join pop as r on {rule}"
            )
            pairs = con.execute("select count(*) from this").fetchone()[0]
            new = con.execute(
                "select count(*) from this anti join seen using (rid, pid)"
            ).fetchone()[0]
            con.execute("insert into seen select * from this anti join seen using (rid, pid)")
            kept = con.execute("select count(*) from truth semi join seen using (rid, pid)")
            rules.append(
                {
                    "rule": rule,
                    "pairs": int(pairs),
                    "new_pairs": int(new),
                    "cumulative_recall": kept.fetchone()[0] / max(len(truth), 1),
                }
            )
        total = con.execute("select count(*) from seen").fetchone()[0]
        kept = con.execute("select count(*) from truth semi join seen using (rid, pid)")
        return {
            "rules": rules,
            "pairs": int(total),
            "true_pairs": len(truth),
            "recall": kept.fetchone()[0] / max(len(truth), 1),
        }
    finally:
        con.close()
