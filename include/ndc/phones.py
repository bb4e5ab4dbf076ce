"""Phone numbers to E.164 with Google's libphonenumber (the `phonenumbers` package), at load.

The load adds, beside each phone column a registry entity declares (``phone_columns``), a raw
column ``<column>_e164``: the number parsed as Vietnamese (``+84 ...``, ``0084 ...``,
``+84 (0) ...``, ``84 ...``, a national number with or without its leading 0; spaces, dots,
dashes and brackets ignored) and written in E.164. The parsing runs here because
libphonenumber exists for Python, not for PostgreSQL; the rows pass through Python only on
the extract and load path.

What the library knows is today's numbering plan, so a mobile number of the pre-2018 11-digit
form (``0166 234 5678``) is no valid number to it: such a number is kept in E.164 as received
(``+841662345678``) and the staging model rewrites its prefix through the dictionary's code
list ``mobile_prefix_2018`` (``dbt_project/macros/phone.sql``). That step stays in SQL on
purpose: the prefix table is reference data of the dictionary, a seed, and a changed seed
rebuilds the models that use it (dbt_project/README.md, rule 8); a table copied into Python
would change without rebuilding anything.

Nothing here goes online: the library's metadata ships in the package.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

from ndc.registry import e164_column

__all__ = ["e164_column", "to_e164"]

# The types a person's number can have; service and premium numbers are no person's number.
_PERSONAL_TYPES = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
# An old 11-digit mobile number's national significant number: 1 and nine digits.
_OLD_MOBILE = re.compile(r"^1[0-9]{9}$")
# A mobile number's national significant number: nine digits after 3, 5, 7, 8 or 9. The
# library's ranges lag the carriers' allocation (9.0.43 knows 089 only from 0896, where the
# dictionary's MobiFone prefix is all of 089), so a number of this shape is not rejected on
# its range; the library still parses it and rejects the service and premium numbers it knows.
_MOBILE_SHAPE = re.compile(r"^[35789][0-9]{8}$")


def to_e164(raw: str | None) -> str | None:
    """A Vietnamese phone number in E.164, or None when the value cannot be one (empty, another
    country, a service number, a pre-2017 landline, garbage). An old 11-digit mobile number
    comes back as ``+841...`` for the 2018 prefix rewrite."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84 or number.extension:
        return None
    national = str(number.national_number)
    if phonenumbers.is_valid_number(number):
        if phonenumbers.number_type(number) not in _PERSONAL_TYPES:
            return None
    elif not (_OLD_MOBILE.match(national) or _MOBILE_SHAPE.match(national)):
        return None
    return "+84" + national
