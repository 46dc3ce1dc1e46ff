"""Phone numbers: Indonesian mobile numbers as people write them, stored as E.164."""

from __future__ import annotations

import pytest

from core.phones import PhoneError, normalise_phone


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("081234567890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("0812.3456.7890", "+6281234567890"),
        ("(0812) 3456-7890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 (0)812 3456 7890", "+6281234567890"),  # the trunk 0 kept after the country code
        (" 0856 1234 567 \n", "+628561234567"),
        ("0812345678", "+62812345678"),  # 10 digits with the 0: the shortest
        ("0812345678901", "+62812345678901"),  # 13 digits with the 0: the longest
        ("0881-2345-6789", "+6288123456789"),
        ("0895 1234 5678", "+6289512345678"),
    ],
)
def test_a_mobile_number_is_stored_as_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "in_message"),
    [
        ("", "The phone number is empty"),
        ("   ", "The phone number is empty"),
        ("0812-3456-789O", "contains 'O'"),
        ("0812 3456 7890 ext", "contains 'e'"),
        ("0812+34567890", "contains '+'"),
        ("021-5551234", "021-5551234 is a landline"),
        ("+62 21 5551234", "is a landline"),
        ("622150001234", "is a landline"),
        ("+60 12-345 6789", "is not an Indonesian number"),
        ("+1 202 555 0100", "is not an Indonesian number"),
        ("0062 812 3456 7890", "international prefix"),
        ("812-3456-7890", "add the leading 0"),
        ("0800-1234567", "toll-free or premium-rate"),
        ("0", "has no number after the prefix"),
        ("+62", "has no number after the prefix"),
        ("0812-345", "too short for a mobile number: written with 08 it has 7 digits, not 10 to 13"),
        ("081234567", "too short"),
        ("0812-3456-7890-12", "too long for a mobile number: written with 08 it has 14 digits"),
    ],
)
def test_anything_but_an_indonesian_mobile_number_is_rejected_with_a_fix(typed: str, in_message: str) -> None:
    with pytest.raises(PhoneError) as raised:
        normalise_phone(typed)
    assert in_message in str(raised.value)
    assert "0812-3456-7890" in str(raised.value)


def test_a_phone_error_is_a_value_error() -> None:
    assert issubclass(PhoneError, ValueError)
