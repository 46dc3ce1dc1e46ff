"""Auto-debit services: mandates, the debit run with bounded retries, provider callbacks processed in
batches, and matching a provider's settlement report."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from collection.members.due_dates import due_date
from collection.members.models import Member, VisitItem
from collection.members.paylinks import LinkSigner
from collection.members.position import member_position
from collection.members.services import Scope, get_member, holidays_for
from core import audit
from core.clock import local_today, utcnow
from core.errors import Conflict, DomainError, NotFound, ServiceUnavailable, field_error
from core.extensions import DbSession
from core.i18n import label, stored_text
from core.outbox import queue_message
from organisation.models import Branch, Role, StaffUser
from organisation.services import agent_of
from payments.autodebit.batches import (
    LAPSE_MONTHS_AHEAD,
    apply_batch,
    debit_fingerprint,
    debit_key,
    lock_batch,
    verdict,
)
from payments.autodebit.mandates import (
    LIVE_STATUSES,
    Effect,
    IllegalTransition,
    MandateStatus,
    debit_day,
    next_retry_on,
    transition,
)
from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate, MandateStatusChange, WebhookEvent
from payments.autodebit.notices import debit_failed_text
from payments.autodebit.providers import SELF_PAYMENT_ORDER_PREFIX, CallbackError, Provider, ProviderEvent
from payments.ledger.models import Channel, Payment
from payments.ledger.services import add_visit, book_payment, unbook_payment
from workers.queues import queue_debit_runs

log = logging.getLogger(__name__)


def _set_status(session: DbSession, mandate: Mandate, target: str, cause: str, actor_id: int | None) -> None:
    new = transition(mandate.status, target)
    session.add(
        MandateStatusChange(
            mandate_id=mandate.id, from_status=mandate.status, to_status=new, cause=cause, actor_user_id=actor_id
        )
    )
    mandate.status = new


def create_mandate(
    session: DbSession,
    actor: StaffUser,
    providers: Mapping[str, Provider],
    *,
    member_id: int,
    provider_name: str,
    account: str,
    months_per_debit: int,
    idempotency_key: str,
    now: datetime,
) -> tuple[Mandate, bool]:
    """Register a member's mandate with the provider; one live mandate per member."""
    existing = session.scalar(select(Mandate).where(Mandate.idempotency_key == idempotency_key))
    if existing is not None:
        if (existing.member_id, existing.provider) != (member_id, provider_name):
            # Another request's key (perhaps another branch's): never answer with its mandate.
            raise Conflict(
                gettext(
                    "This Idempotency-Key was already used for a different request: make a new key for a new mandate."
                ),
                reason="idempotency_key_reused",
            )
        get_member(session, actor, member_id)  # a retry, by someone who may see the member
        return existing, False
    member = get_member(session, actor, member_id)
    provider = providers.get(provider_name)
    if provider is None:
        raise field_error(
            "provider",
            gettext(
                "Unknown provider '%(provider)s'; choose one of %(providers)s.",
                provider=provider_name,
                providers=", ".join(sorted(providers)),
            ),
        )
    live = session.scalar(select(Mandate).where(Mandate.member_id == member.id, Mandate.status.in_(LIVE_STATUSES)))
    if live is not None:
        raise Conflict(
            gettext(
                "Member %(kpj)s already has mandate %(id)s (%(status)s): cancel it before making another.",
                kpj=member.kpj,
                id=live.id,
                status=live.status,
            ),
            reason="mandate_exists",
            mandate_id=live.id,
        )
    try:
        reference, provider_status = provider.create_mandate(member.kpj or str(member.id), account, months_per_debit)
    except CallbackError as error:
        message = stored_text(str(error))
        raise DomainError(message, errors={"json": {"account": [message]}}) from error
    mandate = Mandate(
        member_id=member.id,
        provider=provider_name,
        provider_ref=reference,
        account_label=_mask_account(account),
        months_per_debit=months_per_debit,
        status=MandateStatus.PENDING_AUTHORISATION,
        created_by_user_id=actor.id,
        idempotency_key=idempotency_key,
    )
    session.add(mandate)
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise Conflict(
            gettext("The member got another mandate at the same moment: reload and check."), reason="mandate_exists"
        ) from error
    session.add(
        MandateStatusChange(
            mandate_id=mandate.id, from_status=None, to_status=mandate.status, cause="created", actor_user_id=actor.id
        )
    )
    if provider_status == MandateStatus.ACTIVE:
        _set_status(session, mandate, MandateStatus.ACTIVE, f"authorised at {provider_name}", actor.id)
    audit.record(
        session, "mandate.created", "mandate", mandate.id, actor.id, member_id=member.id, provider=provider_name
    )
    session.commit()
    return mandate, True


