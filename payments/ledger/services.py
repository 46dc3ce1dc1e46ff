"""Ledger services: record an agent's cash contribution, reverse it, an agent's cash and alerts, receipts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import func, select, tuple_

from collection.members.models import Member, PaymentAllocation, VisitItem
from collection.members.position import MemberPosition, open_new_period, refresh_standing
from collection.members.services import get_member, holidays_for
from core import audit
from core.clock import local_today
from core.errors import Conflict, Forbidden, NotFound
from core.extensions import DbSession
from core.months import Month
from core.outbox import queue_message
from organisation.models import Agent, AgentStatus, Branch, Role, StaffUser
from organisation.services import agent_of
from payments.ledger.allocation import Due, allocate
from payments.ledger.cash import CashPosition, cash_position, is_deposited
from payments.ledger.models import (
    AgentCashTotal,
    BatchStatus,
    BranchAlert,
    Channel,
    DailyBatch,
    Deposit,
    Payment,
    PaymentStatus,
    Receipt,
)
from payments.ledger.receipts import new_verification_code, receipt_link, receipt_number, receipt_text
from payments.ledger.texts import cash_alert_text, in_indonesian

# Oldest cash first means the day the cash was taken, then the moment it was recorded: an offline form
# that arrives late takes its place on its own day. Every FIFO over an agent's cash uses this order.
CASH_ORDER = (Payment.paid_on, Payment.recorded_at, Payment.id)
MAX_BACKDATE_DAYS = 30  # a form queued offline may arrive days late; older cash goes through the branch
NEW_PERIOD_CAUSE = "payment after lapse starts a new protection period"


@dataclass(frozen=True)
class ReceiptView:
    """A receipt as the API and the pages show it."""

    number: str
    verification_code: str
    payment_id: int
    amount_idr: int
    months_covered: tuple[Month, ...]
    member_id: int
    member_name: str
    agent_id: int | None
    paid_on: date
    recorded_at: datetime
    status: str
    deposited: bool
    reversal_reason: str | None


def fingerprint(**fields: Any) -> str:
    """A digest of what a request asked for, to tell a retry (same) from a reused key (different)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def agent_for(session: DbSession, actor: StaffUser) -> Agent:
    if actor.role != Role.AGENT:
        raise Forbidden(gettext("Only an agent records cash; supervisors and finance see and reverse it."))
    agent = agent_of(session, actor)
    if agent is None or agent.status != AgentStatus.ACTIVE:
        raise Forbidden(gettext("Your agent account is not active: ask your branch supervisor."))
    return agent


def _cash_of(agent_id: int) -> Any:
    return (Payment.agent_id == agent_id, Payment.channel == Channel.CASH, Payment.status == PaymentStatus.SETTLED)


def cash_totals(session: DbSession, agent_id: int) -> tuple[int, int]:
    """The agent's settled cash and his deposits, as the database keeps them (payments/ledger/models.py
    AgentCashTotal): one row read, whatever his history."""
    row = session.execute(
        select(AgentCashTotal.collected_idr, AgentCashTotal.deposited_idr).where(AgentCashTotal.agent_id == agent_id)
    ).first()
    return (int(row.collected_idr), int(row.deposited_idr)) if row else (0, 0)


# The agent's settled cash from the newest back, each row with the cash of it and every newer one: read from the
# newest end of ix_payments_agent_settled_cash, it stops at the first row that reaches the cash he still holds.
NEWEST_CASH_FIRST = tuple(column.desc() for column in CASH_ORDER)


def oldest_undeposited(session: DbSession, agent_id: int, on_hand_idr: int) -> date | None:
    """The day of the oldest cash the agent still holds, when he holds ``on_hand_idr``.

    Deposits settle the oldest cash first, so the cash still held is the newest ``on_hand_idr`` of it: walking
    from the newest payment back, the first one at which the newer cash reaches ``on_hand_idr`` holds its oldest
    rupiah. A window function emits its rows in its own order, so the first row past the filter is that one."""
    if on_hand_idr <= 0:
        return None
    newest_first = (
        select(
            Payment.paid_on,
            func.sum(Payment.amount_idr).over(order_by=NEWEST_CASH_FIRST, rows=(None, 0)).label("newer_idr"),
        )
        .where(*_cash_of(agent_id))
        .subquery()
    )
    return session.scalar(select(newest_first.c.paid_on).where(newest_first.c.newer_idr >= on_hand_idr).limit(1))


def agent_cash(session: DbSession, agent: Agent, today: date) -> CashPosition:
    """The agent's cash collected, deposited and on hand, and whether he must deposit before collecting more.

    Two short reads whatever the agent's history: his kept totals, and the oldest of the cash he still holds."""
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    collected, deposited = cash_totals(session, agent.id)
    oldest = oldest_undeposited(session, agent.id, collected - deposited)
    holidays = holidays_for(session, branch, (oldest or today) - timedelta(days=1), today + timedelta(days=40))
    return cash_position(
        collected, deposited, oldest, today, branch.cash_limit_idr, branch.deposit_deadline_working_days, holidays
    )


