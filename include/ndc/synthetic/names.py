"""Vietnamese full names: sampling (family + middle + given) and legacy upper-case style."""

from __future__ import annotations

import unicodedata

import numpy as np

# Family names with approximate shares (%) in the population.
FAMILY_NAMES: dict[str, float] = {
    "Nguyễn": 38.4,
    "Trần": 11.0,
    "Lê": 9.5,
    "Phạm": 7.1,
    "Hoàng": 4.0,
    "Huỳnh": 1.1,
    "Phan": 4.5,
    "Vũ": 2.8,
    "Võ": 1.1,
    "Đặng": 2.1,
    "Bùi": 2.0,
    "Đỗ": 1.4,
    "Hồ": 1.3,
    "Ngô": 1.3,
    "Dương": 1.0,
    "Lý": 0.5,
    "Đinh": 0.7,
    "Trịnh": 0.5,
    "Đào": 0.5,
    "Mai": 0.4,
    "Cao": 0.4,
    "Lương": 0.4,
    "Tạ": 0.3,
    "Lâm": 0.3,
}

# The traditional middle name of each sex; the others are drawn uniformly.
TRADITIONAL_MIDDLE = {"male": "Văn", "female": "Thị"}
MIDDLE_NAMES = {
    "male": [
        "Đức",
        "Minh",
        "Quang",
        "Hữu",
        "Công",
        "Thanh",
        "Xuân",
        "Hoàng",
        "Tuấn",
        "Gia",
        "Anh",
        "Ngọc",
        "Trung",
        "Bảo",
        "Đình",
        "Mạnh",
        "Thế",
        "Quốc",
    ],
    "female": [
        "Ngọc",
        "Thu",
        "Thanh",
        "Minh",
        "Phương",
        "Bảo",
        "Hồng",
        "Kim",
        "Mai",
        "Khánh",
        "Hoài",
        "Thùy",
        "Diệu",
        "Lan",
        "Quỳnh",
        "Mỹ",
        "Hải",
        "Bích",
    ],
}
GIVEN_NAMES = {
    "male": [
        "An",
        "Anh",
        "Bảo",
        "Bình",
        "Cường",
        "Dũng",
        "Duy",
        "Đạt",
        "Đức",
        "Giang",
        "Hải",
        "Hiếu",
        "Hoàng",
        "Hùng",
        "Huy",
        "Khang",
        "Khánh",
        "Khoa",
        "Kiên",
        "Lâm",
        "Long",
        "Minh",
        "Nam",
        "Nghĩa",
        "Phong",
        "Phúc",
        "Quân",
        "Quang",
        "Sơn",
        "Tài",
        "Thắng",
        "Thành",
        "Tiến",
        "Toàn",
        "Trung",
        "Tuấn",
        "Tùng",
        "Việt",
        "Vinh",
        "Vũ",
        "Ân",
        "Hưng",
        "Lộc",
        "Nhân",
        "Thịnh",
        "Trí",
        "Đông",
    ],
    "female": [
        "Ánh",
        "Châu",
        "Diễm",
        "Hậu",
        "Lệ",
        "Nguyệt",
        "Thư",
        "Vy",
        "An",
        "Anh",
        "Chi",
        "Dung",
        "Giang",
        "Hà",
        "Hạnh",
        "Hằng",
        "Hiền",
        "Hoa",
        "Hồng",
        "Hương",
        "Huyền",
        "Lan",
        "Linh",
        "Loan",
        "Ly",
        "Mai",
        "My",
        "Nga",
        "Ngân",
        "Ngọc",
        "Nhi",
        "Nhung",
        "Oanh",
        "Phương",
        "Quỳnh",
        "Thảo",
        "Thu",
        "Thủy",
        "Trang",
        "Trinh",
        "Tuyết",
        "Uyên",
        "Vân",
        "Yến",
    ],
}


def _nfc(words: list[str]) -> np.ndarray:
    """Return the words NFC-normalised as a numpy object array."""
    return np.array([unicodedata.normalize("NFC", w) for w in words], dtype=object)


def sample_names(rng: np.random.Generator, sexes: np.ndarray, birth_years: np.ndarray) -> list[str]:
    """Draw one NFC full name per person; older people more often carry Văn/Thị."""
    family, middle, given = sample_name_parts(rng, sexes, birth_years)
    return [f"{a} {b} {c}" for a, b, c in zip(family, middle, given, strict=True)]


def sample_families(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw n family names with their population shares."""
    fam = _nfc(list(FAMILY_NAMES))
    fam_p = np.array(list(FAMILY_NAMES.values()), dtype=float)
    return fam[rng.choice(len(fam), size=n, p=fam_p / fam_p.sum())]


def sample_name_parts(
    rng: np.random.Generator, sexes: np.ndarray, birth_years: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (family, middle, given) name arrays; middle names fit the sex (Văn, Thị ...)."""
    n = len(sexes)
    family = sample_families(rng, n)
    p_traditional = np.clip(0.7 - (np.asarray(birth_years) - 1950) * 0.008, 0.2, 0.7)
    traditional = rng.random(n) < p_traditional
    u_middle = rng.random(n)
    u_given = rng.random(n)
    middle = np.empty(n, dtype=object)
    given = np.empty(n, dtype=object)
    for sex in ("male", "female"):
        mask = np.asarray(sexes) == sex
        mids = _nfc(MIDDLE_NAMES[sex])
        givs = _nfc(GIVEN_NAMES[sex])
        mi = (u_middle[mask] * len(mids)).astype(int)
        gi = (u_given[mask] * len(givs)).astype(int)
        m = np.where(
            traditional[mask], unicodedata.normalize("NFC", TRADITIONAL_MIDDLE[sex]), mids[mi]
        )
        g = givs[gi]
        clash = m == g
        g[clash] = givs[(gi[clash] + 1) % len(givs)]
        middle[mask] = m
        given[mask] = g
    return family, middle, given


def strip_marks(text: str) -> str:
    """Remove all diacritics, mapping Đ/đ to D/d explicitly."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.replace("Đ", "D").replace("đ", "d")


def legacy_upper(name: str) -> str:
    """Return the legacy-system style of a name: upper case without diacritics."""
    return strip_marks(name).upper()
