"""Recording an agent's cash contribution: the rules between one locking read, one read after the locks and one
write (payments/ledger/recording.py holds the SQL). The same key with the same content returns the first receipt
however often and however concurrently it arrives; with other content it is a 409."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext, ngettext
from sqlalchemy.exc import IntegrityError

from collection.members.arrears import LAPSE_AFTER_MONTHS, MemberStatus
from collection.members.position import HolidaysBetween, MemberPosition, position_from
from collection.members.rates import RateTable
from collection.members.services import load_rate_table, regional_holidays
from core.clock import local_today
from core.errors import Conflict, DomainError, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.i18n import day_label, rupiah
from core.months import Month
from organisation.models import Agent, AgentStatus, Branch, Role, StaffUser
from payments.ledger.allocation import Due, allocate
from payments.ledger.cash import CashPosition, cash_position
from payments.ledger.days import refuse_locked_day
from payments.ledger.models import Channel, Payment, PaymentStatus
from payments.ledger.receipts import new_verification_code, receipt_link, receipt_number, receipt_text
from payments.ledger.recording import (
    AfterLocks,
    CashPayment,
    Locked,
    StatusChange,
    lock_member_and_agent,
    read_after_locks,
    write_cash_payment,
)
from payments.ledger.services import (
    MAX_BACKDATE_DAYS,
    NEW_PERIOD_CAUSE,
    ReceiptView,
    agent_for,
    describe_receipt,
    existing_request,
    fingerprint,
    key_reused,
    raise_cash_alert,
)


def record_cash_contribution(
    session: DbSession,
    actor: StaffUser,
    *,
    member_id: int,
    months: int | None,
    amount_idr: int | None,
    paid_on: date | None,
    idempotency_key: str,
    now: datetime,
    public_base_url: str,
) -> tuple[ReceiptView, bool]:
    """Record cash an agent took for a member: allocate it, issue the receipt, text the member (with the link to
    the receipt at ``public_base_url``, the PUBLIC_BASE_URL setting).

    Returns the receipt and whether it is new. The same key with the same content returns the first
    receipt however often and however concurrently it arrives; with other content it is a 409.
    """
    if actor.role != Role.AGENT:
        raise Forbidden(gettext("Only an agent records cash; supervisors and finance see and reverse it."))
    # Lock the member first, then the agent (the day lock): two payments for one member must not take the same
    # months, and a concurrent twin of this request has either committed (seen below) or waits for us.
    locked = lock_member_and_agent(session, member_id, actor.id)
    if locked is None:
        agent_for(session, actor)  # no active agent behind the login: a 403 that says so
        raise NotFound(gettext("There is no member %(id)s in your branch.", id=member_id))
    if locked.agent_status != AgentStatus.ACTIVE:
        raise Forbidden(gettext("Your agent account is not active: ask your branch supervisor."))
    if locked.branch_id != actor.branch_id:
        raise NotFound(gettext("There is no member %(id)s in your branch.", id=member_id))
    digest = fingerprint(
        member_id=member_id, months=months, amount_idr=amount_idr, paid_on=paid_on, agent=locked.agent_id
    )
    today = local_today(locked.timezone, now)
    read = read_after_locks(session, locked, idempotency_key, paid_on or today)
    if read.existing_id is not None:
        return _earlier_receipt(session, read.existing_id, read.existing_fingerprint, digest), False

    paid_on = paid_on or today
    if paid_on > today:
        raise field_error(
            "paid_on",
            gettext("paid_on %(day)s is in the future: use the day the cash was received.", day=day_label(paid_on)),
        )
    if paid_on < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise field_error(
            "paid_on", gettext("paid_on is more than %(days)s days ago: the branch records it.", days=MAX_BACKDATE_DAYS)
        )
    refuse_locked_day(read.batch_status, paid_on, "paid_on")

    def holidays(first: date, last: date) -> set[date]:
        return regional_holidays(session, locked.province_code, locked.regency_code, first, last)

    table = load_rate_table(session)
    position = position_from(
        locked.terms, read.period_first_month, read.period_started_on, set(read.settled), table, holidays, today
    )
    choice = _choose(position.choices, months, amount_idr)
    cash = cash_position(
        read.collected_idr,
        read.deposited_idr,
        read.oldest_undeposited_on,
        today,
        locked.cash_limit_idr,
        locked.deposit_deadline_working_days,
        regional_holidays(
            session,
            locked.agent_province_code,
            locked.agent_regency_code,
            (read.oldest_undeposited_on or today) - timedelta(days=1),
            today + timedelta(days=40),
        ),
    )
    if cash.blocked or choice.amount_idr > cash.room_idr():
        agent, branch = session.get_one(Agent, locked.agent_id), session.get_one(Branch, locked.branch_id)
        raise_cash_alert(session, agent, branch, cash, today)
        session.commit()
        raise _cash_refused(cash, choice.amount_idr)

    payment = cash_payment_of(
        locked,
        read,
        position,
        table,
        holidays,
        amount_idr=choice.amount_idr,
        paid_on=paid_on,
        idempotency_key=idempotency_key,
        fingerprint_=digest,
        actor_id=actor.id,
        today=today,
        now=now,
    )
    allocated = tuple(a.month for a in payment.allocations)

    def describe(payment_id: int) -> tuple[str, str, dict[str, Any]]:
        number = receipt_number(locked.branch_code, today, payment_id)
        link = receipt_link(public_base_url, payment.verification_code)
        body = receipt_text(choice.amount_idr, allocated, number, payment.verification_code, link)
        details = {
            "member_id": locked.member_id,
            "channel": str(Channel.CASH),
            "amount_idr": choice.amount_idr,
            "months": [str(m) for m in allocated],
            "receipt": number,
        }
        return number, body, details

    try:
        payment_id, number = write_cash_payment(session, payment, describe)
    except IntegrityError:  # a twin with the same key committed first (the unique key is the guard)
        session.rollback()
        existing = existing_request(session, Payment, idempotency_key, digest)
        if existing is None:
            raise
        return describe_receipt(session, existing), False
    session.commit()
    receipt = ReceiptView(
        number=number,
        verification_code=payment.verification_code,
        payment_id=payment_id,
        amount_idr=choice.amount_idr,
        months_covered=allocated,
        member_id=locked.member_id,
        member_name=locked.name,
        agent_id=locked.agent_id,
        paid_on=paid_on,
        recorded_at=now,
        status=PaymentStatus.SETTLED,
        deposited=False,  # deposits never exceed the cash held before this payment
        reversal_reason=None,
    )
    return receipt, True


def _earlier_receipt(session: DbSession, payment_id: int, recorded: str | None, digest: str) -> ReceiptView:
    """The receipt of the first request with this key, or a 409 when the key came with other content."""
    if recorded != digest:
        raise key_reused()
    return describe_receipt(session, session.get_one(Payment, payment_id))


def _offered(choices: tuple[Any, ...]) -> str:
    """What the member can pay, for a refusal's message (worded only when a request is refused)."""
    return ", ".join(
        ngettext("%(num)s month = %(amount)s", "%(num)s months = %(amount)s", c.months, amount=rupiah(c.amount_idr))
        for c in choices
    )


