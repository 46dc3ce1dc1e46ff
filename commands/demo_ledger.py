"""The demo's members' own payments, as the rules would have them: on which day a member pays, and their rows
(payments, allocations, receipts) and the agents' deposits, written in bulk. Shared by the demo's members and
the sponsor programme's (commands/demo_sponsor.py)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from collection.members.arrears import MonthDue, Standing
from collection.members.due_dates import is_working_day, next_working_day
from collection.members.models import PaymentAllocation
from core.extensions import DbSession
from core.months import Month
from organisation.models import Agent, Branch
from payments.ledger.cash import deposit_deadline
from payments.ledger.models import Deposit, Payment, Receipt
from payments.ledger.receipts import new_verification_code, receipt_number

# A member pays on about the same day each month (his wage day): this many days before the month's due date at
# most, so that between two due dates (31 days, 33 when a holiday moves one) every day is someone's pay day.
HABIT_DAYS = 34


LAPSE_CAUSE = "more than 3 consecutive unpaid months"


@dataclass
class Ledger:
    """What the simulation of one member produced, before it is written."""

    payments: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[list[tuple[Month, int]]] = field(default_factory=list)
    settled: set[Month] = field(default_factory=set)


def working_pay_day(wanted: date, not_before: date, holidays: Collection[date]) -> date:
    """The day a member pays when he means to pay on ``wanted``: agents do not collect on Sundays and public
    holidays, so the working day before it (he pays early), but never before ``not_before`` (his last payment,
    his enrolment), in which case the first working day from then."""
    day = wanted
    while not is_working_day(day, holidays):
        day -= timedelta(days=1)
    return next_working_day(day, holidays) if day < not_before else day


def standing_changes(member_id: int, dues: list[MonthDue], standing: Standing, since: date) -> list[dict[str, Any]]:
    """The status changes that led a member, active since ``since``, to his standing: into arrears the day after
    his oldest unpaid month's due date, then lapsed."""
    changes: list[dict[str, Any]] = []
    if standing.oldest_unpaid is not None:
        overdue_on = next(d.due_on for d in dues if d.month == standing.oldest_unpaid)
        changes.append(
            {
                "member_id": member_id,
                "from_status": "active",
                "to_status": "in_arrears",
                "changed_on": max(overdue_on, since) + timedelta(days=1),
                "cause": f"{standing.oldest_unpaid} unpaid after its due date",
            }
        )
    if standing.lapsed_on is not None:
        changes.append(
            {
                "member_id": member_id,
                "from_status": "in_arrears",
                "to_status": "lapsed",
                "changed_on": standing.lapsed_on,
                "cause": LAPSE_CAUSE,
            }
        )
    return changes


def write_payments(
    session: DbSession,
    branch: Branch,
    payments: list[dict[str, Any]],
    allocations: list[list[tuple[Month, int]]],
    randbelow: Callable[[int], int],
) -> None:
    """Payments with their allocations and receipts, in three multi-row inserts."""
    if not payments:
        return
    ids = list(session.scalars(insert(Payment).returning(Payment.id, sort_by_parameter_order=True), payments))
    session.execute(
        insert(PaymentAllocation),
        [
            {"payment_id": pid, "member_id": p["member_id"], "month": month, "amount_idr": amount}
            for pid, p, parts in zip(ids, payments, allocations, strict=True)
            for month, amount in parts
        ],
    )
    session.execute(
        insert(Receipt),
        [
            {
                "payment_id": pid,
                "number": receipt_number(branch.code, p["paid_on"], pid),  # type: ignore[arg-type]
                "verification_code": new_verification_code(randbelow),
                "issued_at": p["recorded_at"],
            }
            for pid, p in zip(ids, payments, strict=True)
        ],
    )


def write_deposits(
    session: DbSession,
    branch: Branch,
    agents: list[Agent],
    payments: list[dict[str, Any]],
    today: date,
    holidays: set[date],
) -> None:
    """Each agent deposits each day's cash on the next working day; today's cash is still on hand."""
    daily: dict[tuple[int, date], int] = {}
    for payment in payments:
        if payment["agent_id"] is not None and payment["paid_on"] < today:
            key = (payment["agent_id"], payment["paid_on"])
            daily[key] = daily.get(key, 0) + payment["amount_idr"]
    users = {agent.id: agent.user_id for agent in agents}
    rows = []
    for (agent_id, collected_on), amount in sorted(daily.items(), key=lambda item: (item[0][1], item[0][0])):
        deposited_on = min(deposit_deadline(collected_on, 1, holidays), today)
        rows.append(
            {
                "agent_id": agent_id,
                "branch_id": branch.id,
                "amount_idr": amount,
                "deposited_on": deposited_on,
                "bank_reference": f"DEMO-{branch.code}-{agent_id}-{collected_on:%Y%m%d}",
                "recorded_by_user_id": users[agent_id],
                "recorded_at": datetime.combine(deposited_on, datetime.min.time()) + timedelta(hours=10),
            }
        )
    if rows:
        session.execute(insert(Deposit), rows)