def cash_deposited(session: DbSession, payment: Payment) -> bool:
    """Whether the agent has deposited this payment's cash (oldest first); non-cash money is banked already.

    Its cash is deposited when the cash he collected up to it is covered: his total less every newer payment."""
    if payment.channel != Channel.CASH or payment.agent_id is None:
        return True
    collected, deposited = cash_totals(session, payment.agent_id)
    newer = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_idr), 0)).where(
            *_cash_of(payment.agent_id),
            tuple_(*CASH_ORDER) > tuple_(payment.paid_on, payment.recorded_at, payment.id),
        )
    )
    return is_deposited(collected - int(newer or 0), deposited)


def cash_covered_on(session: DbSession, agent_id: int, settled: list[Payment]) -> dict[int, tuple[int, date]]:
    """The deposit (id, day) that covered each settled cash payment's cash, oldest cash first.

    ``settled`` must be the agent's settled cash payments in :data:`CASH_ORDER`."""
    deposits = list(
        session.execute(
            select(Deposit.id, Deposit.deposited_on, Deposit.amount_idr)
            .where(Deposit.agent_id == agent_id)
            .order_by(Deposit.deposited_on, Deposit.id)
        )
    )
    covered: dict[int, tuple[int, date]] = {}
    collected = deposited = 0
    index = 0
    for payment in settled:
        collected += payment.amount_idr
        while deposited < collected and index < len(deposits):
            deposited += deposits[index][2]
            index += 1
        if deposited >= collected:
            covered[payment.id] = (deposits[index - 1][0], deposits[index - 1][1])
        else:
            break  # this and every later payment are still held
    return covered


def existing_request(session: DbSession, model: type[Payment] | type[Deposit], key: str, digest: str) -> Any:
    found = cast(Payment | Deposit | None, session.scalar(select(model).where(model.idempotency_key == key)))
    if found is not None and found.request_fingerprint != digest:
        raise key_reused()
    return found


def key_reused() -> Conflict:
    """The 409 for an Idempotency-Key that came before with other content."""
    return Conflict(
        gettext("This Idempotency-Key was already used for a different request: make a new key for a new payment."),
        reason="idempotency_key_reused",
    )


def book_payment(
    session: DbSession,
    member: Member,
    branch: Branch,
    position: MemberPosition,
    *,
    amount_idr: int,
    channel: Channel,
    paid_on: date,
    idempotency_key: str,
    fingerprint_: str,
    agent_id: int | None,
    actor_id: int | None,
    today: date,
    now: datetime,
    public_base_url: str,
) -> tuple[Payment, ReceiptView]:
    """Put a payment on the member's ledger: allocate it earliest month first, issue the receipt, text the
    member (with the receipt's link at ``public_base_url``), re-derive the standing. The caller holds the member's
    lock and commits; the receipt view is built from what is in hand, so nothing is read back after the commit."""
    new_period = position.starts_new_period
    if new_period:
        open_new_period(session, member, today, cause=NEW_PERIOD_CAUSE)
    result = allocate(amount_idr, [Due(d.month, d.amount_idr) for d in position.open_dues])
    payment = Payment(
        member_id=member.id,
        channel=channel,
        amount_idr=amount_idr,
        credit_idr=result.credit_idr,
        paid_on=paid_on,
        agent_id=agent_id,
        recorded_by_user_id=actor_id,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint_,
        recorded_at=now,
    )
    session.add(payment)
    session.flush()
    session.add_all(
        PaymentAllocation(payment_id=payment.id, member_id=member.id, month=a.month, amount_idr=a.amount_idr)
        for a in result.allocations
    )
    receipt = Receipt(
        payment_id=payment.id,
        number=receipt_number(branch.code, today, payment.id),
        verification_code=new_verification_code(),
        issued_at=now,
    )
    session.add(receipt)
    months = result.months
    standing = None if new_period else position.standing_after(months, today)
    refresh_standing(session, member, today, cause=f"payment {payment.id}", standing=standing)
    link = receipt_link(public_base_url, receipt.verification_code)
    queue_message(
        session,
        "receipt",
        member.phone,
        receipt_text(amount_idr, months, receipt.number, receipt.verification_code, link),
        dedupe_key=None,  # a payment is booked once: no savepoint needed to send its receipt once
    )
    audit.record(
        session,
        "contribution.recorded",
        "payment",
        payment.id,
        actor_id,
        member_id=member.id,
        channel=str(channel),
        amount_idr=amount_idr,
        months=[str(m) for m in months],
        receipt=receipt.number,
    )
    # Deposits never exceed the cash held before this payment, so new cash is not deposited yet.
    return payment, _receipt_view(payment, receipt, member, tuple(months), deposited=channel != Channel.CASH)


