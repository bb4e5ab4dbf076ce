"""``ndc bench --only linkage``: ndc's linkage of records without an ID beside the field's peers.

Two data sets, three methods each:

- FEBRL4 (recordlinkage's copy: 5,000 originals as the population, 5,000 corrupted copies to
  link), without ``soc_sec_id``; a synthetic Vietnamese set (`ndc.linkage.synthetic`).
- ``ndc``: `ndc.linkage` (Splink 5 on DuckDB, ndc's comparisons, bands). On FEBRL4 it uses the
  FEBRL4 spec (names, date, address columns) and its uncalibrated thresholds (the model's own
  probability 0.999); on the synthetic set it is trained and its thresholds measured on a set of
  another seed, then applied unchanged.
- ``splink_default``: Splink's FEBRL4 tutorial model (detailed settings less soc_sec_id),
  pairs at probability >= 0.99; on the synthetic set the same settings on the same kind of
  columns (given name, family name, date of birth, commune for postcode), names lower-cased.
- ``recordlinkage_ecm``: recordlinkage's ECMClassifier on a standard comparison vector.

Each method's links are compared with the truth: precision, recall, F1 and seconds (wall clock,
training included).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pandas as pd

TARGETS = {"febrl4_f1": 0.995, "synthetic_precision": 0.999, "synthetic_recall": 0.98}
METHODS = ("ndc", "splink_default", "recordlinkage_ecm")
FEBRL_COLUMNS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb")


def scores(links: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall and F1 of predicted (record, person) links against the true ones."""
    tp = len(links & truth)
    precision = tp / len(links) if links else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "links": len(links)}


def _pairs(frame: pd.DataFrame, rid: str, pid: str) -> set[tuple[str, str]]:
    return set(zip(frame[rid].astype(str), frame[pid].astype(str), strict=True))


# --- ndc ----------------------------------------------------------------------------------


def _ndc_result(result: pd.DataFrame, pid: str, truth: set, seconds: float) -> dict:
    auto = result[result["band"] == "auto_link"]
    out = scores(_pairs(auto, "record_id", pid), truth)
    out["seconds"] = seconds
    out["review"] = int((result["band"] == "review").sum())
    out["non_link"] = int((result["band"] == "non_link").sum())
    return out


def ndc_febrl4(a: pd.DataFrame, b: pd.DataFrame, truth: set, seed: int = 42) -> dict:
    from ndc.linkage import blocking_report, link, train
    from ndc.linkage.specs import FEBRL4

    t = time.perf_counter()
    model = train(b, a, FEBRL4, record_id="rec_id", population_id="rec_id", seed=seed)
    result = link(b, a, model, record_id="rec_id", population_id="rec_id")
    out = _ndc_result(result, "rec_id", truth, time.perf_counter() - t)
    report = blocking_report(FEBRL4, b, a, truth, record_id="rec_id", population_id="rec_id")
    out.update(blocking_pairs=report["pairs"], blocking_recall=report["recall"])
    out["model_version"] = model.version
    out["thresholds"] = model.threshold_rule
    return out


def ndc_synthetic(calibration, evaluation, seed: int = 42) -> dict:
    from ndc.linkage import blocking_report, calibrate, link, train
    from ndc.linkage.specs import VIETNAMESE

    t = time.perf_counter()
    model = train(calibration.records, calibration.population, VIETNAMESE, seed=seed)
    model = calibrate(
        model,
        calibration.records,
        calibration.population,
        calibration.truth,
        label=f"the synthetic set of seed {calibration.seed}",
    )
    trained = time.perf_counter() - t
    t = time.perf_counter()
    result = link(evaluation.records, evaluation.population, model)
    linked = time.perf_counter() - t
    truth = evaluation.true_pairs
    out = _ndc_result(result, "personal_id", truth, trained + linked)
    out.update(seconds_training=trained, seconds_linking=linked)
    report = blocking_report(VIETNAMESE, evaluation.records, evaluation.population, truth)
    out.update(blocking_pairs=report["pairs"], blocking_recall=report["recall"])
    out["blocking_rules"] = report["rules"]
    out["model_version"] = model.version
    out["thresholds"] = model.threshold_rule
    by_case = result.assign(case=result["record_id"].map(evaluation.cases))
    by_case["right"] = [
        (r, p) in truth for r, p in zip(by_case["record_id"], by_case["personal_id"], strict=True)
    ]
    out["by_case"] = {
        case: {
            "records": len(g),
            "auto_link": int((g["band"] == "auto_link").sum()),
            "auto_link_wrong": int(((g["band"] == "auto_link") & ~g["right"]).sum()),
            "review": int((g["band"] == "review").sum()),
        }
        for case, g in by_case.groupby("case")
    }
    return out


# --- Splink's FEBRL4 tutorial model -------------------------------------------------------


