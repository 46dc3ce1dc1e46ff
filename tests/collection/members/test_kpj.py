"""KPJ numbers: 11 digits, the last a check digit."""

from __future__ import annotations

import pytest

from collection.members.kpj import KpjError, is_valid_kpj, kpj_for, national_kpj


@pytest.mark.parametrize("serial", [1, 42, 123_456, 999_999_999])
def test_every_assigned_kpj_is_valid_and_has_11_digits(serial):
    kpj = kpj_for(serial)

    assert len(kpj) == 11 and kpj.isdigit() and kpj.startswith("0")
    assert is_valid_kpj(kpj)


def test_a_single_mistyped_digit_is_caught():
    kpj = kpj_for(123_456)
    for position in range(11):
        wrong = kpj[:position] + str((int(kpj[position]) + 1) % 10) + kpj[position + 1 :]
        assert not is_valid_kpj(wrong)


@pytest.mark.parametrize("serial", [0, -1, 1_000_000_000])
def test_serials_that_do_not_fit_are_refused(serial):
    with pytest.raises(ValueError):
        kpj_for(serial)


@pytest.mark.parametrize("typed", ["23010012345", "23 0100 12345", "9.9999.999.999"])
def test_a_national_kpj_outside_iurans_block_is_kept_as_it_is(typed):
    assert national_kpj(typed) == "".join(ch for ch in typed if ch.isdigit())


@pytest.mark.parametrize(
    ("typed", "says"),
    [("", "missing"), ("2301001234", "11 digits"), ("2301001234X", "11 digits"), (kpj_for(7), "iuran's own")],
)
def test_a_national_kpj_that_is_short_or_in_iurans_block_is_refused(typed, says):
    with pytest.raises(KpjError, match=says):
        national_kpj(typed)
