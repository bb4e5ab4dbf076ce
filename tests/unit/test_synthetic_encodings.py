"""ndc.synthetic.encodings: Windows-1258 as legacy province offices write it."""

from __future__ import annotations

import unicodedata

import pytest

from ndc.synthetic.encodings import decode_cp1258, encode_cp1258


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn Thị Hồng Nhung",
        "Đặng Văn Đức",
        "Hà Nội",
        "Huỳnh Thủy Tiên",
        "Võ Ngọc Ánh, Lý Mỹ Ý",
        "Nữ",
    ],
)
def test_cp1258_round_trip(text: str) -> None:
    data = encode_cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert unicodedata.normalize("NFC", data.decode("cp1258")) == text
    assert decode_cp1258(data) == text


def test_cp1258_uses_combining_tone_marks() -> None:
    # ễ = ê (0xEA) + combining tilde (0xDE); ị = i + combining dot below (0xF2)
    assert encode_cp1258("Nguyễn") == b"Nguy\xea\xden"
    assert encode_cp1258("Thị") == b"Thi\xf2"
    assert encode_cp1258("Đà") == b"\xd0\xe0"  # precomposed where cp1258 has the letter
    assert not unicodedata.is_normalized("NFC", encode_cp1258("Nguyễn").decode("cp1258"))
