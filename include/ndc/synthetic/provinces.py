"""Legacy (pre-2025) province codes used by the synthetic sources."""

from __future__ import annotations

import numpy as np

# The 63 provinces of the legacy code system (valid before 2025-07-01), as in the
# `admin_units_legacy` table shipped by vietnamadminunits.
LEGACY_PROVINCES: dict[str, str] = {
    "01": "Hà Nội",
    "02": "Hà Giang",
    "04": "Cao Bằng",
    "06": "Bắc Kạn",
    "08": "Tuyên Quang",
    "10": "Lào Cai",
    "11": "Điện Biên",
    "12": "Lai Châu",
    "14": "Sơn La",
    "15": "Yên Bái",
    "17": "Hòa Bình",
    "19": "Thái Nguyên",
    "20": "Lạng Sơn",
    "22": "Quảng Ninh",
    "24": "Bắc Giang",
    "25": "Phú Thọ",
    "26": "Vĩnh Phúc",
    "27": "Bắc Ninh",
    "30": "Hải Dương",
    "31": "Hải Phòng",
    "33": "Hưng Yên",
    "34": "Thái Bình",
    "35": "Hà Nam",
    "36": "Nam Định",
    "37": "Ninh Bình",
    "38": "Thanh Hóa",
    "40": "Nghệ An",
    "42": "Hà Tĩnh",
    "44": "Quảng Bình",
    "45": "Quảng Trị",
    "46": "Huế",
    "48": "Đà Nẵng",
    "49": "Quảng Nam",
    "51": "Quảng Ngãi",
    "52": "Bình Định",
    "54": "Phú Yên",
    "56": "Khánh Hòa",
    "58": "Ninh Thuận",
    "60": "Bình Thuận",
    "62": "Kon Tum",
    "64": "Gia Lai",
    "66": "Đắk Lắk",
    "67": "Đắk Nông",
    "68": "Lâm Đồng",
    "70": "Bình Phước",
    "72": "Tây Ninh",
    "74": "Bình Dương",
    "75": "Đồng Nai",
    "77": "Bà Rịa - Vũng Tàu",
    "79": "Hồ Chí Minh",
    "80": "Long An",
    "82": "Tiền Giang",
    "83": "Bến Tre",
    "84": "Trà Vinh",
    "86": "Vĩnh Long",
    "87": "Đồng Tháp",
    "89": "An Giang",
    "91": "Kiên Giang",
    "92": "Cần Thơ",
    "93": "Hậu Giang",
    "94": "Sóc Trăng",
    "95": "Bạc Liêu",
    "96": "Cà Mau",
}

# Provinces that send civil-registration files, weighted by population (millions, approx.).
REPORTING_PROVINCES: dict[str, float] = {
    "01": 8.5,
    "79": 9.5,
    "38": 3.7,
    "40": 3.4,
    "75": 3.3,
    "74": 2.8,
    "31": 2.1,
    "36": 1.9,
    "89": 1.9,
    "66": 1.9,
    "22": 1.4,
    "48": 1.25,
    "92": 1.25,
    "46": 1.2,
}

# Approximate population (millions, 2023) of every legacy province: the residence distribution.
POPULATION: dict[str, float] = {
    "01": 8.5, "02": 0.9, "04": 0.54, "06": 0.32, "08": 0.8, "10": 0.77, "11": 0.64,
    "12": 0.48, "14": 1.3, "15": 0.85, "17": 0.87, "19": 1.33, "20": 0.8, "22": 1.38,
    "24": 1.9, "25": 1.5, "26": 1.2, "27": 1.5, "30": 1.95, "31": 2.1, "33": 1.3, "34": 1.88,
    "35": 0.88, "36": 1.88, "37": 1.0, "38": 3.7, "40": 3.4, "42": 1.3, "44": 0.9, "45": 0.65,
    "46": 1.16, "48": 1.25, "49": 1.5, "51": 1.25, "52": 1.5, "54": 0.88, "56": 1.25,
    "58": 0.6, "60": 1.25, "62": 0.58, "64": 1.6, "66": 1.9, "67": 0.67, "68": 1.33,
    "70": 1.03, "72": 1.19, "74": 2.8, "75": 3.3, "77": 1.19, "79": 9.5, "80": 1.74,
    "82": 1.8, "83": 1.3, "84": 1.0, "86": 1.03, "87": 1.6, "89": 1.9, "91": 1.75, "92": 1.25,
    "93": 0.73, "94": 1.2, "95": 0.92, "96": 1.2,
}  # fmt: skip

# Weight of each non-reporting province in the birth-province distribution of the population.
_OTHER_PROVINCE_WEIGHT = 0.3

# How many reporting provinces still send Windows-1258 files.
N_LEGACY_ENCODING_PROVINCES = 3


def reporting_codes() -> list[str]:
    """Return the reporting province codes, sorted."""
    return sorted(REPORTING_PROVINCES)


def reporting_weights() -> np.ndarray:
    """Return the reporting provinces' shares (aligned with `reporting_codes()`)."""
    w = np.array([REPORTING_PROVINCES[c] for c in reporting_codes()], dtype=float)
    return w / w.sum()


def birth_province_distribution() -> tuple[list[str], np.ndarray]:
    """Return all 63 legacy codes and the probability of being born in each."""
    codes = sorted(LEGACY_PROVINCES)
    w = np.array([REPORTING_PROVINCES.get(c, _OTHER_PROVINCE_WEIGHT) for c in codes], dtype=float)
    return codes, w / w.sum()


def legacy_encoding_provinces(seed: int) -> tuple[str, ...]:
    """Return the reporting provinces that write Windows-1258 files for this seed (sorted)."""
    rng = np.random.default_rng([seed, 1258])
    candidates = [c for c in reporting_codes() if c not in ("01", "79")]
    picked = rng.choice(len(candidates), size=N_LEGACY_ENCODING_PROVINCES, replace=False)
    return tuple(sorted(candidates[i] for i in picked))


def tcvn3_province(seed: int) -> str:
    """Return the one reporting province still writing TCVN3 (ABC) files for this seed.

    Never 01 or 79, never a Windows-1258 province, and never 74 (Bình Dương), whose office
    becomes part of TP Hồ Chí Minh (79, UTF-8) on 2025-07-01.
    """
    rng = np.random.default_rng([seed, 5712])
    taken = set(legacy_encoding_provinces(seed)) | {"01", "79", "74"}
    candidates = [c for c in reporting_codes() if c not in taken]
    return candidates[int(rng.integers(0, len(candidates)))]
