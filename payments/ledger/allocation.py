"""Allocation of a payment to months: earliest unpaid month first; what no whole month takes is credit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.months import Month


@dataclass(frozen=True)
class Due:
    """An open month and the full amount that settles it."""

    month: Month
    amount_idr: int


@dataclass(frozen=True)
class Allocation:
    month: Month
    amount_idr: int


@dataclass(frozen=True)
class AllocationResult:
    """Invariant: ``amount + credit in == sum(allocations) + credit_idr`` (see the property test)."""

    allocations: tuple[Allocation, ...]
    credit_idr: int

    @property
    def months(self) -> tuple[Month, ...]:
        return tuple(a.month for a in self.allocations)


def allocate(amount_idr: int, open_dues: Sequence[Due], credit_idr: int = 0) -> AllocationResult:
    """Settle whole months in order of month from ``amount_idr`` plus earlier credit; keep the rest as credit.

    A month is settled only in full: a remainder smaller than the next month's amount stays credit,
    to be used by the next payment (domain.md §3).
    """
    if amount_idr < 0 or credit_idr < 0:
        raise ValueError("amounts are never negative")
    available = amount_idr + credit_idr
    allocations: list[Allocation] = []
    for due in sorted(open_dues, key=lambda d: d.month):
        if due.amount_idr <= 0:
            raise ValueError(f"{due.month} has no positive amount due")
        if due.amount_idr > available:
            break
        allocations.append(Allocation(due.month, due.amount_idr))
        available -= due.amount_idr
    return AllocationResult(tuple(allocations), available)


def whole_months_covered(amount_idr: int, open_dues: Sequence[Due]) -> int | None:
    """How many whole months (earliest first) an amount pays exactly, or None if it leaves a remainder."""
    result = allocate(amount_idr, open_dues)
    return len(result.allocations) if result.credit_idr == 0 else None
