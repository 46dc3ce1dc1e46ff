"""An agent's cash on hand (domain.md §5): collected minus deposited, oldest cash first, and when he is blocked.

Deposits settle the oldest collected cash first (first in, first out). So a payment's cash is deposited
once everything the agent collected up to and including it is covered by his deposits, and the oldest
cash still held is the first payment whose running total exceeds them. The database computes those
running totals (payments/ledger/services.py); this module decides what they mean. Each branch sets its own limit
and deadline (organisation/models.py: Branch).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from collection.members.due_dates import next_working_day


@dataclass(frozen=True)
class CashPosition:
    collected_idr: int
    deposited_idr: int
    on_hand_idr: int
    limit_idr: int
    oldest_undeposited_on: date | None
    deposit_due_by: date | None  # the last day to deposit the oldest cash still held
    over_limit: bool
    overdue: bool

    @property
    def blocked(self) -> bool:
        """True when the agent may not record new cash until he deposits."""
        return self.over_limit or self.overdue

    def room_idr(self) -> int:
        """How much more cash the agent may take before reaching the limit."""
        return max(0, self.limit_idr - self.on_hand_idr)


def deposit_deadline(collected_on: date, working_days: int, holidays: Collection[date]) -> date:
    """The day by which cash collected on ``collected_on`` must be deposited: N working days later."""
    day = collected_on
    for _ in range(working_days):
        day = next_working_day(day + timedelta(days=1), holidays)
    return day


def is_deposited(collected_through_idr: int, deposited_idr: int) -> bool:
    """Whether a payment's cash is deposited, given what the agent collected up to and including it."""
    return collected_through_idr <= deposited_idr


def cash_position(
    collected_idr: int,
    deposited_idr: int,
    oldest_undeposited_on: date | None,
    today: date,
    limit_idr: int,
    deadline_working_days: int,
    holidays: Collection[date],
) -> CashPosition:
    """Where an agent stands with the cash he collected (reversed payments are left out by the caller)."""
    on_hand = max(0, collected_idr - deposited_idr)
    if on_hand == 0:
        oldest_undeposited_on = None
    due_by = deposit_deadline(oldest_undeposited_on, deadline_working_days, holidays) if oldest_undeposited_on else None
    return CashPosition(
        collected_idr=collected_idr,
        deposited_idr=deposited_idr,
        on_hand_idr=on_hand,
        limit_idr=limit_idr,
        oldest_undeposited_on=oldest_undeposited_on,
        deposit_due_by=due_by,
        over_limit=on_hand > limit_idr,
        overdue=due_by is not None and today > due_by,
    )
