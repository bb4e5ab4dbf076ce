"""What a linkage model compares and how it finds candidates: one spec per kind of record.

`VIETNAMESE` is ndc's: person records against the population database (columns from
`normalise.prepare_persons`). `FEBRL4` is the same design on the columns of the FEBRL4
benchmark (Australian-style names and addresses, no Vietnamese rules): it exists so that ndc's
linkage can be measured against the field's peers on a public data set.

Comparisons are Splink 5 settings dicts: each level a DuckDB SQL condition on `<column>_l` and
`<column>_r`, most specific first; a level with `tf_adjustment_column` has its weight adjusted
by how common the value is (a match on "Nguyễn" says less than a match on "Lâm").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Spec:
    """A kind of linkage: how records are prepared, compared and blocked."""

    name: str
    prepare: Callable[[pd.DataFrame, str], pd.DataFrame]
    comparisons: list[dict]
    blocking_rules: list[str]
    em_blocking_rules: list[str]
    notes: dict[str, str] = field(default_factory=dict)
    # Comparison (output column) -> the least m probability of each of its levels: evidence a
    # true match can legitimately disagree on (an address: moves, a stale population database)
    # is never taken as proof of another person, however rare EM found the disagreement.
    m_floors: dict[str, float] = field(default_factory=dict)


def _null(*cols: str) -> dict:
    cond = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in cols)
    return {"sql_condition": cond, "label_for_charts": "null", "is_null_level": True}


def _level(sql: str, label: str, tf: str | None = None) -> dict:
    level = {"sql_condition": sql, "label_for_charts": label}
    if tf:
        level["tf_adjustment_column"] = tf
        level["tf_adjustment_weight"] = 1.0
    return level


ELSE = {"sql_condition": "ELSE", "label_for_charts": "else"}


def _name_part(part: str, tf: bool) -> dict:
    """A part of a Vietnamese name (family, middle, given), with and without its marks.

    "Same letters, one side typed without marks" (NGUYEN VAN AN for Nguyễn Văn An) is nearly
    as good as an exact match; "same letters, different marks" (Hùng / Hưng) is another name.
    """
    key, marked = f"{part}_key", part
    return {
        "output_column_name": part,
        "comparison_levels": [
            _null(key),
            _level(
                f"{key}_l = {key}_r AND ({marked}_l = {marked}_r OR name_unmarked_l "
                "OR name_unmarked_r)",
                "same name (marks equal or not typed)",
                tf=key if tf else None,
            ),
            _level(f"{key}_l = {key}_r", "same letters, other marks"),
            _level(f"damerau_levenshtein({key}_l, {key}_r) <= 1", "one typo"),
            _level(f"jaro_winkler_similarity({key}_l, {key}_r) >= 0.88", "jaro-winkler >= 0.88"),
            ELSE,
        ],
    }


def _swapped_day_month(dob: str = "dob") -> str:
    return (
        f"substr({dob}_l, 1, 4) = substr({dob}_r, 1, 4) "
        f"AND substr({dob}_l, 5, 2) = substr({dob}_r, 7, 2) "
        f"AND substr({dob}_l, 7, 2) = substr({dob}_r, 5, 2) "
        f"AND substr({dob}_l, 5, 2) <> substr({dob}_l, 7, 2)"
    )


VN_COMPARISONS: list[dict] = [
    _name_part("family", tf=True),
    _name_part("middle", tf=False),
    _name_part("given", tf=True),
    {
        "output_column_name": "date_of_birth",
        "comparison_levels": [
            _null("dob_year"),
            _level("dob_l = dob_r", "same day"),
            _level(_swapped_day_month(), "day and month swapped"),
            _level(
                "dob_year_l = dob_year_r "
                "AND (dob_precision_l = 'year' OR dob_precision_r = 'year')",
                "same year, one side known to the year only",
            ),
            _level(
                "dob_ym_l = dob_ym_r AND (dob_precision_l = 'month' OR dob_precision_r = 'month')",
                "same month, one side known to the month only",
            ),
            _level("damerau_levenshtein(dob_l, dob_r) <= 1", "one digit off"),
            _level("dob_year_l = dob_year_r", "same year"),
            _level("abs(cast(dob_year_l as int) - cast(dob_year_r as int)) <= 1", "year +-1"),
            ELSE,
        ],
    },
    {
        "output_column_name": "sex",
        "comparison_levels": [_null("sex"), _level("sex_l = sex_r", "same sex"), ELSE],
    },
    {
        "output_column_name": "commune",
        "comparison_levels": [
            _null("commune_options"),
            _level("commune_2025_l = commune_2025_r", "same 2025 commune"),
            _level(
                "list_has_any(commune_options_l, commune_options_r)",
                "a 2025 commune the legacy ward was split into",
            ),
            _level("province_2025_l = province_2025_r", "same 2025 province"),
            ELSE,
        ],
    },
    {
        "output_column_name": "mother_name",
        "comparison_levels": [
            _null("mother_key"),
            _level("mother_key_l = mother_key_r", "same name"),
            _level("mother_given_key_l = mother_given_key_r", "same given name"),
            _level("jaro_winkler_similarity(mother_key_l, mother_key_r) >= 0.9", "jw >= 0.9"),
            ELSE,
        ],
    },
]

# Candidate pairs: a true pair needs to agree on one of these. Each rule survives a different
# kind of error: a wrong year, a typo in a name, a swapped day and month, a moved person.
VN_BLOCKING = [
    "l.name_key = r.name_key AND l.dob_year = r.dob_year",
    "l.family_key = r.family_key AND l.given_key = r.given_key AND l.dob_year = r.dob_year",
    "l.family_key = r.family_key AND l.given_key = r.given_key "
    "AND l.province_2025 = r.province_2025",
    "l.family_key = r.family_key AND l.dob = r.dob",
    "l.given_key = r.given_key AND l.dob = r.dob",
    "l.middle_key = r.middle_key AND l.given_key = r.given_key "
    "AND l.province_2025 = r.province_2025",
    "l.family_key = r.family_key AND l.middle_key = r.middle_key AND l.dob_year = r.dob_year "
    "AND l.province_2025 = r.province_2025",
    "l.mother_key = r.mother_key AND l.dob_year = r.dob_year",
]
# EM needs pairs that leave the trained comparisons free: on the date (names, sex, commune and
# mother trained), then on the name key (date of birth trained).
VN_EM_BLOCKING = [
    "l.dob = r.dob",
    "l.name_key = r.name_key",
]


def _prepare_vietnamese(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    from ndc.linkage.normalise import prepare_persons

    return prepare_persons(frame, id_column)


def _jw_text(col: str, tf: bool = True) -> dict:
    return {
        "output_column_name": col,
        "comparison_levels": [
            _null(col),
            _level(f"{col}_l = {col}_r", "exact", tf=col if tf else None),
            _level(f"damerau_levenshtein({col}_l, {col}_r) <= 1", "one typo"),
            _level(f"jaro_winkler_similarity({col}_l, {col}_r) >= 0.9", "jw >= 0.9"),
            _level(f"jaro_winkler_similarity({col}_l, {col}_r) >= 0.75", "jw >= 0.75"),
            ELSE,
        ],
    }


def _febrl_name(col: str, other: str) -> dict:
    comparison = _jw_text(col)
    comparison["comparison_levels"].insert(
        4,
        _level(f"{col}_l = {other}_r AND {other}_l = {col}_r", "given name and surname swapped"),
    )
    return comparison


FEBRL4_COMPARISONS: list[dict] = [
    _febrl_name("given_name", "surname"),
    _febrl_name("surname", "given_name"),
    {
        "output_column_name": "date_of_birth",
        "comparison_levels": [
            _null("dob"),
            _level("dob_l = dob_r", "same day"),
            _level("damerau_levenshtein(dob_l, dob_r) <= 1", "one digit off"),
            _level(_swapped_day_month(), "day and month swapped"),
            _level("damerau_levenshtein(dob_l, dob_r) <= 2", "two digits off"),
            _level("dob_year_l = dob_year_r", "same year"),
            ELSE,
        ],
    },
    {
        "output_column_name": "street_number",
        "comparison_levels": [
            _null("street_number"),
            _level("street_number_l = street_number_r", "exact", tf="street_number"),
            _level("damerau_levenshtein(street_number_l, street_number_r) <= 1", "one typo"),
            ELSE,
        ],
    },
    _jw_text("address_1"),
    _jw_text("address_2"),
    _jw_text("suburb"),
    {
        "output_column_name": "postcode",
        "comparison_levels": [
            _null("postcode"),
            _level("postcode_l = postcode_r", "exact", tf="postcode"),
            _level("damerau_levenshtein(postcode_l, postcode_r) <= 1", "one typo"),
            ELSE,
        ],
    },
    {
        "output_column_name": "state",
        "comparison_levels": [
            _null("state"),
            _level("state_l = state_r", "exact", tf="state"),
            ELSE,
        ],
    },
]
FEBRL4_BLOCKING = [
    "l.given_name = r.given_name AND l.surname = r.surname",
    "l.given_name = r.surname AND l.surname = r.given_name",
    "l.dob = r.dob",
    "l.surname = r.surname AND l.dob_year = r.dob_year",
    "l.given_name = r.given_name AND l.dob_year = r.dob_year",
    "l.state = r.state AND l.address_1 = r.address_1",
    "l.street_number = r.street_number AND l.address_1 = r.address_1",
    "l.postcode = r.postcode",
    "l.suburb = r.suburb",
]
FEBRL4_EM_BLOCKING = [
    "l.dob = r.dob",
    "l.given_name = r.given_name AND l.surname = r.surname",
    "l.postcode = r.postcode",
]


def _prepare_febrl(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    from ndc.linkage.febrl import prepare_febrl

    return prepare_febrl(frame, id_column)


VIETNAMESE = Spec(
    name="vietnamese",
    prepare=_prepare_vietnamese,
    comparisons=VN_COMPARISONS,
    blocking_rules=VN_BLOCKING,
    em_blocking_rules=VN_EM_BLOCKING,
    # A commune in another province: about 1 true match in 100 (a move, a stale address).
    m_floors={"commune": 0.01},
)
FEBRL4 = Spec(
    name="febrl4",
    prepare=_prepare_febrl,
    comparisons=FEBRL4_COMPARISONS,
    blocking_rules=FEBRL4_BLOCKING,
    em_blocking_rules=FEBRL4_EM_BLOCKING,
)
SPECS = {s.name: s for s in (VIETNAMESE, FEBRL4)}
