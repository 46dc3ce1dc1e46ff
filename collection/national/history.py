"""A national member's history summarised (pure): the months he settled, from the first month owed through the month
he paid through, what each cost by the rate table, and the standing that gives today, by the same rule as
everyone's (collection/members/arrears.py ``standing_on``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from collection.members.arrears import MonthDue, Standing, standing_on
from core.months import Month


@dataclass(frozen=True)
class History:
    settled: tuple[tuple[Month, int], ...]  # each settled month that costs something, with its amount
    standing: Standing

    @property
    def amount_idr(self) -> int:
        return sum(amount for _, amount in self.settled)


def history_of(
    first: Month,
    paid_through: Month | None,
    period_started_on: date,
    today: date,
    amount_of: Callable[[Month], int],
    due_on: Callable[[Month], date],
) -> History:
    """The settled months ``first``..``paid_through`` (none when ``paid_through`` is None) and the standing on
    ``today``, as a member's position derives it (every month of the period through today or through what is paid).

    The months before ``paid_through`` are all settled, so only the last of them matters to ``standing_on``: it is
    given the months from ``paid_through`` on (or from ``first`` when nothing is paid), which is the same standing
    at a fraction of the cost for a member with years of history."""
    settled: tuple[tuple[Month, int], ...] = ()
    if paid_through is not None:
        months = ((m, amount_of(m)) for m in first.until(paid_through))
        settled = tuple((m, amount) for m, amount in months if amount > 0)
    this_month = Month.of(today)
    start = paid_through if paid_through is not None else first
    owed_until = max(this_month, first, start)
    dues = [MonthDue(m, amount_of(m), due_on(m)) for m in start.until(owed_until)]
    paid = {paid_through} if paid_through is not None else set()
    return History(settled, standing_on(dues, paid, today, period_started_on))