def raise_cash_alert(session: DbSession, agent: Agent, branch: Branch, cash: CashPosition, today: date) -> bool:
    """Tell the branch once a day that an agent is blocked by the cash rules; True if this call raised it."""
    already = session.scalar(
        select(BranchAlert.id).where(
            BranchAlert.kind == "cash_limit", BranchAlert.agent_id == agent.id, BranchAlert.raised_on == today
        )
    )
    if already is not None:
        return False
    alert = BranchAlert(
        branch_id=branch.id,
        agent_id=agent.id,
        kind="cash_limit",
        held_idr=cash.on_hand_idr,
        oldest_on=cash.oldest_undeposited_on if cash.overdue else None,
        due_by=cash.deposit_due_by if cash.overdue else None,
        raised_on=today,
    )
    session.add(alert)
    with in_indonesian():  # the supervisors' text, like every text the branch's people get
        message = cash_alert_text(agent.code, cash.on_hand_idr, alert.oldest_on, alert.due_by)
    supervisors = session.scalars(
        select(StaffUser.phone).where(
            StaffUser.branch_id == branch.id, StaffUser.role == Role.SUPERVISOR, StaffUser.phone.is_not(None)
        )
    )
    for phone in supervisors:
        queue_message(session, "cash_limit_alert", phone, message, dedupe_key=f"cash_limit:{agent.id}:{today}:{phone}")
    audit.record(session, "cash.limit_alert", "agent", agent.id, None, on_hand_idr=cash.on_hand_idr)
    return True


def reverse_payment(session: DbSession, actor: StaffUser, payment_id: int, reason: str, now: datetime) -> ReceiptView:
    """A supervisor undoes a wrong payment: its months reopen, its receipt says reversed. Repeating is a no-op."""
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(gettext("Only a supervisor reverses a payment; ask your branch supervisor."))
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(gettext("There is no payment %(id)s.", id=payment_id))
    member = get_member(session, actor, payment.member_id, lock=True)  # another branch's payment is a 404 too
    session.refresh(payment)
    if payment.channel == Channel.IMPORTED:
        raise Conflict(
            gettext(
                "Payment %(id)s is the member's history imported from the national system, not a payment made in "
                "iuran: it cannot be reversed here: the national system corrects its own records.",
                id=payment.id,
            ),
            reason="imported_history",
        )
    if payment.status == PaymentStatus.REVERSED:
        return describe_receipt(session, payment)
    unbook_payment(session, payment, member, reason, actor.id, now)
    session.commit()
    return describe_receipt(session, payment)


def unbook_payment(
    session: DbSession, payment: Payment, member: Member, reason: str, actor_id: int | None, now: datetime
) -> None:
    """Take a payment off the ledger: its months reopen, the standing is re-derived, the member is told.
    The caller holds the member's lock and commits."""
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    payment.status = PaymentStatus.REVERSED
    payment.reversed_at = now
    payment.reversed_by_user_id = actor_id
    payment.reversal_reason = reason
    for allocation in payment.allocations:
        allocation.reversed = True
    session.flush()
    refresh_standing(session, member, today, cause=f"payment {payment.id} reversed: {reason}")
    receipt = payment.receipt
    queue_message(
        session,
        "reversal",
        member.phone,
        f"BPJS Ketenagakerjaan: pembayaran dengan kuitansi {receipt.number if receipt else payment.id} dibatalkan "
        f"({reason}).",
        dedupe_key=f"reversal:{payment.id}",
    )
    audit.record(session, "contribution.reversed", "payment", payment.id, actor_id, reason=reason)


def describe_receipt(session: DbSession, payment: Payment) -> ReceiptView:
    """A payment's receipt with its months and whether the agent has deposited the cash."""
    receipt = payment.receipt
    if receipt is None:
        raise NotFound(gettext("Payment %(id)s has no receipt.", id=payment.id))
    member = session.get(Member, payment.member_id)
    assert member is not None
    months = tuple(sorted(a.month for a in payment.allocations))
    return _receipt_view(payment, receipt, member, months, deposited=cash_deposited(session, payment))


def _receipt_view(
    payment: Payment, receipt: Receipt, member: Member, months: tuple[Month, ...], deposited: bool
) -> ReceiptView:
    return ReceiptView(
        number=receipt.number,
        verification_code=receipt.verification_code,
        payment_id=payment.id,
        amount_idr=payment.amount_idr,
        months_covered=months,
        member_id=member.id,
        member_name=member.name,
        agent_id=payment.agent_id,
        paid_on=payment.paid_on,
        recorded_at=payment.recorded_at,
        status=payment.status,
        deposited=deposited,
        reversal_reason=payment.reversal_reason,
    )


