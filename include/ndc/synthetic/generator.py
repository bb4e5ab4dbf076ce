"""Orchestrate one synthetic run: population, six source systems, ground truth and summary."""

from __future__ import annotations

import ctypes
import gc
import shutil
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ndc.synthetic.business_registry import BusinessRegistry
from ndc.synthetic.civil_registration import CivilRegistration
from ndc.synthetic.defects import DefectLog, merge_rates, write_defects
from ndc.synthetic.education import Education
from ndc.synthetic.land_registry import LandRegistry
from ndc.synthetic.linkage_cases import add_twins
from ndc.synthetic.population import write_baseline, write_truth
from ndc.synthetic.residence import Residence
from ndc.synthetic.social_insurance import SocialInsurance
from ndc.synthetic.world import World, days_of, rng_for

KNOWN_SOURCES = ("civil_registration", "social_insurance", "residence")
SQL_TARGETS = ("social_insurance", "residence")
CODE_SYSTEM_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("entity", pa.string()),
        ("record_key", pa.string()),
        ("field", pa.string()),
        ("file", pa.string()),
        ("code_system", pa.string()),
        ("code", pa.string()),
        ("code_2025", pa.string()),
    ]
)


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
    defect_eligible: dict[str, int] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    born_during_run: int = 0
    social_insurance_target: str = ""
    targets: dict[str, str] = field(default_factory=dict)

    def as_table(self) -> str:
        """Return a small human-readable table of files and rows per source and entity."""
        lines = [f"{'source':<20} {'entity':<20} {'files':>6} {'rows':>9}"]
        for source, entities in self.rows.items():
            for i, (entity, n) in enumerate(entities.items()):
                files = str(self.files.get(source, 0)) if i == 0 else ""
                lines.append(f"{source:<20} {entity:<20} {files:>6} {n:>9}")
        span = f"{self.dates[0]}..{self.dates[-1]}" if self.dates else "-"
        lines.append(
            f"persons {self.persons} (+{self.born_during_run} born), dates {span}, "
            f"defects {self.defects}"
        )
        return "\n".join(lines)


def _clean(out: Path) -> None:
    """Remove the outputs a previous run may have left (only files this generator writes)."""
    for folder, patterns in (
        (out / "civil_registration" / "inbox", ("births_*.csv", "deaths_*.csv", "marriages_*.csv")),
        (out / "business_registry" / "inbox", ("enterprises_*.xlsx",)),
        (out / "land_registry" / "inbox", ("land_*.xml",)),
    ):
        if folder.is_dir():
            for pattern in patterns:
                for path in folder.glob(pattern):
                    path.unlink()
    for path in (
        out / "social_insurance" / "social_insurance.sqlite",
        out / "residence" / "residence.sqlite",
        out / "education" / "education.sqlite",
        out / "population_db" / "baseline.parquet",
    ):
        path.unlink(missing_ok=True)
    shutil.rmtree(out / "truth", ignore_errors=True)