def _mask_account(account: str) -> str:
    account = account.strip()
    return account if len(account) <= 4 else f"{'*' * min(8, len(account) - 4)}{account[-4:]}"


def change_mandate(session: DbSession, actor: StaffUser, mandate_id: int, target: str, cause: str) -> Mandate:
    """Pause, resume or cancel a mandate; an illegal move is a 409 that says what is allowed."""
    mandate = session.get(Mandate, mandate_id)
    if mandate is None:
        raise NotFound(gettext("There is no mandate %(id)s.", id=mandate_id))
    get_member(session, actor, mandate.member_id)  # another branch's mandate is a 404
    return _change(session, mandate, target, cause, actor.id)


def change_own_mandate(session: DbSession, member_id: int, mandate_id: int, target: str, cause: str) -> Mandate:
    """A member pauses or cancels his own mandate (payments/selfpay): another member's is a 404; setting one up
    or resuming it stays with the agent, who checks the account holder."""
    mandate = session.get(Mandate, mandate_id)
    if mandate is None or mandate.member_id != member_id:
        raise NotFound(gettext("There is no mandate %(mandate_id)s.", mandate_id=mandate_id))
    if target not in (MandateStatus.PAUSED, MandateStatus.CANCELLED):
        raise Conflict(
            gettext("A member may pause or cancel his auto-debit; his agent resumes it."), reason="agent_only"
        )
    return _change(session, mandate, target, cause, None)


def _illegal_transition(error: IllegalTransition) -> str:
    """The refused move in the reader's words (the statuses as the pages name them)."""
    now, then = label("mandate_status", error.current), label("mandate_status", error.target)
    if not error.allowed:
        return gettext("A mandate that is %(now)s cannot become %(then)s: that status is final.", now=now, then=then)
    return gettext(
        "A mandate that is %(now)s cannot become %(then)s; it can become %(allowed)s.",
        now=now,
        then=then,
        allowed=", ".join(label("mandate_status", status) for status in error.allowed),
    )


def _change(session: DbSession, mandate: Mandate, target: str, cause: str, actor_id: int | None) -> Mandate:
    if mandate.status == target:
        return mandate
    try:
        _set_status(session, mandate, target, cause, actor_id)
    except IllegalTransition as error:
        raise Conflict(_illegal_transition(error), reason="illegal_transition") from error
    if target == MandateStatus.CANCELLED:
        for request in session.scalars(
            select(DebitRequest).where(DebitRequest.mandate_id == mandate.id, DebitRequest.status.in_(["due", "retry"]))
        ):
            request.status = "cancelled"
    audit.record(session, f"mandate.{target}", "mandate", mandate.id, actor_id, cause=cause)
    session.commit()
    return mandate


def mandates_of(session: DbSession, actor: StaffUser, member_id: int) -> list[Mandate]:
    member = get_member(session, actor, member_id)
    return list(session.scalars(select(Mandate).where(Mandate.member_id == member.id).order_by(Mandate.id.desc())))


