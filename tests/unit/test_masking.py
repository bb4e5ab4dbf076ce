"""The analyst masking follows each element's personal-data class in the dictionary."""

import pytest

from ndc.dictionary.masking import masking, masking_rows
from ndc.protection import hmac_pads, pseudonym


def test_the_masking_of_the_person_elements_the_analysts_read():
    rules = {row["element"]: row["masking"] for row in masking_rows()}
    assert rules["personal_id"] == "pseudonym"
    assert rules["full_name"] == rules["full_name_raw"] == "drop"
    assert rules["date_of_birth"] == "year"
    assert rules["commune_code"] == rules["sex_code"] == "keep"
    assert rules["ethnicity_code"] == rules["religion_code"] == "drop"  # sensitive


@pytest.mark.parametrize(
    ("personal_data", "kind", "rule"),
    [
        ("none", "text", "keep"),
        ("sensitive", "code", "drop"),
        ("basic", "identifier", "pseudonym"),
        ("basic", "date", "year"),
        ("basic", "text", "drop"),
        ("basic", "boolean", "keep"),
    ],
)
def test_the_rule_by_class_and_type(personal_data, kind, rule):
    assert masking({"name": "x", "personal_data": personal_data, "type": kind}) == rule


def test_a_class_without_a_rule_is_refused():
    with pytest.raises(ValueError, match="secret"):
        masking({"name": "x", "personal_data": "secret", "type": "text"})


def test_the_pseudonym_is_letters_of_hmac_sha256():
    inner, outer = hmac_pads(b"k")
    assert len(inner) == len(outer) == 64
    value = pseudonym(b"k", "001090000001")
    assert len(value) == 32 and set(value) <= set("abcdefghijklmnop")
    assert value != pseudonym(b"other key", "001090000001")
