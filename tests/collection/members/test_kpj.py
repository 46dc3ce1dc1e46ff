"""KPJ numbers: 11 digits, the last a check digit."""

from __future__ import annotations

import pytest

from collection.members.kpj import is_valid_kpj, kpj_for


@pytest.mark.parametrize("serial", [1, 42, 123_456, 9_999_999_999])
def test_every_assigned_kpj_is_valid_and_has_11_digits(serial):
    kpj = kpj_for(serial)

    assert len(kpj) == 11 and kpj.isdigit()
    assert is_valid_kpj(kpj)


def test_a_single_mistyped_digit_is_caught():
    kpj = kpj_for(123_456)
    for position in range(11):
        wrong = kpj[:position] + str((int(kpj[position]) + 1) % 10) + kpj[position + 1 :]
        assert not is_valid_kpj(wrong)


@pytest.mark.parametrize("serial", [0, -1, 10_000_000_000])
def test_serials_that_do_not_fit_are_refused(serial):
    with pytest.raises(ValueError):
        kpj_for(serial)
