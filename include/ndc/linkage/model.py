"""Train, save, load and apply a linkage model: Splink 5 on DuckDB, in memory, offline.

A model is a Splink settings dict with its trained m and u probabilities, the spec it was built
for, two thresholds (match weights) and a version: the first 12 hex digits of the SHA-256 of
everything else in the file, so a score can always be traced to the exact parameters.

A record names at most one person of the population, so its best candidate's probability is
read against all its candidates: odds 2^w1 / (1 + sum of 2^wj over the other candidates). A
twin or a namesake born the same day lowers the best candidate's probability by as much as the
evidence fails to tell them apart.

Bands, per record to link:
- auto_link: that probability (as a weight) >= the auto-link threshold;
- review: the best candidate's own weight >= the review threshold;
- non_link: otherwise (or no candidate at all).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ndc.linkage.specs import SPECS, Spec

MODEL_FORMAT = "ndc-linkage-model/1"
BANDS = ("auto_link", "review", "non_link")
# The thresholds of a model not yet calibrated on labelled records: the model's own
# probabilities read as the targets (auto-link at 0.999; a clerk sees a candidate with at least
# a 1% chance of being the person). Calibration never puts auto-link below 0.5: a candidate
# more likely not the person than the person is never linked unseen.
DEFAULT_AUTO_PROBABILITY = 0.999
DEFAULT_REVIEW_PROBABILITY = 0.01
MIN_AUTO_PROBABILITY = 0.5
# Candidate pairs scored below this weight are dropped (a 1-in-1000 Bayes factor after the
# prior): they can be neither a link nor a competitor.
SCORE_FLOOR_WEIGHT = -10.0
RECORDS, POPULATION = "records", "population"


def weight_of(probability: float) -> float:
    """Match weight (log2 odds) of a match probability."""
    return math.log2(probability / (1.0 - probability))


def probability_of(weight: float) -> float:
    """Match probability of a match weight."""
    return 1.0 / (1.0 + 2.0 ** (-weight))


@dataclass
class LinkageModel:
    """A trained model: Splink settings with m/u, thresholds, and what it was trained on."""

    spec: str
    settings: dict
    auto_link_weight: float = field(default_factory=lambda: weight_of(DEFAULT_AUTO_PROBABILITY))
    review_weight: float = field(default_factory=lambda: weight_of(DEFAULT_REVIEW_PROBABILITY))
    threshold_rule: str = "model probability: auto-link >= 0.999, review >= 0.01"
    trained: dict = field(default_factory=dict)

    def body(self) -> dict:
        """Everything the version covers."""
        return {
            "format": MODEL_FORMAT,
            "spec": self.spec,
            "thresholds": {
                "auto_link_weight": float(self.auto_link_weight),
                "review_weight": float(self.review_weight),
                "auto_link_probability": probability_of(self.auto_link_weight),
                "review_probability": probability_of(self.review_weight),
                "rule": self.threshold_rule,
            },
            "trained": self.trained,
            "splink_settings": self.settings,
        }

    @property
    def version(self) -> str:
        canonical = json.dumps(self.body(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    def save(self, path: Path | str) -> Path:
        """Write the model file (JSON): its body and version."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"version": self.version, **self.body()}
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
        return path

    @classmethod
    def load(cls, path: Path | str) -> LinkageModel:
        """Read a model file; refuse one whose content does not match its version."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if doc.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: not an ndc linkage model (format {doc.get('format')!r})")
        t = doc["thresholds"]
        model = cls(
            spec=doc["spec"],
            settings=doc["splink_settings"],
            auto_link_weight=t["auto_link_weight"],
            review_weight=t["review_weight"],
            threshold_rule=t["rule"],
            trained=doc["trained"],
        )
        if model.version != doc["version"]:
            raise ValueError(
                f"{path}: version {doc['version']} does not match its content ({model.version})"
            )
        return model


def _as_pandas(frame) -> pd.DataFrame:
    """Accept a pandas frame, a pyarrow table or a DuckDB relation."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "to_pandas"):
        return frame.to_pandas()
    if hasattr(frame, "df"):
        return frame.df()
    raise TypeError(f"expected a pandas DataFrame, pyarrow Table or DuckDB relation: {type(frame)}")


