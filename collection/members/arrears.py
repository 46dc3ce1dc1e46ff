"""A member's standing on a day (domain.md §3): active, in arrears (1–3 months overdue) or lapsed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.months import Month


class MemberStatus(StrEnum):
    """active (nothing overdue) → in_arrears (1–3 months overdue, may back-pay) → lapsed (more than 3)."""

    ACTIVE = "active"
    IN_ARREARS = "in_arrears"
    LAPSED = "lapsed"


BACK_PAY_MONTHS = 3  # arrears can be paid back for at most this many months
LAPSE_AFTER_MONTHS = 3  # more than this many consecutive unpaid months ends the membership period


@dataclass(frozen=True)
class MonthDue:
    """A month of the current period: what it costs and when it is due."""

    month: Month
    amount_idr: int
    due_on: date


@dataclass(frozen=True)
class Standing:
    status: MemberStatus
    months_in_arrears: int
    arrears_idr: int
    oldest_unpaid: Month | None  # the earliest overdue month, when in arrears or lapsed
    paid_through: Month | None  # the last month of the unbroken paid run from the period's start
    lapsed_on: date | None  # the day the period ended, when lapsed


def standing_on(
    dues: Sequence[MonthDue], settled: Collection[Month], day: date, period_started_on: date | None = None
) -> Standing:
    """Derive the standing from the period's months (in order, from its first month) and the settled ones.

    A month is overdue once its due date has passed; no month is due before the period started (a member
    enrolled on the 20th owes that month from the 20th, not from the 15th). The period lapses on the day
    after the due date of the (LAPSE_AFTER_MONTHS + 1)th consecutive overdue unpaid month.
    """
    ordered = sorted(dues, key=lambda d: d.month)
    if period_started_on is not None:
        ordered = [
            MonthDue(d.month, d.amount_idr, period_started_on) if d.due_on < period_started_on else d for d in ordered
        ]
    paid_through = None
    for due in ordered:
        if due.month not in settled:
            break
        paid_through = due.month
    overdue = [d for d in ordered if d.month not in settled and d.due_on < day]
    if not overdue:
        return Standing(MemberStatus.ACTIVE, 0, 0, None, paid_through, None)

    run: list[MonthDue] = []
    for due in ordered:
        if due.due_on >= day:
            break
        if due.month in settled:
            run = []
            continue
        if run and due.month - run[-1].month != 1:
            run = []
        run.append(due)
        if len(run) > LAPSE_AFTER_MONTHS:
            lapsed_on = date.fromordinal(run[-1].due_on.toordinal() + 1)
            return Standing(
                MemberStatus.LAPSED,
                len(overdue),
                sum(d.amount_idr for d in overdue),
                overdue[0].month,
                paid_through,
                lapsed_on,
            )
    return Standing(
        MemberStatus.IN_ARREARS,
        len(overdue),
        sum(d.amount_idr for d in overdue),
        overdue[0].month,
        paid_through,
        None,
    )