@dataclass
class DebitRunResult:
    created: int = 0
    sent: int = 0
    refused: int = 0
    skipped: list[str] = field(default_factory=list)


def queue_branch_debit_runs(session: DbSession, actor: StaffUser) -> list[dict[str, object]]:
    """Have workers run the debits that are due, one job per branch (workers/queues.py queue_debit_runs)."""
    branch_ids = list(session.scalars(select(Branch.id).order_by(Branch.id)))
    job_ids = queue_debit_runs(branch_ids)
    if job_ids is None:
        raise ServiceUnavailable(
            gettext("The job queue is unavailable: nothing was lost; ask for the debit run in a minute.")
        )
    audit.record(session, "debit_run.queued", "debit_run", None, actor.id, jobs=job_ids)
    session.commit()
    return [{"branch_id": b, "job_id": j} for b, j in zip(branch_ids, job_ids, strict=True)]


def run_debits(
    session: DbSession,
    providers: Mapping[str, Provider],
    now: datetime,
    branch_id: int | None = None,
    links: LinkSigner | None = None,
) -> DebitRunResult:
    """Create this period's debit requests for active mandates and send those due (new and retries); with
    ``links``, a debit that fails for good texts the member a pay link (payments/autodebit/notices.py).

    Safe to run any number of times, and at once: a (mandate, first month) pair is requested once (a unique key),
    a debit is claimed under a row lock before its attempt is sent, and an order is charged once (a provider
    answers a repeated order_id with 409, taken as sent).
    """
    result = DebitRunResult()
    query = (
        select(Mandate, Member)
        .join(Member, Member.id == Mandate.member_id)
        .where(Mandate.status == MandateStatus.ACTIVE)
    )
    if branch_id is not None:
        query = query.where(Member.branch_id == branch_id)
    branches = {b.id: b for b in session.scalars(select(Branch))}
    for mandate, member in session.execute(query.order_by(Mandate.id)).all():
        today = local_today(branches[member.branch_id].timezone, now)
        position = member_position(session, member, today)
        window = position.open_dues[: mandate.months_per_debit]
        if not window or today < debit_day(window[0].due_on):
            continue
        request = DebitRequest(
            mandate_id=mandate.id,
            member_id=member.id,
            first_month=window[0].month,
            months=len(window),
            amount_idr=sum(d.amount_idr for d in window),
            due_on=window[0].due_on,
            status="due",
            next_attempt_on=today,
        )
        try:
            with session.begin_nested():
                session.add(request)
            result.created += 1
        except IntegrityError:
            pass  # already requested by an earlier run
    session.commit()

    # Plain values first: each debit commits twice, and a commit expires every object the session holds,
    # so iterating over loaded rows would reload all of them after every debit (quadratic).
    due = (
        select(DebitRequest.id, DebitRequest.next_attempt_on, Mandate.provider, Mandate.provider_ref, Member.branch_id)
        .join(Mandate, Mandate.id == DebitRequest.mandate_id)
        .join(Member, Member.id == DebitRequest.member_id)
        .where(DebitRequest.status.in_(["due", "retry"]), Mandate.status == MandateStatus.ACTIVE)
    )
    if branch_id is not None:
        due = due.where(Member.branch_id == branch_id)
    zones = {b.id: b.timezone for b in branches.values()}
    rows = session.execute(due.order_by(DebitRequest.id)).all()
    for request_id, next_attempt_on, provider_name, provider_ref, member_branch in rows:
        today = local_today(zones[member_branch], now)
        if next_attempt_on is not None and next_attempt_on > today:
            continue
        provider = providers.get(provider_name)
        if provider is None or provider_ref is None:
            result.skipped.append(f"debit {request_id}: provider {provider_name} is not configured")
            continue
        # Claimed under a row lock, its state read again: another run (two jobs of a branch at once) may have
        # sent it since the list above was read, and a second attempt would charge the member twice.
        debit = session.scalar(
            select(DebitRequest)
            .where(
                DebitRequest.id == request_id,
                DebitRequest.status.in_(["due", "retry"]),
                or_(DebitRequest.next_attempt_on.is_(None), DebitRequest.next_attempt_on <= today),
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if debit is None:
            session.rollback()
            continue
        debit_mandate = session.get(Mandate, debit.mandate_id)
        debtor = session.get(Member, debit.member_id)
        assert debit_mandate is not None and debtor is not None
        debit.attempts += 1
        attempt = DebitAttempt(
            debit_request_id=debit.id,
            order_id=f"IUR-{debit.id}-{debit.attempts}",
            attempt_no=debit.attempts,
            amount_idr=debit.amount_idr,
            status="created",
        )
        debit.status = "sent"
        session.add(attempt)
        session.commit()  # recorded before the provider hears of it: a crash now re-sends the same order
        charged = provider.charge(attempt.order_id, attempt.amount_idr, provider_ref)
        attempt.sent_at = now
        if charged.accepted:
            attempt.status = "pending" if attempt.status == "created" else attempt.status
            attempt.provider_transaction_id = charged.transaction_id or attempt.provider_transaction_id
            result.sent += 1
        elif charged.reason == MANDATE_UNKNOWN:
            _mandate_lost(session, debit_mandate, attempt, debit, debtor)
            result.refused += 1
        else:
            _attempt_failed(session, attempt, debit, debtor, charged.reason or "refused", now, links)
            result.refused += 1
        session.commit()
    return result


MANDATE_UNKNOWN = "mandate_unknown"  # the provider no longer knows the mandate (revoked, expired, lost)


def _mandate_lost(
    session: DbSession, mandate: Mandate, attempt: DebitAttempt, request: DebitRequest, member: Member
) -> None:
    """The provider refused the mandate itself: no point retrying; the mandate fails and the agent visits
    to set up a new one (or take cash)."""
    attempt.status = "failed"
    attempt.failure_reason = MANDATE_UNKNOWN
    request.status = "failed"
    request.failure_reason = MANDATE_UNKNOWN
    request.next_attempt_on = None
    _set_status(session, mandate, MandateStatus.FAILED, "the provider no longer knows this mandate", None)
    add_visit(
        session,
        member,
        "mandate_failed",
        mandate.id,
        f"auto-debit mandate {mandate.id} at {mandate.provider} is no longer valid: set up a new one",
    )
    queue_message(
        session,
        "mandate_failed",
        member.phone,
        "BPJS Ketenagakerjaan: autodebet Anda tidak aktif lagi. Agen Perisai akan membantu mendaftarkan ulang, "
        "atau bayar iuran tunai lewat agen.",
        dedupe_key=f"mandate_failed:{mandate.id}",
    )


def _attempt_failed(
    session: DbSession,
    attempt: DebitAttempt,
    request: DebitRequest,
    member: Member,
    reason: str,
    now: datetime,
    links: LinkSigner | None = None,
) -> None:
    """Retry what can succeed later, on the bounded schedule; otherwise the agent visits and the member hears (with
    ``links``, with a pay link for the debit's months and any owed before them)."""
    attempt.status = "failed"
    attempt.failure_reason = reason[:80]
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    lapse_month = request.first_month + LAPSE_MONTHS_AHEAD
    holidays = holidays_for(session, branch, lapse_month.first_day(), lapse_month.last_day())
    lapses_on = due_date(lapse_month, holidays) + timedelta(days=1)
    retry_on = next_retry_on(today, request.attempts, reason, lapses_on)
    request.failure_reason = reason[:80]
    if retry_on is not None:
        request.status = "retry"
        request.next_attempt_on = retry_on
        return
    request.status = "failed"
    request.next_attempt_on = None
    add_visit(
        session,
        member,
        "debit_failed",
        request.id,
        f"auto-debit for {request.first_month} failed ({reason}) after {request.attempts} tries",
    )
    position = member_position(session, member, today) if links is not None and member.phone else None
    queue_message(
        session,
        "debit_failed",
        member.phone,
        debit_failed_text(member.id, member.phone, request.first_month, request.months, reason, position, links, now),
        dedupe_key=f"debit_failed:{request.id}",
    )


def store_webhook_event(session: DbSession, provider_name: str, event: ProviderEvent, raw_body: str) -> bool:
    """Keep a verified callback as it arrived; False when it is a duplicate delivery (stored already).

    One INSERT ... ON CONFLICT DO NOTHING: a redelivery costs no failed statement and no rollback."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stored = session.execute(
        insert(WebhookEvent)
        .values(
            provider=provider_name,
            event_key=event.event_key,
            order_id=event.order_id,
            raw_body=raw_body,
            received_at=utcnow(),
            state="received",
        )
        .on_conflict_do_nothing(index_elements=["provider", "event_key"])
        .returning(WebhookEvent.id)
    ).first()
    session.commit()
    return stored is not None


def process_webhook_events(
    session: DbSession,
    providers: Mapping[str, Provider],
    now: datetime,
    public_base_url: str,
    batch: int = 500,
    bulk: bool = True,
    links: LinkSigner | None = None,
) -> int:
    """Apply stored callbacks in order of arrival, a batch at a time; returns how many were handled. A settled
    debit's receipt is texted to the member with its link at ``public_base_url`` (the PUBLIC_BASE_URL setting).

    Each batch is applied in bulk (batches.py: a handful of statements for the whole batch), in a savepoint;
    what the bulk path leaves, and the whole batch when it fails, goes event by event, each in a savepoint, so
    one that cannot be applied goes to the review queue without holding back the rest. ``bulk=False`` takes
    every event one by one. On PostgreSQL, SKIP LOCKED lets several workers share the backlog. With ``links``, a
    debit that fails for good texts the member a pay link (payments/autodebit/notices.py).
    """
    handled = 0
    while True:
        events = list(
            session.scalars(
                select(WebhookEvent)
                .where(WebhookEvent.state == "received", _not_self_payment)
                .order_by(WebhookEvent.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not events:
            return handled
        left = events
        if bulk:
            members = lock_batch(session, events)
            try:
                with session.begin_nested():
                    left = apply_batch(session, events, members, providers, now, public_base_url, links)
            except Exception as error:  # roll the batch back and replay it event by event
                log.warning("a batch of %d callbacks failed in bulk, replaying one by one: %s", len(events), error)
                left = events
        _apply_one_by_one(session, left, providers, now, public_base_url, links)
        handled += len(events)
        session.commit()


# A member's own payment (payments/selfpay) is settled by its own processor, which knows its charges.
_not_self_payment = or_(
    WebhookEvent.order_id.is_(None), WebhookEvent.order_id.not_like(f"{SELF_PAYMENT_ORDER_PREFIX}%")
)


def _apply_one_by_one(
    session: DbSession,
    events: list[WebhookEvent],
    providers: Mapping[str, Provider],
    now: datetime,
    public_base_url: str,
    links: LinkSigner | None,
) -> None:
    if not events:
        return
    order_ids = {e.order_id for e in events if e.order_id}
    attempts = {
        a.order_id: a
        for a in session.scalars(
            select(DebitAttempt).where(DebitAttempt.order_id.in_(order_ids)).execution_options(populate_existing=True)
        )
    }
    for event in events:
        try:
            with session.begin_nested():
                attempt = attempts.get(event.order_id or "")
                state, note = _apply_event(session, event, attempt, providers, now, public_base_url, links)
        except Exception as error:  # anything unforeseen: keep the event for a person, go on with the rest
            state, note = "review", f"could not apply: {error}"[:200]
        event.state, event.note, event.processed_at = state, note, now


def _apply_event(
    session: DbSession,
    event: WebhookEvent,
    attempt: DebitAttempt | None,
    providers: Mapping[str, Provider],
    now: datetime,
    public_base_url: str,
    links: LinkSigner | None,
) -> tuple[str, str | None]:
    found = verdict(event, attempt.status if attempt else None, attempt.amount_idr if attempt else None, providers)
    if found.state is not None:
        return found.state, found.note
    assert attempt is not None and found.provider and found.parsed and found.outcome
    provider, parsed, outcome = found.provider, found.parsed, found.outcome
    if outcome.effect == Effect.REFUND:
        try:
            confirmed = provider.confirm_status(parsed.order_id)
        except CallbackError as error:
            return "review", str(error)[:200]
        if confirmed is not None and confirmed != parsed.status:
            return "review", f"refund callback, but {event.provider} says the order is {confirmed}"
    request = session.get(DebitRequest, attempt.debit_request_id)
    assert request is not None
    member = session.get(Member, request.member_id, with_for_update=True)
    assert member is not None
    attempt.provider_transaction_id = parsed.transaction_id
    if outcome.effect == Effect.MARK_PENDING:
        attempt.status = "pending"
    elif outcome.effect == Effect.SETTLE:
        _settle(session, attempt, request, member, now, public_base_url)
    elif outcome.effect == Effect.FAIL:
        _attempt_failed(session, attempt, request, member, parsed.reason or "failed", now, links)
    elif outcome.effect == Effect.REFUND:
        payment = session.get(Payment, request.payment_id) if request.payment_id else None
        if payment is not None:
            unbook_payment(session, payment, member, f"refunded by {event.provider}", None, now)
        attempt.status = "refunded"
        request.status = "reversed"
    return "processed", None


def _settle(
    session: DbSession,
    attempt: DebitAttempt,
    request: DebitRequest,
    member: Member,
    now: datetime,
    public_base_url: str,
) -> None:
    """A settled debit becomes a payment on the ledger, allocated and receipted exactly like cash."""
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    position = member_position(session, member, today)
    payment, _ = book_payment(
        session,
        member,
        branch,
        position,
        amount_idr=attempt.amount_idr,
        channel=Channel.AUTO_DEBIT,
        paid_on=today,
        idempotency_key=debit_key(attempt.order_id),
        fingerprint_=debit_fingerprint(attempt.order_id, attempt.amount_idr),
        agent_id=None,
        actor_id=None,
        today=today,
        now=now,
        public_base_url=public_base_url,
    )
    attempt.status = "settled"
    request.status = "settled"
    request.payment_id = payment.id
    request.next_attempt_on = None


def visit_list(session: DbSession, actor: StaffUser, offset: int = 0, limit: int = 100) -> tuple[list[VisitItem], int]:
    """One page of the open visits, oldest first, and how many there are: an agent's own members, or the whole
    branch for supervisors (all branches for admins)."""
    query = select(VisitItem).where(VisitItem.resolved_at.is_(None))
    scope = Scope.of(actor)
    if scope.branch_id is not None:
        query = query.where(VisitItem.branch_id == scope.branch_id)
    if actor.role == Role.AGENT:
        agent = agent_of(session, actor)
        query = query.where(VisitItem.agent_id == (agent.id if agent else -1))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    offset = min(offset, 10**7)  # a page past every visit is empty, not an overflow
    page = query.order_by(VisitItem.created_at, VisitItem.id).offset(offset).limit(limit)
    return list(session.scalars(page)), total


def orders_of_branch(branch_id: int) -> Select[str]:
    """The order ids of the branch's members' debits, as a subquery."""
    return (
        select(DebitAttempt.order_id)
        .join(DebitRequest, DebitRequest.id == DebitAttempt.debit_request_id)
        .join(Member, Member.id == DebitRequest.member_id)
        .where(Member.branch_id == branch_id)
    )