def _choose(choices: tuple[Any, ...], months: int | None, amount_idr: int | None) -> Any:
    if (months is None) == (amount_idr is None):
        raise DomainError(
            gettext(
                "Send either 'months' or 'amount_idr', not both and not neither. This member can pay: %(offered)s.",
                offered=_offered(choices),
            ),
            errors={"json": {"months": [gettext("give months or amount_idr")]}},
        )
    for choice in choices:
        if choice.months == months or choice.amount_idr == amount_idr:
            return choice
    field = "months" if months is not None else "amount_idr"
    raise field_error(
        field,
        gettext(
            "At the counter this member can pay: %(offered)s. Partial amounts are not taken.",
            offered=_offered(choices),
        ),
    )


def _cash_refused(cash: CashPosition, amount_idr: int) -> Conflict:
    if cash.overdue:
        message = gettext(
            "Deposit your cash before you collect more: cash collected on %(day)s had to be deposited by %(due)s. "
            "Record the deposit (setoran) with its bank reference.",
            day=day_label(cash.oldest_undeposited_on),
            due=day_label(cash.deposit_due_by),
        )
    else:
        message = gettext(
            "Deposit your cash before you collect more: you hold %(held)s; the limit is %(limit)s and this adds "
            "%(amount)s. Record the deposit (setoran) with its bank reference.",
            held=rupiah(cash.on_hand_idr),
            limit=rupiah(cash.limit_idr),
            amount=rupiah(amount_idr),
        )
    return Conflict(
        message,
        reason="deposit_required",
        cash_on_hand_idr=cash.on_hand_idr,
    )