def _prepared(spec: Spec, records, population, record_id: str, population_id: str):
    rec = spec.prepare(_as_pandas(records), record_id)
    pop = spec.prepare(_as_pandas(population), population_id)
    rec["source_dataset"] = RECORDS
    pop["source_dataset"] = POPULATION
    return rec, pop


def _linker(rec: pd.DataFrame, pop: pd.DataFrame, settings: dict):
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    frames = [
        db_api.register(rec, dataset_display_name=RECORDS),
        db_api.register(pop, dataset_display_name=POPULATION),
    ]
    return Linker(frames, settings, log_level=logging.ERROR)


def train(
    records,
    population,
    spec: Spec | str,
    *,
    record_id: str = "record_id",
    population_id: str = "personal_id",
    seed: int = 42,
    u_max_pairs: float = 5e5,
) -> LinkageModel:
    """Estimate the model's parameters on unlabelled records and the population.

    u from random pairs (seeded), m by expectation maximisation on each EM blocking rule, the
    prior fixed at 1 / population size (a record names at most one person of the population).
    Deterministic for the same inputs and seed.
    """
    spec = SPECS[spec] if isinstance(spec, str) else spec
    rec, pop = _prepared(spec, records, population, record_id, population_id)
    settings = {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "source_dataset_column_name": "source_dataset",
        "probability_two_random_records_match": 1.0 / max(len(pop), 1),
        "comparisons": spec.comparisons,
        "blocking_rules_to_generate_predictions": spec.blocking_rules,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.0001,
        "max_iterations": 25,
    }
    linker = _linker(rec, pop, settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    em_notes = []
    for rule in spec.em_blocking_rules:
        em_notes += _expectation_maximisation(linker, rule)
    trained = _rounded(_floored(linker.misc.save_model_to_json(), spec.m_floors))
    trained.pop("linker_uid", None)
    return LinkageModel(
        spec=spec.name,
        settings=trained,
        trained={
            "records": len(rec),
            "population": len(pop),
            "seed": seed,
            "u_max_pairs": u_max_pairs,
            "splink": _splink_version(),
            **({"em_notes": em_notes} if em_notes else {}),
        },
    )


def _expectation_maximisation(linker, rule: str) -> list[str]:
    """EM on one blocking rule. On a small set a level's m can underflow to 0.0, which Splink 5
    refuses (ValueError); then EM is run again without term frequencies, and if that fails too
    the rule is skipped (the m of the other rules stand). Returns what happened, if anything."""
    for without_tf in (False, True):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule,
                fix_probability_two_random_records_match=True,
                estimate_without_term_frequencies=without_tf,
            )
            return [f"EM on [{rule}] without term frequencies"] if without_tf else []
        except ValueError as err:
            if "below the minimum allowed value" not in str(err):
                raise
    return [f"EM on [{rule}] skipped: an m probability underflowed to 0"]


def _floored(settings: dict, floors: Mapping[str, float]) -> dict:
    """Raise the m probability of each level of the comparisons in ``floors`` to the floor, the
    comparison's other levels scaled down so that its m still sums to 1."""
    for comparison in settings.get("comparisons", []):
        floor = floors.get(comparison.get("output_column_name"))
        if floor is None:
            continue
        levels = [
            lv
            for lv in comparison.get("comparison_levels", [])
            if isinstance(lv.get("m_probability"), float)
        ]
        low = [lv for lv in levels if lv["m_probability"] < floor]
        rest = sum(lv["m_probability"] for lv in levels if lv not in low)
        if not low or rest <= 0:
            continue
        scale = (1.0 - floor * len(low)) / rest
        for lv in levels:
            lv["m_probability"] = floor if lv in low else lv["m_probability"] * scale
    return settings


def _rounded(settings: dict) -> dict:
    """m and u to 10 significant digits: DuckDB's parallel sums differ in the last bits from
    run to run, and the same data and seed must give the same model (and version)."""
    for comparison in settings.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            for key in ("m_probability", "u_probability"):
                if isinstance(level.get(key), float):
                    level[key] = float(f"{level[key]:.10g}")
    return settings


def _splink_version() -> str:
    import splink

    return splink.__version__


