"""ndc.textcodecs: the TCVN3 (ABC) codec legacy files are written and read in."""

from __future__ import annotations

import unicodedata

import pytest

from ndc import textcodecs


def test_tcvn3_domain_samples() -> None:
    textcodecs.register()
    assert "Hà Nội".encode("tcvn3").decode("latin-1") == "Hµ Néi"
    assert "Nguyễn Văn Đức".encode("tcvn3").decode("latin-1") == "NguyÔn V¨n §øc"
    assert "Hµ Néi".encode("latin-1").decode("tcvn3") == "Hà Nội"
    assert "NguyÔn V¨n §øc".encode("latin-1").decode("abc") == "Nguyễn Văn Đức"
    assert unicodedata.normalize("NFD", "Hồ").encode("tcvn3") == "Hồ".encode("tcvn3")


def test_tcvn3_round_trips_every_vietnamese_letter() -> None:
    textcodecs.register()
    tones = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]
    for base in "aăâeêioôơuưy":
        for tone in tones:
            lower = unicodedata.normalize("NFC", base + tone)
            upper = unicodedata.normalize("NFC", base.upper() + tone)
            assert lower.encode("tcvn3").decode("tcvn3") == lower
            expected = upper if not tone else lower  # no upper-case toned code points
            assert upper.encode("tcvn3").decode("tcvn3") == expected, upper
    for letter in "đĐ":
        assert letter.encode("tcvn3").decode("tcvn3") == letter
    assert bytes(range(0xA1, 0xFF)).decode("tcvn3").isprintable()
    with pytest.raises(UnicodeEncodeError):
        "日本".encode("tcvn3")
