"""ndc.synthetic.pid: the 12-digit personal ID, built and decoded."""

from __future__ import annotations

import pytest

from ndc.synthetic.pid import build_personal_id, decode_personal_id


def test_build_personal_id_layout() -> None:
    assert build_personal_id("01", "male", 1990, 123) == "001090000123"
    assert build_personal_id("79", "female", 2003, 5) == "079303000005"
    assert build_personal_id("048", "female", 1955, 999_999) == "048155999999"
    assert build_personal_id("92", "male", 2100, 1)[3] == "4"


@pytest.mark.parametrize(
    "code,sex,year,serial",
    [
        ("01", "male", 1930, 0),
        ("79", "female", 1999, 42),
        ("48", "male", 2000, 7),
        ("96", "female", 2025, 999_999),
        ("31", "female", 2150, 123_456),
    ],
)
def test_decode_inverts_build(code: str, sex: str, year: int, serial: int) -> None:
    decoded = decode_personal_id(build_personal_id(code, sex, year, serial))
    assert decoded["province_code"] == code
    assert decoded["province_prefix"] == "0" + code
    assert decoded["sex"] == sex
    assert decoded["birth_year"] == year
    assert decoded["serial"] == serial


@pytest.mark.parametrize("bad", ["", "00109000012", "0010900001234", "00109000012A", None])
def test_decode_rejects_malformed(bad: object) -> None:
    with pytest.raises(ValueError):
        decode_personal_id(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        ("1", "male", 1990, 1),
        ("01", "x", 1990, 1),
        ("01", "male", 1899, 1),
        ("01", "male", 1990, 10**6),
    ],
)
def test_build_rejects_bad_input(args: tuple) -> None:
    with pytest.raises(ValueError):
        build_personal_id(*args)
