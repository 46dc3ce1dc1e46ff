"""KPJ participant card numbers: 11 digits (domain.md §4, configurable), the last one a Luhn check digit."""

from __future__ import annotations

KPJ_DIGITS = 11  # the one place the format lives; the check digit catches a typed-wrong digit at lookup


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
    """The KPJ for a member's serial number (its database id): zero-padded, then the check digit."""
    if serial < 1 or len(str(serial)) > KPJ_DIGITS - 1:
        raise ValueError(f"serial {serial} does not fit a {KPJ_DIGITS}-digit KPJ")
    body = str(serial).zfill(KPJ_DIGITS - 1)
    return body + _luhn_digit(body)


def is_valid_kpj(text: str) -> bool:
    """True when ``text`` has the KPJ's length, only digits, and a matching check digit."""
    return len(text) == KPJ_DIGITS and text.isdecimal() and _luhn_digit(text[:-1]) == text[-1]