def score_pairs(
    model: LinkageModel,
    records,
    population,
    *,
    record_id: str = "record_id",
    population_id: str = "personal_id",
) -> pd.DataFrame:
    """Every candidate pair the blocking rules find, scored: record_id, candidate_id, weight."""
    spec = SPECS[model.spec]
    rec, pop = _prepared(spec, records, population, record_id, population_id)
    settings = dict(model.settings)
    settings["retain_matching_columns"] = False
    settings["retain_intermediate_calculation_columns"] = False
    linker = _linker(rec, pop, settings)
    pred = linker.inference.predict(
        threshold_match_weight=SCORE_FLOOR_WEIGHT, warning_mode="never"
    ).as_pandas_dataframe()
    left_is_record = pred["source_dataset_l"] == RECORDS
    out = pd.DataFrame(
        {
            "record_id": np.where(left_is_record, pred["unique_id_l"], pred["unique_id_r"]),
            "candidate_id": np.where(left_is_record, pred["unique_id_r"], pred["unique_id_l"]),
            "match_weight": pred["match_weight"].astype(float),
        }
    )
    return out.sort_values(
        ["record_id", "match_weight", "candidate_id"], ascending=[True, False, True]
    ).reset_index(drop=True)


def best_candidates(pairs: pd.DataFrame, record_ids) -> pd.DataFrame:
    """Per record: best candidate, its weight, the runner-up's, and the weight of the best
    candidate against every candidate (log2 of 2^w1 / (1 + sum of 2^wj, j > 1))."""
    ranked = pairs.assign(rank=pairs.groupby("record_id").cumcount())
    best = ranked[ranked["rank"] == 0].set_index("record_id")
    rivals = ranked[ranked["rank"] > 0]
    second = rivals[rivals["rank"] == 1].set_index("record_id")["match_weight"]
    rival_odds = (
        np.power(2.0, rivals["match_weight"].clip(upper=1000)).groupby(rivals["record_id"]).sum()
    )
    ids = pd.Index([str(r) for r in record_ids], name="record_id")
    weight = best["match_weight"].reindex(ids)
    odds_against = 1.0 + rival_odds.reindex(ids).fillna(0.0)
    return pd.DataFrame(
        {
            "candidate_id": best["candidate_id"].reindex(ids),
            "match_weight": weight,
            "runner_up_weight": second.reindex(ids),
            "link_weight": weight - np.log2(odds_against),
        },
        index=ids,
    )


def assign_bands(best: pd.DataFrame, auto_link_weight: float, review_weight: float) -> pd.Series:
    """auto_link, review or non_link for each record (see the module's docstring)."""
    band = np.where(
        best["link_weight"].fillna(-np.inf) >= auto_link_weight,
        "auto_link",
        np.where(best["match_weight"].fillna(-np.inf) >= review_weight, "review", "non_link"),
    )
    return pd.Series(band, index=best.index, name="band")


def link(
    records,
    population,
    model: LinkageModel,
    *,
    record_id: str = "record_id",
    population_id: str = "personal_id",
) -> pd.DataFrame:
    """Per record to link: best candidate's personal ID, match probability, band, model version.

    The population is not changed; records are scored against it with the model's trained
    parameters (no retraining). Term frequencies come from the data being scored.
    """
    records = _as_pandas(records)
    pairs = score_pairs(
        model, records, population, record_id=record_id, population_id=population_id
    )
    best = best_candidates(pairs, records[record_id].astype(str))
    band = assign_bands(best, model.auto_link_weight, model.review_weight)
    weight = best["link_weight"]
    return pd.DataFrame(
        {
            "record_id": best.index.to_numpy(),
            population_id: best["candidate_id"].to_numpy(),
            "match_weight": best["match_weight"].to_numpy(),
            "link_weight": weight.to_numpy(),
            "match_probability": (1.0 / (1.0 + np.power(2.0, -weight))).to_numpy(),
            "band": band.to_numpy(),
            "model_version": model.version,
        }
    )