def _fix_mmap_threshold() -> None:
    """Let glibc serve every allocation of 1 MiB or more with mmap, so the big numpy arrays
    that are copied day by day go back to the OS when freed instead of fragmenting the heap
    (glibc otherwise raises its mmap threshold up to 32 MiB after the first large free)."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc), so that the peak
    resident size follows the live data rather than earlier temporaries."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _sql_target(out: Path, source: str, targets: Mapping[str, str]) -> tuple[str, int]:
    if targets.get(source):
        return targets[source], 0
    path = out / source / f"{source}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}", 1


def generate(
    out: Path,
    persons: int = 1000,
    seed: int = 42,
    days: int = 3,
    targets: dict[str, str] | None = None,
    *,
    defect_rates: Mapping[str, Mapping[str, float]] | None = None,
) -> GenerationSummary:
    """Generate the baseline day 2025-06-28 plus `days` following days of six source systems.

    `targets` may point `social_insurance` and `residence` at SQLAlchemy URLs (MariaDB/MySQL,
    PostgreSQL); the database is created if missing and its tables replaced.
    """
    if persons < 0 or days < 0:
        raise ValueError("persons and days must be non-negative")
    targets = dict(targets or {})
    unknown = set(targets) - set(KNOWN_SOURCES)
    if unknown:
        raise ValueError(f"unknown target source(s): {sorted(unknown)}")
    out = Path(out)
    rates = merge_rates(defect_rates)
    dates = days_of(days)
    log = DefectLog()

    _clean(out)
    inbox = out / "civil_registration" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)

    _fix_mmap_threshold()
    world = World(seed, persons, days)
    _release_memory()
    n_baseline, baseline_diffs = write_baseline(rng_for(seed, 2), out, world.persons)
    business = BusinessRegistry(seed, world, rates["business_registry"], log)
    si = SocialInsurance(seed, world, business.employers(), rates["social_insurance"], log)
    residence = Residence(seed, world, rates["residence"], log)
    residence.start()
    education = Education(seed, world, rates["education"], log)
    business.snapshot_baseline()
    civil = CivilRegistration(seed, inbox, rates["civil_registration"], log)
    land = LandRegistry(seed, world, rates.get("land_registry", {}), log)

    for k, day in enumerate(dates):
        ev = world.simulate(k, day)
        civil.write_day(world, ev)
        residence.apply_day(world, ev)
        si.apply_day(world, ev)
        education.apply_day(world, ev)
        business.apply_day(world, ev)
        land.apply_day(world, ev)
        _release_memory()

    # write the sources one by one, dropping each from memory once written
    si_url, si_files = _sql_target(out, "social_insurance", targets)
    si_shown = si.write(si_url)
    si_rows = {"insured_person": si.n_rows, "contribution_period": si.n_periods}
    del si
    _release_memory()
    res_url, res_files = _sql_target(out, "residence", targets)
    res_shown = residence.write(res_url, world.persons)
    res_rows = {"residence_change": residence.n_changes, "household_member": residence.n_members}
    systems = civil.code_systems + residence.code_systems
    del residence
    _release_memory()
    edu_rows = education.write(out / "education" / "education.sqlite")
    del education
    biz_files, biz_rows, biz_systems = business.write(out / "business_registry" / "inbox", dates)
    del business
    systems += biz_systems
    _release_memory()
    land_files, land_rows = land.write(out / "land_registry" / "inbox")
    del land

    truth = out / "truth"
    defects = log.frame()
    # Twins of some ID-less records' persons, in the population database only (a hard case
    # for linkage): their own random stream, so nothing else changes with them.
    n_baseline += add_twins(
        rng_for(seed, 3), world.persons, out / "population_db" / "baseline.parquet", defects,
        log.cases,
    )  # fmt: skip
    write_truth(truth / "persons.parquet", world.persons)
    born = int(world.persons["born_during_run"].sum())
    del world
    _release_memory()
    write_defects(truth, defects)
    log.cases.write(truth)
    pq.write_table(
        pa.table(
            {
                n: pa.array([s[i] for s in systems], pa.string())
                for i, n in enumerate(CODE_SYSTEM_SCHEMA.names)
            },
            schema=CODE_SYSTEM_SCHEMA,
        ),
        truth / "code_systems.parquet",
    )
    pq.write_table(
        pa.Table.from_pandas(baseline_diffs, preserve_index=False),
        truth / "baseline_differences.parquet",
    )

    return GenerationSummary(
        out=out,
        persons=persons,
        seed=seed,
        dates=dates,
        files={
            "civil_registration": len(civil.files),
            "social_insurance": si_files,
            "residence": res_files,
            "education": 1,
            "business_registry": len(biz_files),
            "land_registry": len(land_files),
            "population_db": 1,
        },
        rows={
            "civil_registration": dict(civil.rows),
            "social_insurance": si_rows,
            "residence": res_rows,
            "education": edu_rows,
            "business_registry": {"enterprise": biz_rows},
            "land_registry": land_rows,
            "population_db": {"citizen": n_baseline},
        },
        defects=len(defects),
        defects_by_class=dict(
            sorted(
                Counter(
                    f"{s}.{e}.{c}"
                    for s, e, c in zip(
                        defects["source"], defects["entity"], defects["defect_class"], strict=True
                    )
                ).items()
            )
        ),
        defect_eligible={f"{s}.{c}": n for (s, c), n in sorted(log.eligible.items())},
        encodings=civil.encodings,
        born_during_run=born,
        social_insurance_target=si_shown,
        targets={"social_insurance": si_shown, "residence": res_shown},
    )