TUTORIAL_BLOCKING = [
    "l.given_name = r.given_name and l.surname = r.surname",
    "l.given_name = r.surname and l.surname = r.given_name",
    "l.date_of_birth = r.date_of_birth",
    "l.state = r.state and l.address_1 = r.address_1",
    "l.street_number = r.street_number and l.address_1 = r.address_1",
    "l.postcode = r.postcode",
]


def splink_tutorial(
    left: pd.DataFrame,
    right: pd.DataFrame,
    truth: set,
    *,
    blocking_rules: list[str] = TUTORIAL_BLOCKING,
    threshold: float = 0.99,
    seed: int = 42,
) -> dict:
    """Splink's FEBRL4 tutorial ("detailed" model, its blocking rules, both without
    soc_sec_id): columns rec_id, given_name, surname, date_of_birth (YYYYMMDD text),
    street_number, postcode (and state, address_1 for the blocking rules)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
    )
    db_api = DuckDBAPI()
    frames = [
        db_api.register(left.assign(source_dataset="population"), dataset_display_name="pop"),
        db_api.register(right.assign(source_dataset="records"), dataset_display_name="rec"),
    ]
    linker = Linker(frames, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True
    )
    pred = linker.inference.predict(
        threshold_match_probability=threshold, warning_mode="never"
    ).as_pandas_dataframe()
    seconds = time.perf_counter() - t
    rec_left = pred["source_dataset_l"] == "records"
    links = set(
        zip(
            pred["rec_id_l"].where(rec_left, pred["rec_id_r"]).astype(str),
            pred["rec_id_r"].where(rec_left, pred["rec_id_l"]).astype(str),
            strict=True,
        )
    )
    out = scores(links, truth)
    out["seconds"] = seconds
    out["threshold_probability"] = threshold
    return out


# --- recordlinkage's ECM classifier -------------------------------------------------------


def recordlinkage_ecm(
    population: pd.DataFrame,
    records: pd.DataFrame,
    truth: set,
    *,
    blocks: list[list[str]],
    strings: list[str],
    exact: list[str],
) -> dict:
    """Block on each column list of `blocks` (union), Jaro-Winkler >= 0.85 on `strings`,
    exact on `exact`, then the ECM classifier (unsupervised, binarised at 0.5). Frames indexed
    by id."""
    import recordlinkage as rl

    t = time.perf_counter()
    indexer = rl.Index()
    for columns in blocks:
        indexer.block(columns)
    candidates = indexer.index(records, population)
    compare = rl.Compare()
    for column in strings:
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    for column in exact:
        compare.exact(column, column, label=column)
    features = compare.compute(candidates, records, population)
    matches = rl.ECMClassifier(binarize=0.5).fit_predict(features)
    seconds = time.perf_counter() - t
    links = {(str(r), str(p)) for r, p in matches}
    out = scores(links, truth)
    out["seconds"] = seconds
    out["candidate_pairs"] = len(candidates)
    return out


# --- the data sets ------------------------------------------------------------------------


def run_febrl4(log: Callable[[str], None] = print, n: int | None = None) -> dict:
    """The three methods on FEBRL4 (or its first n pairs)."""
    from ndc.linkage.febrl import load_febrl4

    a, b, truth = load_febrl4(n)
    out = {}
    log(f"bench linkage: FEBRL4 {len(b):,} records against {len(a):,}, ndc")
    out["ndc"] = ndc_febrl4(a, b, truth)

    def text(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for column in frame.columns:
            frame[column] = frame[column].astype("string").str.strip().replace("", pd.NA)
        return frame

    log("bench linkage: FEBRL4, splink_default")
    out["splink_default"] = splink_tutorial(text(a), text(b), truth)
    log("bench linkage: FEBRL4, recordlinkage_ecm")
    out["recordlinkage_ecm"] = recordlinkage_ecm(
        text(a).set_index("rec_id"),
        text(b).set_index("rec_id"),
        truth,
        blocks=[["given_name"], ["surname"]],
        strings=["given_name", "surname", "address_1", "suburb"],
        exact=["date_of_birth", "street_number", "postcode", "state"],
    )
    return out


def _peer_columns(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """The synthetic set as a peer sees it: names lower-cased and split, the date as text."""
    from ndc.linkage.normalise import split_name

    parts = [split_name(x) for x in frame["full_name"]]
    return pd.DataFrame(
        {
            "rec_id": frame[id_column].astype(str).to_numpy(),
            "given_name": [p[2] for p in parts],
            "surname": [p[0] for p in parts],
            "date_of_birth": pd.to_datetime(frame["date_of_birth"])
            .dt.strftime("%Y%m%d")
            .to_numpy(),
            "street_number": pd.Series([None] * len(frame), dtype="string").to_numpy(),
            "postcode": frame["commune_code"].astype(str).to_numpy(),
            "sex": frame["sex_code"].astype(str).to_numpy(),
        }
    ).astype("string")


def run_synthetic(
    persons: int, seed: int, log: Callable[[str], None] = print, records: int | None = None
) -> dict:
    """The three methods on the synthetic Vietnamese set of `seed` (ndc calibrated on seed+1)."""
    from ndc.linkage.synthetic import make_linkage_set

    log(f"bench linkage: synthetic sets of {persons:,} persons, seeds {seed} and {seed + 1}")
    evaluation = make_linkage_set(persons, records=records, seed=seed)
    calibration = make_linkage_set(persons, records=records, seed=seed + 1)
    truth = evaluation.true_pairs
    out = {}
    log(f"bench linkage: synthetic {len(evaluation.records):,} records, ndc")
    out["ndc"] = ndc_synthetic(calibration, evaluation)
    pop = _peer_columns(evaluation.population, "personal_id")
    rec = _peer_columns(evaluation.records, "record_id")
    log("bench linkage: synthetic, splink_default")
    out["splink_default"] = splink_tutorial(
        pop, rec, truth, blocking_rules=[r for r in TUTORIAL_BLOCKING if "address_1" not in r]
    )
    log("bench linkage: synthetic, recordlinkage_ecm")
    out["recordlinkage_ecm"] = recordlinkage_ecm(
        pop.set_index("rec_id"),
        rec.set_index("rec_id"),
        truth,
        blocks=[["given_name", "surname"], ["date_of_birth"]],
        strings=["given_name", "surname"],
        exact=["date_of_birth", "sex", "postcode"],
    )
    out["set"] = {
        "persons": len(evaluation.population),
        "records": len(evaluation.records),
        "true_links": len(truth),
        "not_in_population": int(sum(v is None for v in evaluation.truth.values())),
        "seed": seed,
        "calibration_seed": seed + 1,
    }
    return out


def run_linkage_benchmark(
    persons: int = 20_000, seed: int = 7, log: Callable[[str], None] = print
) -> dict:
    """Both data sets, every method: the dict `ndc bench --only linkage --json` prints."""
    return {"febrl4": run_febrl4(log), "synthetic": run_synthetic(persons, seed, log)}


def targets(result: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each of the issue's targets."""
    f, s = result["febrl4"], result["synthetic"]
    rows = []
    for name, data in (("FEBRL4", f), ("synthetic", s)):
        for peer in METHODS[1:]:
            rows.append(
                (
                    f"{name}: ndc F1 >= {peer} F1",
                    f"{data['ndc']['f1']:.4f} vs {data[peer]['f1']:.4f}",
                    data["ndc"]["f1"] >= data[peer]["f1"],
                )
            )
    rows.append(
        (
            f"FEBRL4: ndc F1 >= {TARGETS['febrl4_f1']}",
            f"{f['ndc']['f1']:.4f}",
            f["ndc"]["f1"] >= TARGETS["febrl4_f1"],
        )
    )
    rows.append(
        (
            f"synthetic: ndc auto-link precision >= {TARGETS['synthetic_precision']}",
            f"{s['ndc']['precision']:.4f}",
            s["ndc"]["precision"] >= TARGETS["synthetic_precision"],
        )
    )
    rows.append(
        (
            f"synthetic: ndc auto-link recall >= {TARGETS['synthetic_recall']}",
            f"{s['ndc']['recall']:.4f}",
            s["ndc"]["recall"] >= TARGETS["synthetic_recall"],
        )
    )
    return rows