@dataclass
class ReviewLabels:
    """Clerks' review decisions as labels: the records reviewed (the columns the model
    compares), the population they were linked against, and per record the candidate a clerk
    accepted (the record's person) or rejected (not the record's person; who is, is unknown)."""

    records: pd.DataFrame
    population: pd.DataFrame
    accepted: dict[str, str]
    rejected: dict[str, str]

    def __len__(self) -> int:
        return len(self.accepted) + len(self.rejected)


def _judged(best: pd.DataFrame, truth: Mapping[str, str | None]) -> pd.DataFrame:
    """Records with a candidate, with whether the best candidate is the record's person."""
    eligible = best[best["link_weight"].notna()]
    pairs = zip(eligible.index, eligible["candidate_id"], strict=True)
    right = [truth.get(r) == c for r, c in pairs]
    return pd.DataFrame({"link_weight": eligible["link_weight"], "right": right})


def _judged_reviews(model: LinkageModel, review: ReviewLabels, record_id: str, population_id: str):
    """The reviewed records that say something about their best candidate: accepted ones (right
    when the best candidate is the accepted citizen) and rejected ones whose best candidate is
    the rejected citizen (wrong). A rejected record whose best candidate is now someone else
    says nothing about that one, and is left out."""
    pairs = score_pairs(
        model, review.records, review.population, record_id=record_id, population_id=population_id
    )
    best = best_candidates(pairs, review.records[record_id].astype(str))
    best = best[best["link_weight"].notna()]
    keep = [
        r in review.accepted or review.rejected.get(r) == c
        for r, c in zip(best.index, best["candidate_id"], strict=True)
    ]
    return _judged(best[keep], review.accepted)


def calibrate(
    model: LinkageModel,
    records,
    population,
    truth: Mapping[str, str | None],
    *,
    target_precision: float = 0.999,
    record_id: str = "record_id",
    population_id: str = "personal_id",
    label: str = "",
    review: ReviewLabels | None = None,
) -> LinkageModel:
    """Thresholds from labelled records (never the ones the model is evaluated on).

    review: the model's own probability 0.01. auto-link: the lowest weight at which the links at
    or above it are right at least `target_precision` of the time, and never below probability
    0.5. ``review``: clerks' decisions (``ndc review``) counted as labelled records too, so a
    link a clerk rejected at a high probability raises the threshold above it once enough such
    decisions make the precision fall short of the target.
    """
    records = _as_pandas(records)
    pairs = score_pairs(
        model, records, population, record_id=record_id, population_id=population_id
    )
    best = best_candidates(pairs, records[record_id].astype(str))
    judged = _judged(best, truth)
    decisions = ""
    if review is not None and len(review):
        judged = pd.concat([judged, _judged_reviews(model, review, record_id, population_id)])
        decisions = (
            f" and {len(review.accepted)} accepted and {len(review.rejected)} rejected review "
            "decisions"
        )
    review_weight = weight_of(DEFAULT_REVIEW_PROBABILITY)
    eligible = judged.sort_values("link_weight", ascending=False)
    right = eligible["right"].to_numpy(dtype=bool)
    precision = np.cumsum(right) / np.arange(1, len(right) + 1)
    ok = np.flatnonzero(precision >= target_precision)
    if len(ok) == 0:
        raise ValueError(f"no threshold reaches precision {target_precision} on {label or 'these'}")
    # The largest set whose precision meets the target; its threshold sits halfway between its
    # last link and the first one left out, so ties at the boundary stay out.
    k = int(ok.max())
    weights = eligible["link_weight"].to_numpy()
    auto = weights[k] if k + 1 == len(weights) else (weights[k] + weights[k + 1]) / 2
    auto = max(float(auto), weight_of(MIN_AUTO_PROBABILITY))
    trained = dict(model.trained)
    if decisions:
        trained["review_labels"] = {
            "accepted": len(review.accepted),
            "rejected": len(review.rejected),
        }
    return replace(
        model,
        auto_link_weight=auto,
        review_weight=review_weight,
        trained=trained,
        threshold_rule=(
            f"auto-link: measured precision >= {target_precision} on {label or 'labelled records'}"
            f"{decisions} ({int(right[: k + 1].sum())} of {k + 1} right), not below probability "
            f"{MIN_AUTO_PROBABILITY}; review: probability >= {DEFAULT_REVIEW_PROBABILITY}"
        ),
    )
