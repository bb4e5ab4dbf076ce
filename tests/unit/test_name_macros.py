"""The legacy-encoding tables written into dbt_project/macros/names.sql agree with the codecs
(ndc.textcodecs for TCVN3, Python's cp1252), so the SQL repair decodes what the ingest and the
synthetic generator encode."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ndc.textcodecs import DECODING_TABLE

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "names.sql"


def _macro_body(name: str) -> str:
    text = MACROS.read_text(encoding="utf-8")
    match = re.search(r"{%\s*macro " + name + r"\(\)\s*-?%}(.*?){%-?\s*endmacro", text, re.S)
    assert match, f"macro {name} not found in {MACROS}"
    return match.group(1).strip()


def _sql_string(expression: str) -> str:
    """Evaluate a SQL expression of quoted literals and chr(n) joined by ||."""
    out = []
    for part in expression.split("||"):
        part = part.strip()
        if part.startswith("chr("):
            out.append(chr(int(part[4:-1])))
        else:
            assert part.startswith("'") and part.endswith("'"), part
            out.append(part[1:-1].replace("''", "'"))
    return "".join(out)


def _vietnamese_letters() -> set[str]:
    bases = "aăâeêioôơuưy"
    tones = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
    letters = {unicodedata.normalize("NFC", b + t) for b in bases for t in tones} | {"đ"}
    return letters | {c.upper() for c in letters}


def test_tcvn3_table_matches_the_codec():
    source = _sql_string(_macro_body("_tcvn3_bytes"))
    target = _sql_string(_macro_body("_tcvn3_letters"))
    expected = {chr(b): DECODING_TABLE[b] for b in range(256) if DECODING_TABLE[b] != chr(b)}
    assert dict(zip(source, target, strict=True)) == expected


def test_tcvn3_signature_is_the_bytes_that_are_no_vietnamese_letter():
    source = _sql_string(_macro_body("_tcvn3_bytes"))
    signature = _sql_string(_macro_body("_tcvn3_signature"))
    letters = _vietnamese_letters()
    assert signature == "".join(c for c in source if c not in letters)
    # "Hµ Néi" (Hà Nội) and "NguyÔn V¨n §øc" (Nguyễn Văn Đức) carry a signature byte.
    assert set("Hµ Néi") & set(signature) and set("NguyÔn V¨n §øc") & set(signature)


def test_cp1252_specials_map_to_their_byte_values():
    specials = _macro_body("_cp1252_specials")
    byte_values = [int(n) for n in re.findall(r"\d+", _macro_body("_cp1252_special_bytes"))]
    assert [c.encode("cp1252")[0] for c in specials] == byte_values
    # Every byte 0x80-0x9F that cp1252 decodes is listed; the rest stay Latin-1 controls.
    decodable = []
    for b in range(0x80, 0xA0):
        try:
            bytes([b]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        decodable.append(b)
    assert byte_values == decodable


def test_marked_alphabets_pair_lower_and_upper_case():
    lower = _macro_body("vietnamese_marked_lower")
    upper = _macro_body("vietnamese_marked_upper")
    assert upper == lower.upper() and len(set(lower)) == len(lower) == 67
    assert set(lower) | set(upper) == {c for c in _vietnamese_letters() if not c.isascii()}