def cash_payment_of(
    locked: Locked,
    read: AfterLocks,
    position: MemberPosition,
    table: RateTable,
    holidays: HolidaysBetween,
    *,
    amount_idr: int,
    paid_on: date,
    idempotency_key: str,
    fingerprint_: str,
    actor_id: int,
    today: date,
    now: datetime,
) -> CashPayment:
    """What a cash payment writes, as book_payment would: allocated earliest month first, after a lapse in a new
    period, with the standing re-derived (a status change recorded when it moved). No query."""
    result = allocate(amount_idr, [Due(d.month, d.amount_idr) for d in position.open_dues])
    paid = result.months
    status = locked.status
    changes: list[StatusChange] = []
    close_period: tuple[int, date | None, str | None] | None = None
    member_values: dict[str, Any] = {}
    period_id: int | None = read.period_id  # the period a lapse would end (None: the new one, written below)
    if position.starts_new_period:  # position.py open_new_period, then refresh_standing on the new period
        if read.period_ended_on is None:
            ended_cause = read.period_end_cause or f"more than {LAPSE_AFTER_MONTHS} consecutive unpaid months"
            close_period = (read.period_id, today, ended_cause)
        changes.append(StatusChange(status, MemberStatus.ACTIVE, today, NEW_PERIOD_CAUSE))
        status = MemberStatus.ACTIVE
        member_values |= {"first_month": Month.of(today), "period_started_on": today, "status": status}
        settled = {m for m in read.settled if m >= Month.of(today)}
        fresh = position_from(locked.terms, Month.of(today), today, settled, table, holidays, today)
        standing = fresh.standing_after(paid, today)
        period_id = None
    else:
        standing = position.standing_after(paid, today)
    if standing.paid_through != locked.paid_through:
        member_values["paid_through"] = standing.paid_through
    if standing.status != status:  # position.py refresh_standing
        changes.append(StatusChange(status, standing.status, standing.lapsed_on or today, "payment {payment_id}"))
        member_values["status"] = standing.status
        if standing.status == MemberStatus.LAPSED:
            assert period_id is not None, "a payment after a lapse cannot lapse the period it opens"
            close_period = (period_id, standing.lapsed_on, f"more than {LAPSE_AFTER_MONTHS} consecutive unpaid months")
    return CashPayment(
        payment_id=read.new_payment_id,
        member_id=locked.member_id,
        amount_idr=amount_idr,
        credit_idr=result.credit_idr,
        paid_on=paid_on,
        agent_id=locked.agent_id,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint_,
        now=now,
        allocations=result.allocations,
        verification_code=new_verification_code(),
        phone=locked.phone or None,
        member_values=member_values,
        status_changes=tuple(changes),
        close_period=close_period,
        open_period_on=today if position.starts_new_period else None,
    )
