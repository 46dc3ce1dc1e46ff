"""Branch finance's figures: arrears by ageing bucket, and collections per day by channel.

Each is a handful of grouped queries, whatever the branch's size, so the pages stay fast at a branch of
100,000 members.

Ageing reads the standing the reconciliation keeps on each member (``status``, ``paid_through``,
``first_month``): a member in arrears owes every month from the one after his paid run (or his period's
first month) through the last month whose due date has passed. Members are counted in the bucket of the
months they owe: 1, 2, 3 (the last month they can still pay back), and lapsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from agents.models import Branch
from collection.arrears import MemberStatus
from collection.due_dates import due_date
from collection.models import Member
from collection.months import Month
from collection.services import holidays_for
from extensions import DbSession
from payments.models import Channel, Payment, PaymentStatus

AGEING_BUCKETS = ("1 month", "2 months", "3 months", "lapsed")


@dataclass(frozen=True)
class AgeingRow:
    bucket: str
    members: int


@dataclass(frozen=True)
class Ageing:
    on: date
    active: int
    rows: tuple[AgeingRow, ...]

    @property
    def in_arrears(self) -> int:
        return sum(r.members for r in self.rows if r.bucket != "lapsed")


def last_due_month(branch_holidays: set[date], today: date) -> Month:
    """The latest month whose contribution is overdue today (its due date has passed)."""
    month = Month.of(today)
    return month if due_date(month, branch_holidays) < today else month - 1


def arrears_ageing(session: DbSession, branch: Branch, today: date) -> Ageing:
    """How many members owe 1, 2 or 3 months, and how many lapsed, from the reconciliation's standing."""
    holidays = holidays_for(session, branch, today - timedelta(days=62), today)
    last_due = last_due_month(holidays, today)
    counts = {bucket: 0 for bucket in AGEING_BUCKETS}
    active = 0
    rows = session.execute(
        select(Member.status, Member.paid_through, Member.first_month, func.count())
        .where(Member.branch_id == branch.id)
        .group_by(Member.status, Member.paid_through, Member.first_month)
    )
    for status, paid_through, first_month, count in rows:
        if status == MemberStatus.LAPSED:
            counts["lapsed"] += count
        elif status == MemberStatus.IN_ARREARS:
            oldest = paid_through + 1 if paid_through else first_month
            owed = max(1, min(3, last_due - oldest + 1))
            counts[AGEING_BUCKETS[owed - 1]] += count
        else:
            active += count
    return Ageing(today, active, tuple(AgeingRow(b, counts[b]) for b in AGEING_BUCKETS))


@dataclass(frozen=True)
class CollectionDay:
    day: date
    cash_idr: int
    auto_debit_idr: int
    sponsor_idr: int
    bank_transfer_idr: int
    payments: int

    @property
    def total_idr(self) -> int:
        return self.cash_idr + self.auto_debit_idr + self.sponsor_idr + self.bank_transfer_idr


def collections_per_day(session: DbSession, branch: Branch, first: date, last: date) -> list[CollectionDay]:
    """Settled contributions of the branch's members per day and channel, every day of the range listed."""
    rows = session.execute(
        select(Payment.paid_on, Payment.channel, func.sum(Payment.amount_idr), func.count())
        .join(Member, Member.id == Payment.member_id)
        .where(
            Member.branch_id == branch.id,
            Payment.status == PaymentStatus.SETTLED,
            Payment.paid_on.between(first, last),
        )
        .group_by(Payment.paid_on, Payment.channel)
    )
    by_day: dict[date, dict[str, int]] = {}
    for day, channel, amount, count in rows:
        totals = by_day.setdefault(day, {"payments": 0})
        totals[channel] = int(amount)
        totals["payments"] += int(count)
    days = []
    day = first
    while day <= last:
        totals = by_day.get(day, {})
        days.append(
            CollectionDay(
                day,
                totals.get(Channel.CASH, 0),
                totals.get(Channel.AUTO_DEBIT, 0),
                totals.get(Channel.SPONSOR, 0),
                totals.get(Channel.BANK_TRANSFER, 0),
                totals.get("payments", 0),
            )
        )
        day += timedelta(days=1)
    return days
