"""A member's standing on a day, as a table of cases (domain.md §3)."""

from __future__ import annotations

from datetime import date

import pytest

from collection.members.arrears import MemberStatus, MonthDue, standing_on
from collection.members.due_dates import due_date
from core.months import Month

START = Month(2026, 1)


def dues(count: int, amount: int = 16_800) -> list[MonthDue]:
    return [MonthDue(m, amount, due_date(m, ())) for m in START.until(START + (count - 1))]


def months(*numbers: int) -> set[Month]:
    return {Month(2026, n) for n in numbers}


@pytest.mark.parametrize(
    ("settled", "day", "status", "owed", "oldest", "paid_through"),
    [
        (months(), date(2026, 1, 15), MemberStatus.ACTIVE, 0, None, None),  # due today: not yet overdue
        (months(), date(2026, 1, 16), MemberStatus.IN_ARREARS, 1, Month(2026, 1), None),
        (months(1, 2, 3, 4, 5, 6), date(2026, 3, 20), MemberStatus.ACTIVE, 0, None, Month(2026, 6)),  # paid ahead
        (months(1), date(2026, 3, 17), MemberStatus.IN_ARREARS, 2, Month(2026, 2), Month(2026, 1)),
        (months(1), date(2026, 4, 16), MemberStatus.IN_ARREARS, 3, Month(2026, 2), Month(2026, 1)),  # exactly 3 owed
        (months(1), date(2026, 5, 16), MemberStatus.LAPSED, 4, Month(2026, 2), Month(2026, 1)),  # the 4th: lapsed
        (months(1, 3), date(2026, 5, 16), MemberStatus.IN_ARREARS, 3, Month(2026, 2), Month(2026, 1)),  # runs broken
    ],
)
def test_standing_follows_the_overdue_months(settled, day, status, owed, oldest, paid_through):
    standing = standing_on(dues(12), settled, day)

    assert standing.status == status
    assert standing.months_in_arrears == owed
    assert standing.arrears_idr == owed * 16_800
    assert standing.oldest_unpaid == oldest
    assert standing.paid_through == paid_through


def test_a_lapse_is_dated_the_day_after_the_fourth_unpaid_due_date():
    standing = standing_on(dues(12), months(1), date(2026, 7, 1))

    # Unpaid Feb, Mar, Apr, May: May's due date (15 May 2026, a Friday) passes, lapsed from 16 May.
    assert standing.lapsed_on == date(2026, 5, 16)


def test_arrears_are_counted_in_each_months_own_amount():
    lines = [
        MonthDue(Month(2026, 11), 8_400, date(2026, 11, 16)),
        MonthDue(Month(2027, 1) - 1, 8_400, date(2026, 12, 15)),
    ]

    standing = standing_on(lines, set(), date(2026, 12, 20))

    assert standing.arrears_idr == 16_800
