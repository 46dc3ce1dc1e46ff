"""A national member's history summarised (pure): the months he settled, from the first month owed through the month
he paid through, what each cost by the rate table, and the standing that gives today, by the same rule as
everyone's (collection/members/arrears.py ``standing_on``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from collection.members.arrears import MonthDue, Standing, standing_on
from core.months import Month


@dataclass(frozen=True)
class History:
    settled: Sequence[tuple[Month, int]]  # each settled month that costs something, with its amount
    standing: Standing

    @property
    def amount_idr(self) -> int:
        return sum(amount for _, amount in self.settled)


def history_of(
    months: Sequence[tuple[Month, int]],
    paid_through: Month | None,
    period_started_on: date,
    today: date,
    due_on: Callable[[Month], date],
) -> History:
    """The settled months (``months``' first through ``paid_through``; none when it is None) and the standing on
    ``today``, as a member's position derives it. ``months`` are the period's months in order with what each costs,
    from the first owed through at least this month and ``paid_through``.

    The months before ``paid_through`` are all settled, so only the last of them matters to ``standing_on``: it is
    given the months from ``paid_through`` on (or from the first when nothing is paid), which is the same standing
    at a fraction of the cost for a member with years of history."""
    first = months[0][0]
    this_month = Month.of(today)
    paid = 0 if paid_through is None else paid_through - first + 1
    settled = [(m, amount) for m, amount in months[:paid] if amount > 0]
    owed = max(this_month, paid_through or first) - first + 1
    start = max(paid - 1, 0)
    dues = [MonthDue(m, amount, due_on(m)) for m, amount in months[start:owed]]
    return History(settled, standing_on(dues, {paid_through} if paid_through else set(), today, period_started_on))
