"""Phone numbers to E.164 at load (ndc.phones, libphonenumber): every format exports use,
what cannot be a person's Vietnamese number, and the old 11-digit mobiles left for the 2018
prefix rewrite in SQL (dbt_project/macros/phone.sql)."""

import pytest

from ndc.phones import to_e164


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("912345678", "+84912345678"),  # the leading 0 a spreadsheet dropped
        ("+84 91 234 5678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("0084912345678", "+84912345678"),
        ("0084 912.345.678", "+84912345678"),
        ("+84(0)912345678", "+84912345678"),
        ("+84 (0) 912 345 678", "+84912345678"),
        ("(+84) 91-234-5678", "+84912345678"),
        ("84.91.234.5678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("(024) 3825 1234", "+842438251234"),  # a landline of the 2017 area codes
        ("84.89.248.4476", "+84892484476"),  # MobiFone 089, beyond the library's ranges
        ("+84 24 3825 3456", "+842438253456"),
        # Old 11-digit mobiles: no valid number today, kept for the prefix rewrite in SQL.
        ("01662345678", "+841662345678"),
        ("+84 166 234 5678", "+841662345678"),
        ("84-128.123.4567", "+841281234567"),
        ("01992345678", "+841992345678"),
        ("01302345678", "+841302345678"),
    ],
)
def test_vietnamese_numbers_in_any_format(raw, e164):
    assert to_e164(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [None, "", "  ", "không có", "0912 345", "+1 415 555 0100", "1900 1234", "113", "0438253456"],
)
def test_what_cannot_be_a_persons_vietnamese_number_is_none(raw):
    assert to_e164(raw) is None
