"""Indonesian mobile numbers: accept them as people write them (08…, 628…, +628…), store them as E.164.

After the country code 62 a mobile number is 8, the operator digit and the subscriber number: 9 to 12
digits in all (10 to 13 written with the leading 0). Landlines (021…, +62 21…), foreign numbers and the
non-mobile 080x range (toll-free and premium lines) are rejected. The trunk 0 that people sometimes keep
after the country code (``+62 (0)812…``) is forgiven.
"""

from __future__ import annotations

import re

from flask_babel import gettext, lazy_gettext

COUNTRY_CODE = "62"
MIN_NATIONAL_DIGITS = 9
MAX_NATIONAL_DIGITS = 12
_TYPED_SEPARATORS = re.compile(r"[\s\-.()]+")
_FIX = lazy_gettext("Write a mobile number starting 08, e.g. 0812-3456-7890.")


class PhoneError(ValueError):
    """A phone number that is not an Indonesian mobile number; the message says how to write one."""


def normalise_phone(text: str) -> str:
    """The Indonesian mobile number in ``text`` as E.164 (``+6281234567890``); raise PhoneError if it is not one."""
    compact = _TYPED_SEPARATORS.sub("", text)
    if not compact:
        raise PhoneError(gettext("The phone number is empty. %(fix)s", fix=_FIX))
    for position, char in enumerate(compact):
        if char not in "0123456789" and not (char == "+" and position == 0):
            raise PhoneError(
                gettext(
                    "A phone number has only digits, but this one contains '%(char)s'. %(fix)s", char=char, fix=_FIX
                )
            )
    national = _national_number(compact, text.strip())
    if national[0] != "8":
        raise PhoneError(
            gettext(
                "%(number)s is a landline, not a mobile number: mobile numbers start 08. %(fix)s",
                number=text.strip(),
                fix=_FIX,
            )
        )
    if national.startswith("80"):
        raise PhoneError(
            gettext(
                "%(number)s is a toll-free or premium-rate number (080…), not a mobile number. %(fix)s",
                number=text.strip(),
                fix=_FIX,
            )
        )
    if not MIN_NATIONAL_DIGITS <= len(national) <= MAX_NATIONAL_DIGITS:
        figures = {
            "number": text.strip(),
            "digits": len(national) + 1,
            "least": MIN_NATIONAL_DIGITS + 1,
            "most": MAX_NATIONAL_DIGITS + 1,
        }
        if len(national) < MIN_NATIONAL_DIGITS:
            message = gettext(
                "%(number)s is too short for a mobile number: written with 08 it has %(digits)s digits, not "
                "%(least)s to %(most)s. Check the number, e.g. 0812-3456-7890.",
                **figures,
            )
        else:
            message = gettext(
                "%(number)s is too long for a mobile number: written with 08 it has %(digits)s digits, not "
                "%(least)s to %(most)s. Check the number, e.g. 0812-3456-7890.",
                **figures,
            )
        raise PhoneError(message)
    return f"+{COUNTRY_CODE}{national}"


def _national_number(compact: str, typed: str) -> str:
    """The digits after the country code (or after the leading 0), without any trunk 0."""
    if compact.startswith("+"):
        if not compact.startswith(f"+{COUNTRY_CODE}"):
            raise PhoneError(
                gettext(
                    "%(number)s is not an Indonesian number: after + it must continue with 62, Indonesia's country "
                    "code. %(fix)s",
                    number=typed,
                    fix=_FIX,
                )
            )
        national = compact[3:].removeprefix("0")
    elif compact.startswith(COUNTRY_CODE):
        national = compact[2:].removeprefix("0")
    elif compact.startswith("00"):
        raise PhoneError(
            gettext(
                "%(number)s starts with an international prefix: write +62 instead, or start with 08. %(fix)s",
                number=typed,
                fix=_FIX,
            )
        )
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        raise PhoneError(
            gettext("%(number)s does not start with 0 or +62: add the leading 0. %(fix)s", number=typed, fix=_FIX)
        )
    if not national:
        raise PhoneError(gettext("%(number)s has no number after the prefix. %(fix)s", number=typed, fix=_FIX))
    return national
