"""Allocation of a payment to months: tables of cases and the money invariant."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.months import Month
from payments.ledger.allocation import Due, allocate, whole_months_covered

DUES = [
    Due(Month(2026, 1), 16_800),
    Due(Month(2026, 2), 16_800),
    Due(Month(2026, 3), 8_400),
    Due(Month(2026, 4), 8_400),
]


@pytest.mark.parametrize(
    ("amount", "credit_in", "months", "credit_out"),
    [
        (16_800, 0, [Month(2026, 1)], 0),
        (33_600, 0, [Month(2026, 1), Month(2026, 2)], 0),
        (50_400, 0, [Month(2026, 1), Month(2026, 2), Month(2026, 3), Month(2026, 4)], 0),
        (20_000, 0, [Month(2026, 1)], 3_200),
        (10_000, 0, [], 10_000),
        (10_000, 6_800, [Month(2026, 1)], 0),
        (100_000, 0, [Month(2026, 1), Month(2026, 2), Month(2026, 3), Month(2026, 4)], 49_600),
        (0, 0, [], 0),
    ],
)
def test_a_payment_settles_the_earliest_months_first_and_keeps_the_rest_as_credit(
    amount, credit_in, months, credit_out
):
    result = allocate(amount, list(reversed(DUES)), credit_in)

    assert list(result.months) == months
    assert result.credit_idr == credit_out


def test_whole_months_covered_tells_an_exact_amount_from_one_with_a_remainder():
    assert whole_months_covered(33_600, DUES) == 2
    assert whole_months_covered(33_601, DUES) is None


def test_negative_amounts_are_refused():
    with pytest.raises(ValueError):
        allocate(-1, DUES)


@given(
    amount=st.integers(min_value=0, max_value=5_000_000),
    credit=st.integers(min_value=0, max_value=500_000),
    amounts=st.lists(st.integers(min_value=1, max_value=500_000), max_size=24),
)
def test_money_in_equals_money_allocated_plus_credit(amount, credit, amounts):
    dues = [Due(Month(2026, 1) + i, a) for i, a in enumerate(amounts)]

    result = allocate(amount, dues, credit)

    assert amount + credit == sum(a.amount_idr for a in result.allocations) + result.credit_idr
    assert list(result.months) == [d.month for d in dues[: len(result.allocations)]]
    if len(result.allocations) < len(dues):
        assert result.credit_idr < dues[len(result.allocations)].amount_idr
