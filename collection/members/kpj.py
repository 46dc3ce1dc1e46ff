"""KPJ participant card numbers: 11 digits (domain.md §4, configurable).

Two kinds live side by side in ``members.kpj`` (unique), and this module is the one place that tells them apart:

- **iuran's own**, for members it enrols: ``0`` + the member's serial (its database id) zero-padded to 9 digits +
  a Luhn check digit. Every KPJ iuran issues starts with :data:`IURAN_KPJ_PREFIX` (room for 999,999,999 members);
- **the national system's** (BPJS Ketenagakerjaan), kept as they are when a branch imports its existing members
  (collection/national): 11 digits that must NOT start with :data:`IURAN_KPJ_PREFIX`, so an imported KPJ can never
  be one iuran issues, now or later. Their last digit is the national system's business: no check digit is asked.
"""

from __future__ import annotations

from flask_babel import gettext

KPJ_DIGITS = 11  # the one place the format lives; the check digit catches a typed-wrong digit at lookup
IURAN_KPJ_PREFIX = "0"  # iuran's block: every KPJ it issues starts so; national KPJs are refused from it
_SERIAL_DIGITS = KPJ_DIGITS - 1 - len(IURAN_KPJ_PREFIX)


class KpjError(ValueError):
    """A KPJ that cannot be accepted; the message says why and how to fix it."""


def _luhn_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # these get doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def kpj_for(serial: int) -> str:
    """The KPJ iuran issues for a member's serial number (its database id): the prefix, the zero-padded serial,
    then the check digit."""
    if serial < 1 or len(str(serial)) > _SERIAL_DIGITS:
        raise ValueError(f"serial {serial} does not fit iuran's block of {KPJ_DIGITS}-digit KPJs")
    body = IURAN_KPJ_PREFIX + str(serial).zfill(_SERIAL_DIGITS)
    return body + _luhn_digit(body)


def is_valid_kpj(text: str) -> bool:
    """True when ``text`` is a KPJ iuran issued: its length, only digits, its prefix and a matching check digit."""
    return (
        len(text) == KPJ_DIGITS
        and text.isascii()
        and text.isdecimal()
        and text.startswith(IURAN_KPJ_PREFIX)
        and _luhn_digit(text[:-1]) == text[-1]
    )


def is_iuran_kpj(text: str) -> bool:
    """True when ``text`` falls in iuran's block (whether or not its check digit matches)."""
    return text.startswith(IURAN_KPJ_PREFIX)


def kpj_digits(typed: str) -> str:
    """A KPJ of either kind as typed (spaces, dots and dashes allowed), as its 11 digits; KpjError when it is
    missing or not 11 digits 0-9 (its shape only: the check digit of iuran's own is asked by ``is_valid_kpj``)."""
    digits = "".join(ch for ch in typed if ch not in " .-")
    if not digits:
        raise KpjError(gettext("The KPJ is empty: type the %(n)s digits of the member's card.", n=KPJ_DIGITS))
    if not (digits.isascii() and digits.isdecimal()) or len(digits) != KPJ_DIGITS:  # '٠' is decimal, not 0
        raise KpjError(
            gettext("'%(typed)s' is not a KPJ: a KPJ has %(n)s digits 0-9.", typed=typed.strip(), n=KPJ_DIGITS)
        )
    return digits


def national_kpj(typed: str) -> str:
    """A KPJ of the national system as typed (spaces, dots and dashes allowed), as 11 digits; KpjError when it is
    not 11 digits or falls in iuran's block."""
    if not typed.strip(" .-"):
        raise KpjError(gettext("The KPJ is missing: copy the member's KPJ number from the national system's export."))
    digits = kpj_digits(typed)
    if is_iuran_kpj(digits):
        raise KpjError(
            gettext(
                "KPJ %(kpj)s starts with %(prefix)s: that block is iuran's own numbering, not the national system's. "
                "Check the number against the member's card.",
                kpj=digits,
                prefix=IURAN_KPJ_PREFIX,
            )
        )
    return digits
