"""Administrative units before and after the 2025 reform, read from vietnamadminunits' own files.

Only the package's SQLite tables (`admin_units`, `admin_units_legacy`) and its converter table
(`converter_2025.json`) are read: never its `convert_address` code path, which may call an online
geocoder.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


def _data_dir() -> Path:
    import vietnamadminunits

    return Path(vietnamadminunits.__file__).parent / "data"


@dataclass(frozen=True)
class AdminUnits:
    """Legacy wards (63/696/~10,035) and 2025 communes (34/3,321), with the old -> new mapping."""

    # legacy wards, aligned arrays
    legacy_province: np.ndarray  # '01'
    legacy_district: np.ndarray  # '001'
    legacy_ward: np.ndarray  # '00001'
    legacy_ward_name: np.ndarray  # 'Phường Phúc Xá'
    legacy_district_name: np.ndarray
    legacy_province_name: np.ndarray
    # the 2025 communes each legacy ward maps to: offsets into new_for_legacy
    legacy_targets: tuple[tuple[int, ...], ...]  # indexes into the 2025 arrays
    legacy_default: np.ndarray  # index of the default 2025 commune for each legacy ward
    # 2025 communes, aligned arrays
    province: np.ndarray  # '01'
    commune: np.ndarray  # '00004'
    commune_name: np.ndarray
    province_name: np.ndarray
    # legacy province code -> 2025 province code
    province_2025: dict[str, str]

    @property
    def ambiguous(self) -> np.ndarray:
        """Per legacy ward: does it map to more than one 2025 commune?"""
        return np.array([len(t) > 1 for t in self.legacy_targets], dtype=bool)


@lru_cache(maxsize=1)
def load() -> AdminUnits:
    """Read the tables once per process."""
    data = _data_dir()
    with sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True) as conn:
        legacy = conn.execute(
            "SELECT provinceCode, districtCode, wardCode, province, district, ward, "
            "provinceKey, districtKey, wardKey FROM admin_units_legacy "
            "WHERE wardCode IS NOT NULL AND wardCode != '' ORDER BY wardCode"
        ).fetchall()
        new = conn.execute(
            "SELECT provinceCode, wardCode, province, ward, provinceKey, wardKey "
            "FROM admin_units ORDER BY wardCode"
        ).fetchall()
    conv = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
    new_index = {(r[4], r[5]): i for i, r in enumerate(new)}
    new_province_of_key = {r[4]: r[0] for r in new}
    targets: dict[str, list[int]] = {}
    default: dict[str, int] = {}
    for prov_key, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward_key, olds in wards.items():
            i = new_index.get((prov_key, ward_key))
            if i is None:
                continue
            for old in olds:
                targets.setdefault(old, []).append(i)
                default.setdefault(old, i)
    for prov_key, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, options in olds.items():
            for opt in options:
                i = new_index.get((prov_key, opt["newWardKey"]))
                if i is None:
                    continue
                if i not in targets.setdefault(old, []):
                    targets[old].append(i)
                if opt.get("isDefaultNewWard"):
                    default[old] = i
    old_province_key_code = {r[6]: r[0] for r in legacy}
    province_2025 = {}
    for new_key, old_keys in conv["DICT_PROVINCE"].items():
        for old_key in old_keys:
            if old_key in old_province_key_code and new_key in new_province_of_key:
                province_2025[old_province_key_code[old_key]] = new_province_of_key[new_key]
    kept = []
    for r in legacy:
        key = f"{r[6]}_{r[7]}_{r[8]}"
        if key in targets:
            kept.append((r, tuple(sorted(set(targets[key]))), default.get(key, targets[key][0])))
    return AdminUnits(
        legacy_province=np.array([k[0][0] for k in kept]),
        legacy_district=np.array([k[0][1] for k in kept]),
        legacy_ward=np.array([k[0][2] for k in kept]),
        legacy_province_name=np.array([k[0][3] for k in kept], dtype=object),
        legacy_district_name=np.array([k[0][4] for k in kept], dtype=object),
        legacy_ward_name=np.array([k[0][5] for k in kept], dtype=object),
        legacy_targets=tuple(k[1] for k in kept),
        legacy_default=np.array([k[2] for k in kept], dtype=np.int64),
        province=np.array([r[0] for r in new]),
        commune=np.array([r[1] for r in new]),
        province_name=np.array([r[2] for r in new], dtype=object),
        commune_name=np.array([r[3] for r in new], dtype=object),
        province_2025=province_2025,
    )
