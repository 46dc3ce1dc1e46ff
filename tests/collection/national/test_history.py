"""A national member's history (pure): his settled months are a slice of his terms' series, free months left out,
and his standing is everyone's rule."""

from __future__ import annotations

from datetime import date

from collection.members.arrears import MemberStatus
from collection.national.history import history_of, series_of
from core.months import Month

# January to December 2026 at 10,000, March free (costs nothing: never settled, never allocated)
SERIES = series_of([(m, 0 if m == Month(2026, 3) else 10_000) for m in Month(2026, 1).until(Month(2026, 12))])
TODAY = date(2026, 6, 20)


def due_on(month: Month) -> date:
    return date(month.year, month.month, 15)


def settled_months(history) -> list[Month]:
    return [SERIES.months[i][0] for i in SERIES.costly[history.settled_from : history.settled_to]]


def test_the_settled_months_skip_a_free_month_and_cost_their_sum():
    history = history_of(SERIES, Month(2026, 2), Month(2026, 6), date(2026, 2, 1), TODAY, due_on)

    assert settled_months(history) == [Month(2026, 2), Month(2026, 4), Month(2026, 5), Month(2026, 6)]
    assert (history.settled, history.amount_idr, history.standing.status) == (True, 40_000, MemberStatus.ACTIVE)


def test_nothing_paid_settles_nothing_and_lapses_after_more_than_three_unpaid_months():
    history = history_of(SERIES, Month(2026, 1), None, date(2026, 1, 1), TODAY, due_on)

    assert (history.settled, history.amount_idr, settled_months(history)) == (False, 0, [])
    assert history.standing.status == MemberStatus.LAPSED


def test_only_the_free_month_paid_settles_nothing():
    history = history_of(SERIES, Month(2026, 3), Month(2026, 3), date(2026, 3, 1), date(2026, 3, 20), due_on)

    assert (history.settled, history.amount_idr) == (False, 0)
    assert history.standing.status == MemberStatus.ACTIVE
