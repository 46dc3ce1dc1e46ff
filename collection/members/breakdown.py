"""Why a payment choice costs what it costs: its months in runs of the same price, each with its reason.

A choice of "4 months" for a member in arrears covers the owed months first; a month costs less while a
discount (PP 50/2025) is in force and the full rate after it ends. The rule takes the choice's months and the
rate table and returns runs of consecutive months that cost the same for the same reason; the agent's page
words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from collection.members.arrears import MonthDue
from collection.members.rates import ContributionTerms, Programme, RateTable, amount_due
from core.months import Month


@dataclass(frozen=True)
class DiscountNote:
    """A discount a month gets: its name in the rate table, how much off which programmes, and its last month."""

    name: str
    percent: int
    programmes: tuple[str, ...]
    last_month: Month


@dataclass(frozen=True)
class MonthRun:
    """Consecutive months of a choice at one price for one reason: owed from before (paid first), or this
    month and later; with the discounts they get (none: the full rate)."""

    first: Month
    last: Month
    count: int
    amount_idr: int  # each month's
    overdue: bool
    discounts: tuple[DiscountNote, ...]

    @property
    def months(self) -> tuple[Month, Month]:
        """The run's first and last month (for the page's ``months`` filter)."""
        return (self.first, self.last)

    @property
    def total_idr(self) -> int:
        return self.amount_idr * self.count


def month_runs(
    dues: Sequence[MonthDue], table: RateTable, terms: ContributionTerms, period_started_on: date, today: date
) -> tuple[MonthRun, ...]:
    """The months of a choice (``dues``, in order) as runs of the same price and reason; a month is owed from
    before when its due date (not before the period's start, as in arrears.standing_on) has passed."""
    runs: list[MonthRun] = []
    for due in dues:
        applied = amount_due(table, terms, due.month).discounts
        notes = tuple(_note(table, name) for name in applied)
        overdue = max(due.due_on, period_started_on) < today
        last = runs[-1] if runs else None
        if (
            last is not None
            and last.last + 1 == due.month
            and (last.amount_idr, last.overdue, last.discounts) == (due.amount_idr, overdue, notes)
        ):
            runs[-1] = MonthRun(last.first, due.month, last.count + 1, last.amount_idr, overdue, notes)
        else:
            runs.append(MonthRun(due.month, due.month, 1, due.amount_idr, overdue, notes))
    return tuple(runs)


def _note(table: RateTable, name: str) -> DiscountNote:
    discount = next(d for d in table.discounts if d.name == name)
    programmes = tuple(p.value for p in Programme if p in discount.programmes)
    return DiscountNote(discount.name, discount.percent, programmes, discount.last_month)
