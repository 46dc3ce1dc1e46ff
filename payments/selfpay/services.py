"""A member's own view and payments: what he owes and has paid, his auto-debit, and charges he pays himself by
virtual account or QRIS, settled from the provider's callbacks through the ledger like an auto-debit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext
from sqlalchemy import or_, select

from collection.members.models import Member
from collection.members.position import MemberPosition, member_position
from core import audit
from core.clock import local_today
from core.errors import Conflict, DomainError, NotFound, field_error
from core.extensions import DbSession
from core.months import Month
from organisation.models import Agent, Branch, StaffUser
from payments.autodebit.mandates import LIVE_STATUSES
from payments.autodebit.models import Mandate, WebhookEvent
from payments.autodebit.providers import SELF_PAYMENT_ORDER_PREFIX, CallbackError, Provider, parse_midtrans_body
from payments.autodebit.services import change_own_mandate
from payments.ledger.models import Channel, Payment, Receipt
from payments.ledger.receipts import receipt_link
from payments.ledger.services import book_payment, fingerprint, resolve_visits
from payments.selfpay.charges import (
    EXPIRY_GRACE_MINUTES,
    EXPIRY_MINUTES,
    OPEN,
    OPENING_MINUTES,
    PAYMENT_TYPE,
    VA_BANK,
    ChargeStatus,
    Effect,
    Method,
    callback_verdict,
    covers,
    owes_nothing_to_date,
    shown_status,
    unanswered,
)
from payments.selfpay.models import SelfCharge

log = logging.getLogger(__name__)
RECEIPTS_SHOWN = 24


@dataclass(frozen=True)
class ReceiptLine:
    number: str
    paid_on: date
    amount_idr: int
    channel: str
    status: str
    link: str


@dataclass(frozen=True)
class Overview:
    """What a signed-in member sees of himself."""

    member: Member
    position: MemberPosition
    receipts: list[ReceiptLine]
    mandate: Mandate | None
    agent_name: str | None
    agent_phone: str | None
    charges: list[SelfCharge]


def _today(session: DbSession, member: Member, now: datetime) -> date:
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    return local_today(branch.timezone, now)


def overview(session: DbSession, member: Member, now: datetime, public_base_url: str) -> Overview:
    """The member's standing, months owed, next due, receipts with their links, auto-debit, agent and charges."""
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    position = member_position(session, member, local_today(branch.timezone, now))
    rows = session.execute(
        select(
            Receipt.number,
            Receipt.verification_code,
            Payment.paid_on,
            Payment.amount_idr,
            Payment.channel,
            Payment.status,
        )
        .join(Payment, Payment.id == Receipt.payment_id)
        .where(Payment.member_id == member.id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(RECEIPTS_SHOWN)
    ).all()
    receipts = [
        ReceiptLine(number, paid_on, amount, channel, status, receipt_link(public_base_url, code))
        for number, code, paid_on, amount, channel, status in rows
    ]
    mandate = session.scalar(
        select(Mandate).where(Mandate.member_id == member.id, Mandate.status.in_(LIVE_STATUSES)).limit(1)
    )
    agent_name = agent_phone = None
    if member.agent_id is not None:
        found = session.execute(
            select(StaffUser.full_name, StaffUser.phone)
            .join(Agent, Agent.user_id == StaffUser.id)
            .where(Agent.id == member.agent_id)
        ).first()
        if found is not None:
            agent_name, agent_phone = found
    charges = list(
        session.scalars(
            select(SelfCharge).where(SelfCharge.member_id == member.id).order_by(SelfCharge.id.desc()).limit(10)
        )
    )
    return Overview(member, position, receipts, mandate, agent_name, agent_phone, charges)


def change_mandate(session: DbSession, member: Member, mandate_id: int, action: str) -> Mandate:
    """The member pauses or cancels his own auto-debit (the existing mandate service, with no staff actor)."""
    target = {"pause": "paused", "cancel": "cancelled"}.get(action)
    if target is None:
        raise field_error("action", gettext("Choose pause or cancel."), location="form")
    return change_own_mandate(session, member.id, mandate_id, target, "by the member at /peserta")


def create_charge(
    session: DbSession,
    provider_name: str,
    provider: Provider,
    *,
    member_id: int,
    months: int,
    method: str,
    now: datetime,
    origin: str = "page",
    first_month: Month | None = None,
) -> SelfCharge:
    """Open a charge for one of the counter's choices (member_position: arrears first, then 1, 3, 6 or 12 months),
    to pay by virtual account or QRIS. Asking again for the same months and method while one is open returns it,
    also while the first request is still opening it at the provider (the member's row lock orders the two, and
    the first commits its charge before it asks the provider): a double click opens one charge. ``first_month`` (a
    pay link's) must be the choice's first month, checked under the member's lock."""
    if method not in tuple(Method):
        raise field_error("method", gettext("Choose virtual account or QRIS."), location="form")
    member = session.get(Member, member_id, with_for_update=True)
    if member is None:
        raise NotFound(gettext("There is no member %(member_id)s.", member_id=member_id))
    position = member_position(session, member, _today(session, member, now))
    choice = next((c for c in position.choices if c.months == months), None)
    if choice is None:
        raise field_error("months", gettext("Choose one of the amounts shown."), location="form")
    if first_month is not None and choice.first != first_month:  # a pay link's months, no longer the first open ones
        raise Conflict(gettext("These months can no longer be paid this way."), reason="months_changed")
    open_one = session.scalar(
        select(SelfCharge)
        .where(
            SelfCharge.member_id == member.id,
            SelfCharge.status.in_(OPEN),
            SelfCharge.first_month == choice.first,
            SelfCharge.months == months,
            SelfCharge.method == method,
            SelfCharge.amount_idr == choice.amount_idr,
            SelfCharge.expires_at > now + timedelta(minutes=10),  # with time left to pay it
        )
        .order_by(SelfCharge.id.desc())  # the latest: one left 'created' by a dead request is not it
        .limit(1)
    )
    if open_one is not None and (
        open_one.status == ChargeStatus.PENDING or open_one.created_at > now - timedelta(minutes=OPENING_MINUTES)
    ):  # pending, or still being opened by a request a moment ago (a double click)
        session.commit()
        return open_one
    charge = SelfCharge(
        member_id=member.id,
        provider=provider_name,
        method=method,
        first_month=choice.first,
        months=months,
        amount_idr=choice.amount_idr,
        status=ChargeStatus.CREATED,
        origin=origin,
        expires_at=now + timedelta(minutes=EXPIRY_MINUTES),
        created_at=now,
    )
    session.add(charge)
    session.flush()
    charge.order_id = f"{SELF_PAYMENT_ORDER_PREFIX}{charge.id}"
    audit.record(
        session,
        "self_charge.created",
        "self_charge",
        charge.id,
        None,
        member_id=member.id,
        method=method,
        months=months,
        amount_idr=choice.amount_idr,
        origin=origin,
    )
    session.commit()  # recorded before the provider hears of it: its callbacks always find the charge
    opened = provider.charge_payment(
        charge.order_id, charge.amount_idr, PAYMENT_TYPE[Method(method)], VA_BANK, EXPIRY_MINUTES, now
    )
    if not opened.accepted:
        charge.status = ChargeStatus.FAILED
        charge.failure_reason = (opened.reason or "refused")[:200]
        session.commit()
        raise Conflict(
            gettext(
                "The payment provider could not open this payment now: try again in a few minutes, or pay your agent."
            ),
            reason="provider_refused",
        )
    charge.status = ChargeStatus.PENDING
    charge.provider_transaction_id = opened.transaction_id
    charge.va_bank, charge.va_number, charge.qr_string = opened.va_bank, opened.va_number, opened.qr_string
    if opened.expires_at is not None:
        charge.expires_at = opened.expires_at
    session.commit()
    return charge


def charge_of(session: DbSession, member: Member, charge_id: int) -> SelfCharge:
    """One of the member's own charges; another member's is a 404, as if absent."""
    charge = session.get(SelfCharge, charge_id)
    if charge is None or charge.member_id != member.id:
        raise NotFound(gettext("There is no payment %(charge_id)s.", charge_id=charge_id))
    return charge


def charge_receipt(session: DbSession, charge: SelfCharge, public_base_url: str) -> str | None:
    """The link of the receipt of a charge's payment, once it is on the ledger."""
    if charge.payment_id is None:
        return None
    code = session.scalar(select(Receipt.verification_code).where(Receipt.payment_id == charge.payment_id))
    return receipt_link(public_base_url, code) if code else None


def status_shown(charge: SelfCharge, now: datetime) -> str:
    return shown_status(charge.status, charge.expires_at, now)


def process_charge_events(
    session: DbSession, providers: Mapping[str, Provider], now: datetime, public_base_url: str, batch: int = 200
) -> int:
    """Apply the stored callbacks of members' own charges (order ids SP-…), oldest first, each in a savepoint:
    one that cannot be applied goes to the review queue without holding back the rest. Returns how many."""
    handled = 0
    while True:
        events = list(
            session.scalars(
                select(WebhookEvent)
                .where(
                    WebhookEvent.state == "received",
                    WebhookEvent.order_id.like(f"{SELF_PAYMENT_ORDER_PREFIX}%"),
                )
                .order_by(WebhookEvent.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not events:
            return handled
        for event in events:
            try:
                with session.begin_nested():
                    state, note = _apply(session, event, providers, now, public_base_url)
            except Exception as error:  # anything unforeseen: keep it for a person, go on with the rest
                log.warning("a self-payment callback could not be applied: %s", error)
                state, note = "review", f"could not apply: {error}"[:200]
            event.state, event.note, event.processed_at = state, note, now
        handled += len(events)
        session.commit()


def _apply(
    session: DbSession, event: WebhookEvent, providers: Mapping[str, Provider], now: datetime, public_base_url: str
) -> tuple[str, str | None]:
    try:
        parsed = parse_midtrans_body(event.raw_body.encode())
    except CallbackError as error:
        return "review", str(error)[:200]
    charge = session.scalar(select(SelfCharge).where(SelfCharge.order_id == parsed.order_id).with_for_update())
    if charge is None:
        return "review", "no charge has this order id"
    if charge.provider != event.provider:
        return "review", f"the charge was opened at {charge.provider}, the callback came from {event.provider}"
    member = session.get(Member, charge.member_id, with_for_update=True)
    assert member is not None
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    position = member_position(session, member, today)
    still_open = covers(charge.first_month, charge.months, tuple(d.month for d in position.open_dues))
    verdict = callback_verdict(charge.status, charge.amount_idr, parsed.provider_status, parsed.amount_idr, still_open)
    charge.provider_transaction_id = charge.provider_transaction_id or parsed.transaction_id
    if verdict.effect == Effect.NOTHING:
        return "ignored" if verdict.note else "processed", verdict.note
    if verdict.effect == Effect.EXPIRE:
        charge.status = ChargeStatus.EXPIRED
        charge.failure_reason = parsed.provider_status
        return "processed", None
    if verdict.effect == Effect.REVIEW:
        charge.status = ChargeStatus.REVIEW
        charge.failure_reason = verdict.note
        audit.record(session, "self_charge.review", "self_charge", charge.id, None, why=verdict.note)
        return "review", verdict.note
    payment = book_charge(
        session, charge, member, branch, position, charge.amount_idr, None, today, now, public_base_url
    )
    charge.status = ChargeStatus.SETTLED
    charge.payment_id = payment.id
    return "processed", None


def book_charge(
    session: DbSession,
    charge: SelfCharge,
    member: Member,
    branch: Branch,
    position: MemberPosition,
    amount_idr: int,
    actor_id: int | None,
    today: date,
    now: datetime,
    public_base_url: str,
) -> Payment:
    """Book a member's own charge on his ledger as any payment (channel: its method; receipt and text), keyed by its
    order so that its callback and finance's resolution book it once between them; a payment that leaves nothing
    owed to date takes him off his agent's visit list. ``position`` is his, read under his lock."""
    payment, receipt = book_payment(
        session,
        member,
        branch,
        position,
        amount_idr=amount_idr,
        channel=Channel(charge.method),
        paid_on=today,
        idempotency_key=f"selfpay:{charge.order_id}",
        fingerprint_=fingerprint(order_id=charge.order_id, amount_idr=amount_idr),
        agent_id=None,
        actor_id=actor_id,
        today=today,
        now=now,
        public_base_url=public_base_url,
    )
    open_months = tuple(d.month for d in position.open_dues)
    if owes_nothing_to_date(open_months, receipt.months_covered, Month.of(today)):
        resolve_visits(session, member.id, now, f"paid by the member himself ({charge.order_id})")
    return payment


def expire_unanswered_charges(session: DbSession, now: datetime, batch: int = 500) -> int:
    """Close the open charges the provider never reported on: past their deadline (and a grace for callbacks on
    their way), or never answered when they were opened. Status expired, nothing booked; a settlement callback
    that comes later goes to finance's review like any late payment (charges.callback_verdict), never lost. A
    charge with a callback still waiting to be applied is left to it. Safe to run twice. Returns how many."""
    waiting = select(WebhookEvent.order_id).where(
        WebhookEvent.state == "received", WebhookEvent.order_id.like(f"{SELF_PAYMENT_ORDER_PREFIX}%")
    )
    grace = timedelta(minutes=EXPIRY_GRACE_MINUTES)
    closed = after = 0
    while True:
        charges = list(
            session.scalars(
                select(SelfCharge)
                .where(
                    SelfCharge.id > after,
                    SelfCharge.status.in_(OPEN),
                    or_(
                        SelfCharge.expires_at <= now - grace,
                        (SelfCharge.status == ChargeStatus.CREATED) & (SelfCharge.created_at <= now - grace),
                    ),
                    SelfCharge.order_id.not_in(waiting),
                )
                .order_by(SelfCharge.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not charges:
            session.commit()
            return closed
        for charge in charges:
            if not unanswered(charge.status, charge.expires_at, charge.created_at, now):
                continue
            before = charge.status
            charge.status, charge.failure_reason = ChargeStatus.EXPIRED, "no word from the provider by its deadline"
            audit.record(session, "self_charge.expired", "self_charge", charge.id, None, before=before)
            closed += 1
        after = charges[-1].id
        session.commit()


def refuse_unknown_provider(name: str, providers: Mapping[str, Provider]) -> Provider:
    provider = providers.get(name)
    if provider is None:
        raise DomainError(
            gettext("Self-payment provider %(name)s is not configured.", name=repr(name)), reason="provider_missing"
        )
    return provider