def receipt_by_code(session: DbSession, code: str) -> ReceiptView | None:
    """The receipt with this verification code, for the public page."""
    payment = session.scalar(
        select(Payment).join(Receipt, Receipt.payment_id == Payment.id).where(Receipt.verification_code == code.upper())
    )
    return describe_receipt(session, payment) if payment else None


def receipt_by_number(session: DbSession, actor: StaffUser, number: str) -> ReceiptView:
    """A receipt by its number, for staff of the member's branch."""
    payment = session.scalar(
        select(Payment).join(Receipt, Receipt.payment_id == Payment.id).where(Receipt.number == number)
    )
    if payment is None:
        raise NotFound(gettext("There is no receipt %(number)s.", number=number))
    get_member(session, actor, payment.member_id)
    return describe_receipt(session, payment)


def agent_day(session: DbSession, actor: StaffUser, now: datetime) -> dict[str, Any]:
    """An agent's today: what he collected, his cash on hand and by when it must be deposited."""
    agent = agent_for(session, actor)
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    cash = agent_cash(session, agent, today)
    todays = list(
        session.scalars(
            select(Payment)
            .where(Payment.agent_id == agent.id, Payment.paid_on == today, Payment.status == PaymentStatus.SETTLED)
            .order_by(Payment.recorded_at.desc())
        )
    )
    return {
        "today": today,
        "collected_today_idr": sum(p.amount_idr for p in todays if p.channel == Channel.CASH),
        "collected_idr": cash.collected_idr,
        "deposited_idr": cash.deposited_idr,
        "on_hand_idr": cash.on_hand_idr,
        "limit_idr": cash.limit_idr,
        "oldest_undeposited_on": cash.oldest_undeposited_on,
        "deposit_due_by": cash.deposit_due_by,
        "blocked": cash.blocked,
        "payments": todays,
        "member_names": {  # the home page names the member of each receipt (one query, not one per receipt)
            row.id: row.name
            for row in session.execute(
                select(Member.id, Member.name).where(Member.id.in_({p.member_id for p in todays}))
            )
        }
        if todays
        else {},
        "returned_batches": [
            {"id": b.id, "business_date": b.business_date, "reason": b.decision_note, "returned_at": b.decided_at}
            for b in session.scalars(
                select(DailyBatch)
                .where(DailyBatch.agent_id == agent.id, DailyBatch.status == BatchStatus.RETURNED)
                .order_by(DailyBatch.business_date)
            )
        ],
    }


def alert_blocked_agents(session: DbSession, now: datetime) -> int:
    """Alert each branch about its agents who hold cash past the deadline or over the limit (the Lebak case).

    Runs on a schedule, so an agent who stops collecting and keeps the cash is noticed too, not only one
    who tries to record more, and an agent deactivated or terminated who still holds cash (he can no longer
    record any, but the cash is the branch's to recover). At most one alert per agent per day; returns how many
    were raised.
    """
    holders = session.scalars(
        select(Agent)
        .join(AgentCashTotal, AgentCashTotal.agent_id == Agent.id)
        .where(AgentCashTotal.collected_idr > AgentCashTotal.deposited_idr)  # only cash held can block
        .order_by(Agent.id)
    )
    raised = 0
    for agent in list(holders):
        branch = session.get(Branch, agent.branch_id)
        assert branch is not None
        today = local_today(branch.timezone, now)
        cash = agent_cash(session, agent, today)
        if cash.blocked and raise_cash_alert(session, agent, branch, cash, today):
            raised += 1
    session.commit()
    return raised


def add_visit(session: DbSession, member: Member, reason: str, source_id: int, note: str) -> None:
    """Put a member on the visit list of the agent who serves him (the branch sees it too)."""
    session.add(
        VisitItem(
            member_id=member.id,
            branch_id=member.branch_id,
            agent_id=member.agent_id,
            reason=reason,
            source_id=source_id,
            note=note[:200],
        )
    )


def resolve_visits(session: DbSession, member_id: int, now: datetime, why: str) -> list[int]:
    """Take a member off the visit list (his open visits resolved, audited): the caller saw he owes nothing now."""
    visits = list(
        session.scalars(
            select(VisitItem)
            .where(VisitItem.member_id == member_id, VisitItem.resolved_at.is_(None))
            .order_by(VisitItem.id)
        )
    )
    for visit in visits:
        visit.resolved_at = now
        audit.record(
            session, "visit.resolved", "visit_item", visit.id, None, member_id=member_id, reason=visit.reason, why=why
        )
    return [v.id for v in visits]
