"""Orchestrate one synthetic run: population, sources, ground truth and summary."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from ndc.synthetic import civil_registration, social_insurance
from ndc.synthetic.defects import merge_rates, write_defects
from ndc.synthetic.population import BASELINE, make_population, write_truth
from ndc.synthetic.provinces import legacy_encoding_provinces, reporting_codes

KNOWN_SOURCES = ("civil_registration", "social_insurance")


@dataclass
class GenerationSummary:
    """What one `generate` call wrote."""

    out: Path
    persons: int
    seed: int = 42
    dates: list[date] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    defects: int = 0
    defects_by_class: dict[str, int] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    born_during_run: int = 0
    social_insurance_target: str = ""

    def as_table(self) -> str:
        """Return a small human-readable table of files and rows per source and entity."""
        lines = [f"{'source':<20} {'entity':<16} {'files':>6} {'rows':>8}"]
        for source, entities in self.rows.items():
            for i, (entity, n) in enumerate(entities.items()):
                files = str(self.files.get(source, 0)) if i == 0 else ""
                lines.append(f"{source:<20} {entity:<16} {files:>6} {n:>8}")
        span = f"{self.dates[0]}..{self.dates[-1]}" if self.dates else "-"
        lines.append(
            f"persons {self.persons} (+{self.born_during_run} born), dates {span}, "
            f"defects {self.defects}"
        )
        return "\n".join(lines)


def _clean(out: Path) -> None:
    """Remove the outputs a previous run may have left (only files this generator writes)."""
    inbox = out / "civil_registration" / "inbox"
    if inbox.is_dir():
        for pattern in ("births_*.csv", "deaths_*.csv"):
            for path in inbox.glob(pattern):
                path.unlink()
    (out / "social_insurance" / "social_insurance.sqlite").unlink(missing_ok=True)
    shutil.rmtree(out / "truth", ignore_errors=True)


def generate(
    out: Path,
    persons: int = 1000,
    seed: int = 42,
    days: int = 3,
    targets: dict[str, str] | None = None,
    *,
    defect_rates: Mapping[str, Mapping[str, float]] | None = None,
) -> GenerationSummary:
    """Generate source data for the baseline day 2025-06-01 plus `days` following days."""
    if persons < 0 or days < 0:
        raise ValueError("persons and days must be non-negative")
    unknown = set(targets or {}) - set(KNOWN_SOURCES)
    if unknown:
        raise ValueError(f"unknown target source(s): {sorted(unknown)}")
    out = Path(out)
    rates = merge_rates(defect_rates)
    dates = [BASELINE + timedelta(days=i) for i in range(days + 1)]
    legacy = set(legacy_encoding_provinces(seed))
    encodings = {c: "cp1258" if c in legacy else "utf-8" for c in reporting_codes()}

    _clean(out)
    inbox = out / "civil_registration" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)

    people = make_population(np.random.default_rng([seed, 1]), persons, set())
    people, insured = social_insurance.enrol(np.random.default_rng([seed, 2]), people, dates)
    people, civil = civil_registration.generate_civil_registration(
        np.random.default_rng([seed, 3]),
        people,
        dates,
        inbox,
        encodings,
        rates["civil_registration"],
    )
    insured, si_defects = social_insurance.inject_defects(
        np.random.default_rng([seed, 4]), insured, rates["social_insurance"]
    )

    target = (targets or {}).get("social_insurance")
    if target:
        si_files = 0
    else:
        sqlite_path = out / "social_insurance" / "social_insurance.sqlite"
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        target = f"sqlite:///{sqlite_path}"
        si_files = 1
    target_shown = social_insurance.write_table(insured, target)

    defects = civil.defects + si_defects
    write_truth(out / "truth" / "persons.parquet", people)
    write_defects(out / "truth" / "defects.csv", defects)

    return GenerationSummary(
        out=out,
        persons=persons,
        seed=seed,
        dates=dates,
        files={"civil_registration": len(civil.files), "social_insurance": si_files},
        rows={
            "civil_registration": dict(civil.rows),
            "social_insurance": {"insured_person": len(insured)},
        },
        defects=len(defects),
        defects_by_class=dict(
            sorted(Counter(f"{d.source}.{d.entity}.{d.defect_class}" for d in defects).items())
        ),
        encodings=encodings,
        born_during_run=int(people["born_during_run"].sum()),
        social_insurance_target=target_shown,
    )
