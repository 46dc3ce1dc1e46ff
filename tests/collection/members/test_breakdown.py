"""Why a payment choice costs what it costs: its months in runs of one price and one reason (pure rule)."""

from __future__ import annotations

from datetime import date

from collection.members.arrears import MonthDue
from collection.members.breakdown import month_runs
from collection.members.rates import ContributionTerms, Package, Payer, Sector, amount_due, default_rate_table
from core.months import Month

TABLE = default_rate_table()
TRANSPORT = ContributionTerms(bracket=1, package=Package.JKK_JKM, sector=Sector.TRANSPORT, payer=Payer.SELF)


def dues(terms: ContributionTerms, first: Month, count: int) -> list[MonthDue]:
    months = [first + i for i in range(count)]
    return [MonthDue(m, amount_due(TABLE, terms, m).total_idr, date(m.year, m.month, 15)) for m in months]


def test_a_discount_that_ends_splits_the_months_into_discounted_and_full_rate():
    runs = month_runs(dues(TRANSPORT, Month(2026, 12), 6), TABLE, TRANSPORT, date(2026, 1, 1), date(2026, 12, 5))

    assert [(r.first, r.last, r.count) for r in runs] == [
        (Month(2026, 12), Month(2027, 3), 4),
        (Month(2027, 4), Month(2027, 5), 2),
    ]
    discounted, full = runs
    assert [(d.name, d.percent, d.programmes, d.last_month) for d in discounted.discounts] == [
        ("PP 50/2025 transport", 50, ("JKK", "JKM"), Month(2027, 3))
    ]
    assert full.discounts == () and full.amount_idr == 2 * discounted.amount_idr
    assert sum(r.total_idr for r in runs) == sum(d.amount_idr for d in dues(TRANSPORT, Month(2026, 12), 6))


def test_owed_months_come_first_and_say_so():
    runs = month_runs(dues(TRANSPORT, Month(2026, 9), 4), TABLE, TRANSPORT, date(2026, 1, 1), date(2026, 11, 22))

    assert [(r.first, r.count, r.overdue) for r in runs] == [(Month(2026, 9), 3, True), (Month(2026, 12), 1, False)]


def test_a_month_due_before_the_period_started_is_not_owed_before_the_start():
    runs = month_runs(dues(TRANSPORT, Month(2026, 11), 1), TABLE, TRANSPORT, date(2026, 11, 20), date(2026, 11, 20))

    assert [r.overdue for r in runs] == [False]
