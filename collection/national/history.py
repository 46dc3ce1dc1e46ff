"""A national member's history summarised (pure): the months he settled, from the first month owed through the month
he paid through, what they cost by the rate table, and the standing that gives today, by the same rule as
everyone's (collection/members/arrears.py ``standing_on``).

Every member on the same terms (bracket, package, sector) shares one :class:`Series` of months; a member's settled
months are a slice of it, found by position, so nothing is built per month for him but his few dues."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

from collection.members.arrears import MonthDue, Standing, standing_on
from core.months import Month


@dataclass(frozen=True)
class Series:
    """Each month from ``first`` on with what it costs on one set of terms; ``costly`` are the positions of the
    months that cost something (only those are settled and allocated), ``running[k]`` the sum of the first k."""

    first: Month
    months: Sequence[tuple[Month, int]]
    costly: Sequence[int]
    running: Sequence[int]


def series_of(months: Sequence[tuple[Month, int]]) -> Series:
    """The series of consecutive months (with what each costs), indexed for slicing."""
    costly = [i for i, (_, amount) in enumerate(months) if amount > 0]
    running = list(accumulate((months[i][1] for i in costly), initial=0))
    return Series(months[0][0], months, costly, running)


@dataclass(frozen=True)
class History:
    """The settled months are ``series.costly[settled_from:settled_to]`` (none when equal), costing ``amount_idr``."""

    settled_from: int
    settled_to: int
    amount_idr: int
    standing: Standing

    @property
    def settled(self) -> bool:
        return self.settled_to > self.settled_from


def history_of(
    series: Series,
    first_month: Month,
    paid_through: Month | None,
    period_started_on: date,
    today: date,
    due_on: Callable[[Month], date],
) -> History:
    """The settled months (``first_month`` through ``paid_through``; none when it is None) and the standing on
    ``today``, as a member's position derives it. ``series`` must run from at most ``first_month`` through at
    least this month and ``paid_through``.

    The months before ``paid_through`` are all settled, so only the last of them matters to ``standing_on``: it is
    given the months from ``paid_through`` on (or from the first when nothing is paid), which is the same standing
    at a fraction of the cost for a member with years of history."""
    offset = first_month - series.first
    paid = 0 if paid_through is None else paid_through - first_month + 1
    settled_from = bisect_left(series.costly, offset)
    settled_to = bisect_left(series.costly, offset + paid)
    owed = max(Month.of(today), paid_through or first_month) - first_month + 1
    start = max(paid - 1, 0)
    dues = [MonthDue(m, amount, due_on(m)) for m, amount in series.months[offset + start : offset + owed]]
    standing = standing_on(dues, {paid_through} if paid_through else set(), today, period_started_on)
    amount = series.running[settled_to] - series.running[settled_from]
    return History(settled_from, settled_to, amount, standing)
