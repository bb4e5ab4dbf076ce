"""Python codecs for legacy Vietnamese text: TCVN3 (TCVN 5712:1993, the "ABC" / .VnTime fonts).

`register()` makes ``"tcvn3"`` (alias ``"abc"``) usable with ``bytes.decode`` and ``str.encode``::

    import ndc.textcodecs
    ndc.textcodecs.register()
    "Hà Nội".encode("tcvn3")              # b"H\\xb5 N\\xe9i"
    b"H\\xb5 N\\xe9i".decode("tcvn3")      # "Hà Nội"
    b"H\\xb5 N\\xe9i".decode("latin-1")    # "Hµ Néi": what TCVN3 text looks like when misread

The table is the VN3 subset of TCVN 5712:1993: bytes 0x00-0x7F are ASCII; 0xA1-0xA7 hold the
upper-case letters Ă Â Ê Ô Ơ Ư Đ, 0xA8-0xAE their lower-case forms, and 0xB5-0xFE the sixty
lower-case vowels with a tone mark. Every other byte decodes to the Latin-1 character of the
same value (and encodes back to it).

Upper-case vowels WITH a tone mark have no code point in TCVN3: ABC users type the lower-case
letter and switch to an upper-case font (.VnTimeH). The encoder therefore writes the lower-case
byte for them, so ``decode(encode(s)) == s`` holds for every Vietnamese NFC letter except the
upper-case toned vowels, which come back lower-case (``"Ánh"`` -> ``"ánh"``). Text is
NFC-normalised before encoding, so decomposed input (base letter + combining mark) encodes too.
"""

from __future__ import annotations

import codecs
import unicodedata

# Vowel bases in TCVN3 order and the five tones in TCVN3 order (grave, hook, tilde, acute, dot).
_TONES = ("\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
_TONED_BYTES: dict[str, tuple[int, int, int, int, int]] = {
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_PLAIN_BYTES = {
    "Ă": 0xA1,
    "Â": 0xA2,
    "Ê": 0xA3,
    "Ô": 0xA4,
    "Ơ": 0xA5,
    "Ư": 0xA6,
    "Đ": 0xA7,
    "ă": 0xA8,
    "â": 0xA9,
    "ê": 0xAA,
    "ô": 0xAB,
    "ơ": 0xAC,
    "ư": 0xAD,
    "đ": 0xAE,
}
NAMES = ("tcvn3", "abc")


def _nfc(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


def _tables() -> tuple[str, dict[int, int]]:
    """Return the 256-character decoding table and the encoding map (code point -> byte)."""
    decoding = [chr(b) for b in range(256)]
    for char, byte in _PLAIN_BYTES.items():
        decoding[byte] = char
    for base, byte_values in _TONED_BYTES.items():
        for tone, byte in zip(_TONES, byte_values, strict=True):
            decoding[byte] = _nfc(base, tone)
    # Unused bytes decode to their Latin-1 character; the Vietnamese letters among those
    # (à, Â, é ...) must still encode to their TCVN3 byte, so the Vietnamese entries win.
    encoding = {ord(ch): b for b, ch in enumerate(decoding)}
    encoding.update({ord(ch): b for ch, b in _PLAIN_BYTES.items()})
    for base, byte_values in _TONED_BYTES.items():
        for tone, byte in zip(_TONES, byte_values, strict=True):
            encoding[ord(_nfc(base, tone))] = byte
            # no upper-case toned vowels in VN3: the lower-case byte in an upper-case font
            encoding[ord(_nfc(base.upper(), tone))] = byte
    return "".join(decoding), encoding


DECODING_TABLE, ENCODING_MAP = _tables()


def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    """Encode text as TCVN3 (NFC first; upper-case toned vowels become lower-case bytes)."""
    data, _ = codecs.charmap_encode(unicodedata.normalize("NFC", text), errors, ENCODING_MAP)
    return data, len(text)


def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    """Decode TCVN3 bytes into NFC text."""
    return codecs.charmap_decode(bytes(data), errors, DECODING_TABLE)


class _IncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, input: str, final: bool = False) -> bytes:  # noqa: A002
        return encode(input, self.errors)[0]


class _IncrementalDecoder(codecs.IncrementalDecoder):
    def decode(self, input: bytes, final: bool = False) -> str:  # noqa: A002
        return decode(input, self.errors)[0]


class _StreamWriter(codecs.StreamWriter):
    def encode(self, input: str, errors: str = "strict") -> tuple[bytes, int]:  # noqa: A002
        return encode(input, errors)


class _StreamReader(codecs.StreamReader):
    def decode(self, input: bytes, errors: str = "strict") -> tuple[str, int]:  # noqa: A002
        return decode(input, errors)


_INFO = codecs.CodecInfo(
    name="tcvn3",
    encode=encode,
    decode=decode,
    incrementalencoder=_IncrementalEncoder,
    incrementaldecoder=_IncrementalDecoder,
    streamwriter=_StreamWriter,
    streamreader=_StreamReader,
)


def _search(name: str) -> codecs.CodecInfo | None:
    return _INFO if name.replace("-", "").replace("_", "").lower() in NAMES else None


_registered = False


def register() -> None:
    """Register the ``tcvn3`` codec (alias ``abc``) with Python's codec registry (idempotent)."""
    global _registered
    if not _registered:
        codecs.register(_search)
        _registered = True
