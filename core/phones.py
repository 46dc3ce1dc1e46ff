"""Indonesian mobile numbers: accept them as people write them (08…, 628…, +628…), store them as E.164.

After the country code 62 a mobile number is 8, the operator digit and the subscriber number: 9 to 12
digits in all (10 to 13 written with the leading 0). Landlines (021…, +62 21…), foreign numbers and the
non-mobile 080x range (toll-free and premium lines) are rejected. The trunk 0 that people sometimes keep
after the country code (``+62 (0)812…``) is forgiven.
"""

from __future__ import annotations

import re

COUNTRY_CODE = "62"
MIN_NATIONAL_DIGITS = 9
MAX_NATIONAL_DIGITS = 12
_TYPED_SEPARATORS = re.compile(r"[\s\-.()]+")
_FIX = "Write a mobile number starting 08, e.g. 0812-3456-7890."


class PhoneError(ValueError):
    """A phone number that is not an Indonesian mobile number; the message says how to write one."""


def normalise_phone(text: str) -> str:
    """The Indonesian mobile number in ``text`` as E.164 (``+6281234567890``); raise PhoneError if it is not one."""
    compact = _TYPED_SEPARATORS.sub("", text)
    if not compact:
        raise PhoneError(f"The phone number is empty. {_FIX}")
    for position, char in enumerate(compact):
        if char not in "0123456789" and not (char == "+" and position == 0):
            raise PhoneError(f"A phone number has only digits, but this one contains '{char}'. {_FIX}")
    national = _national_number(compact, text.strip())
    if national[0] != "8":
        raise PhoneError(f"{text.strip()} is a landline, not a mobile number: mobile numbers start 08. {_FIX}")
    if national.startswith("80"):
        raise PhoneError(f"{text.strip()} is a toll-free or premium-rate number (080…), not a mobile number. {_FIX}")
    if not MIN_NATIONAL_DIGITS <= len(national) <= MAX_NATIONAL_DIGITS:
        size = "short" if len(national) < MIN_NATIONAL_DIGITS else "long"
        raise PhoneError(
            f"{text.strip()} is too {size} for a mobile number: written with 08 it has {len(national) + 1} digits, "
            f"not {MIN_NATIONAL_DIGITS + 1} to {MAX_NATIONAL_DIGITS + 1}. Check the number, e.g. 0812-3456-7890."
        )
    return f"+{COUNTRY_CODE}{national}"


def _national_number(compact: str, typed: str) -> str:
    """The digits after the country code (or after the leading 0), without any trunk 0."""
    if compact.startswith("+"):
        if not compact.startswith(f"+{COUNTRY_CODE}"):
            raise PhoneError(
                f"{typed} is not an Indonesian number: after + it must continue with 62, Indonesia's country code. "
                f"{_FIX}"
            )
        national = compact[3:].removeprefix("0")
    elif compact.startswith(COUNTRY_CODE):
        national = compact[2:].removeprefix("0")
    elif compact.startswith("00"):
        raise PhoneError(f"{typed} starts with an international prefix: write +62 instead, or start with 08. {_FIX}")
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        raise PhoneError(f"{typed} does not start with 0 or +62: add the leading 0. {_FIX}")
    if not national:
        raise PhoneError(f"{typed} has no number after the prefix. {_FIX}")
    return national