def format_summary(result: dict) -> str:
    """A readable table per data set, then the targets met or missed."""
    lines = []
    for name, title in (("febrl4", "FEBRL4 (5,000 + 5,000, no soc_sec_id)"), ("synthetic", "")):
        data = result[name]
        if name == "synthetic":
            s = data["set"]
            title = (
                f"synthetic Vietnamese set (seed {s['seed']}): {s['records']:,} records, "
                f"{s['true_links']:,} true links, {s['persons']:,} persons"
            )
        lines.append(f"linkage benchmark: {title}")
        lines.append(
            f"{'method':<20}{'precision':>10}{'recall':>9}{'F1':>9}{'links':>8}{'review':>8}"
            f"{'seconds':>9}"
        )
        for method in METHODS:
            m = data[method]
            review = str(m.get("review", "-"))
            lines.append(
                f"{method:<20}{m['precision']:>10.4f}{m['recall']:>9.4f}{m['f1']:>9.4f}"
                f"{m['links']:>8}{review:>8}{m['seconds']:>9.1f}"
            )
        ndc = data["ndc"]
        lines.append(
            f"ndc blocking: {ndc['blocking_pairs']:,} candidate pairs, recall of true pairs "
            f"{ndc['blocking_recall']:.4f}; model {ndc['model_version']}"
        )
        lines.append(f"ndc thresholds: {ndc['thresholds']}")
        lines.append("")
    lines.append("targets")
    for target, measured, met in targets(result):
        lines.append(f"  {'met   ' if met else 'MISSED'} {target}: {measured}")
    return "\n".join(lines)
