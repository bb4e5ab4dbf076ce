"""Text encoders for source files, including Windows-1258 with combining tone marks."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# The five tone marks Windows-1258 stores as separate combining characters.
CP1258_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def cp1258_form(char: str) -> str:
    """Return the cp1258-encodable spelling of one character (base letter + tone mark)."""
    try:
        char.encode("cp1258")
        return char
    except UnicodeEncodeError:
        pass
    decomposed = unicodedata.normalize("NFD", char)
    base = "".join(c for c in decomposed if c not in CP1258_TONE_MARKS)
    tones = "".join(c for c in decomposed if c in CP1258_TONE_MARKS)
    return unicodedata.normalize("NFC", base) + tones


@lru_cache(maxsize=1)
def _cp1258_table() -> dict[int, str]:
    """Return a str.translate table rewriting Vietnamese letters into cp1258 spellings."""
    table: dict[int, str] = {}
    for cp in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        char = chr(cp)
        form = cp1258_form(char)
        if form != char:
            table[cp] = form
    return table


def encode_cp1258(text: str) -> bytes:
    """Encode text as Windows-1258 the way legacy Vietnamese systems do (strict)."""
    text = unicodedata.normalize("NFC", text).translate(_cp1258_table())
    return text.encode("cp1258")


def decode_cp1258(data: bytes) -> str:
    """Decode Windows-1258 bytes and compose tone marks back into NFC."""
    return unicodedata.normalize("NFC", data.decode("cp1258"))


def encode_text(text: str, encoding: str) -> bytes:
    """Encode text as `utf-8` (NFC) or `cp1258`."""
    if encoding == "cp1258":
        return encode_cp1258(text)
    if encoding == "utf-8":
        return unicodedata.normalize("NFC", text).encode("utf-8")
    raise ValueError(f"unsupported encoding {encoding!r}")
