"""An agent's cash on hand (domain.md §5): collected minus deposited, oldest cash first, and when he is blocked.

Deposits settle the oldest collected cash first (first in, first out), so "has this receipt's cash been
deposited?" and "how old is the oldest cash still held?" both come from one pass over the collections.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from collection.due_dates import next_working_day

DEFAULT_CASH_LIMIT_IDR = 5_000_000  # per branch: branches.cash_limit_idr
DEFAULT_DEPOSIT_DEADLINE_WORKING_DAYS = 1  # per branch: branches.deposit_deadline_working_days


@dataclass(frozen=True)
class CashItem:
    """Cash an agent collected for one payment."""

    payment_id: int
    amount_idr: int
    collected_on: date
    recorded_at: datetime


@dataclass(frozen=True)
class CashPosition:
    collected_idr: int
    deposited_idr: int
    on_hand_idr: int
    limit_idr: int
    oldest_undeposited_on: date | None
    deposit_due_by: date | None  # the last day to deposit the oldest cash still held
    deposited_payment_ids: frozenset[int]
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


def cash_position(
    items: Sequence[CashItem],
    deposited_idr: int,
    today: date,
    limit_idr: int,
    deadline_working_days: int,
    holidays: Collection[date],
) -> CashPosition:
    """Where an agent stands with the cash he collected (reversed payments are left out by the caller)."""
    ordered = sorted(items, key=lambda item: (item.recorded_at, item.payment_id))
    collected = sum(item.amount_idr for item in ordered)
    covered = deposited_idr
    deposited_ids = []
    oldest: CashItem | None = None
    for item in ordered:
        if covered >= item.amount_idr:
            covered -= item.amount_idr
            deposited_ids.append(item.payment_id)
        else:
            oldest = item
            break
    on_hand = max(0, collected - deposited_idr)
    due_by = deposit_deadline(oldest.collected_on, deadline_working_days, holidays) if oldest else None
    return CashPosition(
        collected_idr=collected,
        deposited_idr=deposited_idr,
        on_hand_idr=on_hand,
        limit_idr=limit_idr,
        oldest_undeposited_on=oldest.collected_on if oldest else None,
        deposit_due_by=due_by,
        deposited_payment_ids=frozenset(deposited_ids),
        over_limit=on_hand > limit_idr,
        overdue=due_by is not None and today > due_by,
    )
