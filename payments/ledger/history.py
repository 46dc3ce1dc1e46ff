"""A member's last payments, each with its months, channel and receipt: what the agent sees on the member's page,
so a month the member paid himself (virtual account, QRIS) or by auto-debit is not collected again in cash."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from collection.members.models import PaymentAllocation
from core.extensions import DbSession
from core.months import Month
from payments.ledger.models import Channel, Payment, PaymentStatus, Receipt

PAYMENTS_SHOWN = 12  # a year of monthly payments: the page stays small whatever the member's history


@dataclass(frozen=True)
class PaidLine:
    payment_id: int
    paid_on: date
    amount_idr: int
    channel: str
    months: tuple[Month, ...]
    receipt_number: str | None
    reversed: bool


def last_payments(session: DbSession, member_id: int, limit: int = PAYMENTS_SHOWN) -> list[PaidLine]:
    """The member's last ``limit`` payments, newest first (imported history included: it says where it came from)."""
    rows = session.execute(
        select(Payment.id, Payment.paid_on, Payment.amount_idr, Payment.channel, Payment.status, Receipt.number)
        .outerjoin(Receipt, Receipt.payment_id == Payment.id)
        .where(Payment.member_id == member_id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(limit)
    ).all()
    months: dict[int, list[Month]] = defaultdict(list)
    if rows:
        for payment_id, month in session.execute(
            select(PaymentAllocation.payment_id, PaymentAllocation.month)
            .where(PaymentAllocation.payment_id.in_([r[0] for r in rows]))
            .order_by(PaymentAllocation.month)
        ):
            months[payment_id].append(month)
    return [
        PaidLine(pid, on, amount, Channel(channel), tuple(months[pid]), number, status == PaymentStatus.REVERSED)
        for pid, on, amount, channel, status, number in rows
    ]
