"""Linking person records without a usable personal ID to the population (issue 10).

`train` estimates a Splink 5 model (DuckDB backend, in memory, offline) on records and the
population, `calibrate` sets its thresholds from labelled records, `LinkageModel.save`/`load`
keep it as a versioned JSON file, and `link` returns, per record, the best candidate's personal
ID, the match probability, the band (auto_link, review, non_link) and the model version.
"""

from ndc.linkage.blocking import blocking_report
from ndc.linkage.model import BANDS, LinkageModel, calibrate, link, score_pairs, train
from ndc.linkage.specs import FEBRL4, SPECS, VIETNAMESE

__all__ = [
    "BANDS",
    "FEBRL4",
    "SPECS",
    "VIETNAMESE",
    "LinkageModel",
    "blocking_report",
    "calibrate",
    "link",
    "score_pairs",
    "train",
]
