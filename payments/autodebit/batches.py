"""Stored callbacks applied a batch at a time: read in a handful of statements, decided in Python, written in bulk.

``process_webhook_events`` (services.py) hands each locked batch to :func:`apply_batch`. The batch's members are
locked in id order, its attempts and debits read after the locks, each event decided by the same rules as the
one-by-one path (:func:`verdict`, then mandates.apply_event), and what follows written with one statement per
table: settlements booked by payments/ledger/bulk.py, attempts, debits and events updated by primary key.

A member's second event in the batch is applied in a second round, after the first round's writes (it sees the
months the first paid), and so on up to MAX_ROUNDS. What the batch does not apply itself it hands back, to go one by
one through the savepoint path: refunds (the provider is asked first), a lapsed member's payment (a new period),
and every later event of a member once one of his has gone one by one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from collection.members.due_dates import due_date
from collection.members.models import Member, VisitItem
from collection.members.paylinks import LinkSigner
from collection.members.services import holidays_for
from core.clock import local_today, utcnow
from core.extensions import DbSession, among
from core.months import Month
from core.outbox import OutboxMessage
from organisation.models import Branch
from payments.autodebit.mandates import Effect, EventOutcome, apply_event, next_retry_on
from payments.autodebit.models import DebitAttempt, DebitRequest, WebhookEvent
from payments.autodebit.notices import debit_failed_text
from payments.autodebit.providers import Provider, ProviderEvent
from payments.ledger.bulk import (
    Booking,
    book_payments,
    bookable,
    insert_rows,
    lock_members,
    positions,
    update_rows,
)
from payments.ledger.models import Channel
from payments.ledger.services import fingerprint

ONE_BY_ONE = (Effect.REFUND,)  # effects the batch leaves to the savepoint path (the provider is asked)
LAPSE_MONTHS_AHEAD = 3  # a debit's first month, unpaid, plus three more: the member lapses
MAX_ROUNDS = 4  # a member's fifth event in one batch, and any after it, go one by one


@dataclass(frozen=True)
class Verdict:
    """What an event comes to before anything is written: a final state and note (review, ignored), or an
    outcome to apply to its attempt."""

    state: str | None = None
    note: str | None = None
    provider: Provider | None = None
    parsed: ProviderEvent | None = None
    outcome: EventOutcome | None = None


def debit_key(order_id: str) -> str:
    """A settled debit's payment key: one payment per provider order, whichever path books it."""
    return f"debit:{order_id}"


def debit_fingerprint(order_id: str, amount_idr: int) -> str:
    """What a settled debit's payment was asked for, to tell a redelivery from a different payment."""
    return fingerprint(order_id=order_id, amount=amount_idr)


def verdict(
    event: WebhookEvent, attempt_status: str | None, attempt_amount: int | None, providers: Mapping[str, Provider]
) -> Verdict:
    """The checks every callback passes before it moves an attempt (both paths use these): a configured provider,
    a body it understands (else it raises), an order we sent, the amount we charged, a move forward."""
    provider = providers.get(event.provider)
    if provider is None:
        return Verdict("review", f"provider {event.provider} is not configured")
    parsed = provider.parse(event.raw_body.encode())
    if attempt_status is None:
        return Verdict("review", f"unknown order_id {parsed.order_id}")
    if parsed.amount_idr != attempt_amount:
        return Verdict("review", f"gross_amount {parsed.amount_idr} but we charged {attempt_amount}")
    outcome = apply_event(attempt_status, parsed.status)
    if outcome.effect == Effect.IGNORE:
        return Verdict("ignored", f"{parsed.provider_status} is not newer than {attempt_status}")
    if outcome.effect == Effect.REVIEW:
        return Verdict("review", f"{parsed.provider_status} contradicts {attempt_status}")
    return Verdict(provider=provider, parsed=parsed, outcome=outcome)


@dataclass(frozen=True)
class _Attempt:
    id: int
    order_id: str
    amount_idr: int
    status: str
    request_id: int
    member_id: int
    request_attempts: int
    first_month: Month
    months: int


def lock_batch(session: DbSession, events: Sequence[WebhookEvent]) -> dict[int, Member]:
    """Lock the members the batch's orders belong to, in id order (workers whose batches share members wait for
    each other, never deadlock). Taken before the bulk path's savepoint, so a replay still holds them."""
    order_ids = sorted({e.order_id for e in events if e.order_id})
    return lock_members(
        session,
        select(DebitRequest.member_id)
        .join(DebitAttempt, DebitAttempt.debit_request_id == DebitRequest.id)
        .where(among(session, DebitAttempt.order_id, order_ids)),
    )


def apply_batch(
    session: DbSession,
    events: Sequence[WebhookEvent],
    members: Mapping[int, Member],
    providers: Mapping[str, Provider],
    now: datetime,
    public_base_url: str,
    links: LinkSigner | None = None,
) -> list[WebhookEvent]:
    """Apply the batch's events that can be applied together; return the others, in order, for the one-by-one
    path. Writes nothing for the events returned. The caller holds the events' and the members' locks
    (:func:`lock_batch`) and commits; on any exception it rolls back what this wrote and replays the whole batch
    one by one. The attempts are read here, after the members' locks: another worker's settlement of the same
    order has committed by then.

    A member's events are applied in rounds, his first in the first round, his second in the second (which reads
    what the first wrote), up to MAX_ROUNDS; an event of his that goes one by one takes his later ones with it."""
    attempts = _attempts(session, {e.order_id for e in events if e.order_id})
    rounds: list[list[WebhookEvent]] = []
    seen: Counter[int] = Counter()
    left: list[WebhookEvent] = []
    for event in events:
        attempt = attempts.get(event.order_id or "")
        number = 0 if attempt is None else seen[attempt.member_id]
        if attempt is not None:
            seen[attempt.member_id] += 1
        if number >= MAX_ROUNDS:
            left.append(event)
            continue
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(event)
    branches = {b.id: b for b in session.scalars(select(Branch))}
    holidays = {b.id: holidays_for(session, b, date.min, date.max) for b in branches.values()}
    deferred: set[int] = set()  # members with an event gone one by one: their later events follow it
    for number, round_ in enumerate(rounds):
        if number:  # what the rounds before wrote: attempts' states, members' standings (locked already)
            attempts = _attempts(session, {e.order_id for e in round_ if e.order_id})
            members = lock_members(session, {a.member_id for a in attempts.values()})
        todo: list[WebhookEvent] = []
        for event in round_:
            attempt = attempts.get(event.order_id or "")
            (left if attempt is not None and attempt.member_id in deferred else todo).append(event)
        for event in _apply_round(
            session, todo, attempts, members, branches, holidays, providers, now, public_base_url, links
        ):
            left.append(event)
            attempt = attempts.get(event.order_id or "")
            if attempt is not None:
                deferred.add(attempt.member_id)
    left.sort(key=lambda e: e.id)
    return left


def _attempts(session: DbSession, order_ids: Iterable[str]) -> dict[str, _Attempt]:
    return {
        row.order_id: _Attempt(*row)
        for row in session.execute(
            select(
                DebitAttempt.id,
                DebitAttempt.order_id,
                DebitAttempt.amount_idr,
                DebitAttempt.status,
                DebitAttempt.debit_request_id,
                DebitRequest.member_id,
                DebitRequest.attempts,
                DebitRequest.first_month,
                DebitRequest.months,
            )
            .join(DebitRequest, DebitRequest.id == DebitAttempt.debit_request_id)
            .where(among(session, DebitAttempt.order_id, sorted(order_ids)))
        )
    }


def _apply_round(
    session: DbSession,
    events: Sequence[WebhookEvent],
    attempts: Mapping[str, _Attempt],
    members: Mapping[int, Member],
    branches: Mapping[int, Branch],
    holidays: Mapping[int, set[date]],
    providers: Mapping[str, Provider],
    now: datetime,
    public_base_url: str,
    links: LinkSigner | None,
) -> list[WebhookEvent]:
    """One round: at most one event of each member. Returns the events left for one by one."""
    left: list[WebhookEvent] = []
    finished: list[dict[str, object]] = []  # event rows: state, note
    moves: list[tuple[WebhookEvent, _Attempt, ProviderEvent, Effect]] = []
    for event in events:
        attempt = attempts.get(event.order_id or "")
        try:
            status, amount = (attempt.status, attempt.amount_idr) if attempt else (None, None)
            found = verdict(event, status, amount, providers)
        except Exception as error:  # as the one-by-one path: the event goes to review, the rest go on
            finished.append({"id": event.id, "state": "review", "note": f"could not apply: {error}"[:200]})
            continue
        if found.state is not None:
            finished.append({"id": event.id, "state": found.state, "note": found.note})
        elif found.outcome is None or found.outcome.effect in ONE_BY_ONE:
            left.append(event)
        else:
            assert attempt is not None and found.parsed is not None
            moves.append((event, attempt, found.parsed, found.outcome.effect))

    zones = {b.id: b.timezone for b in branches.values()}
    settling = [members[a.member_id] for _, a, _, effect in moves if effect == Effect.SETTLE]
    held = positions(session, settling, branches, lambda m: local_today(zones[m.branch_id], now))
    bookings: list[Booking] = []
    settled: list[tuple[WebhookEvent, _Attempt, ProviderEvent]] = []
    failures: list[tuple[WebhookEvent, _Attempt, ProviderEvent, Member]] = []
    visits: list[dict[str, object]] = []
    texts: list[dict[str, object]] = []
    attempt_rows: list[dict[str, object]] = []
    for event, attempt, parsed, effect in moves:
        member = members[attempt.member_id]
        if effect == Effect.MARK_PENDING:
            attempt_rows.append(
                {"id": attempt.id, "status": "pending", "provider_transaction_id": parsed.transaction_id}
            )
            finished.append({"id": event.id, "state": "processed", "note": None})
            continue
        if effect == Effect.FAIL:
            failures.append((event, attempt, parsed, member))
            continue
        today = local_today(zones[member.branch_id], now)
        booking = Booking(
            member=member,
            branch=branches[member.branch_id],
            position=held[member.id],
            amount_idr=attempt.amount_idr,
            channel=Channel.AUTO_DEBIT,
            paid_on=today,
            idempotency_key=debit_key(attempt.order_id),
            fingerprint=debit_fingerprint(attempt.order_id, attempt.amount_idr),
            agent_id=None,
            actor_id=None,
            today=today,
        )
        if not bookable(booking):
            left.append(event)
            continue
        bookings.append(booking)
        settled.append((event, attempt, parsed))

    booked = book_payments(session, bookings, now, public_base_url)
    request_rows: list[dict[str, object]] = []
    ended: list[tuple[_Attempt, Member, str]] = []  # debits failed for good: the agent visits, the member hears
    for event, attempt, parsed, member in failures:
        reason = parsed.reason or "failed"
        attempt_rows.append(
            {"id": attempt.id, "status": "failed", "provider_transaction_id": parsed.transaction_id}
            | {"failure_reason": reason[:80]}
        )
        request_rows.append(_failed(attempt, member, reason, local_today(zones[member.branch_id], now), holidays))
        finished.append({"id": event.id, "state": "processed", "note": None})
        if request_rows[-1]["status"] == "failed":
            ended.append((attempt, member, reason))
    texted = [member for _, member, _ in ended if member.phone]
    # their positions for the texts' pay links: two statements for the round (none without a signer)
    linked = positions(session, texted, branches, lambda m: local_today(zones[m.branch_id], now)) if links else {}
    for attempt, member, reason in ended:
        visits.append(
            {
                "member_id": member.id,
                "branch_id": member.branch_id,
                "agent_id": member.agent_id,
                "reason": "debit_failed",
                "source_id": attempt.request_id,
                "note": (
                    f"auto-debit for {attempt.first_month} failed ({reason}) after {attempt.request_attempts} tries"
                )[:200],
                "created_at": utcnow(),
            }
        )
        if member.phone:
            body = debit_failed_text(
                member.id, member.phone, attempt.first_month, attempt.months, reason, linked.get(member.id), links, now
            )
            texts.append(
                {
                    "kind": "debit_failed",
                    "recipient": member.phone,
                    "body": body,
                    "dedupe_key": f"debit_failed:{attempt.request_id}",
                    "created_at": utcnow(),
                    "attempts": 0,
                }
            )
    insert_rows(session, VisitItem, visits)
    insert_rows(session, OutboxMessage, texts, skip_duplicates=True)  # a text queued before is not queued again
    for (event, attempt, parsed), payment in zip(settled, booked, strict=True):
        attempt_rows.append({"id": attempt.id, "status": "settled", "provider_transaction_id": parsed.transaction_id})
        request_rows.append(
            {"id": attempt.request_id, "status": "settled", "payment_id": payment.payment_id, "next_attempt_on": None}
        )
        finished.append({"id": event.id, "state": "processed", "note": None})
    update_rows(session, DebitAttempt, [r | {"updated_at": utcnow()} for r in attempt_rows])
    update_rows(session, DebitRequest, [r | {"updated_at": utcnow()} for r in request_rows])
    update_rows(session, WebhookEvent, [r | {"processed_at": now} for r in finished])
    return left


def _failed(
    attempt: _Attempt, member: Member, reason: str, today: date, holidays: Mapping[int, set[date]]
) -> dict[str, object]:
    """The debit's row after a failed attempt, as services.py ``_attempt_failed`` decides it: retried on the
    bounded schedule while it can succeed before the member would lapse, else failed."""
    lapse_month = attempt.first_month + LAPSE_MONTHS_AHEAD
    first, last = lapse_month.first_day(), lapse_month.last_day()
    lapses_on = due_date(lapse_month, {d for d in holidays[member.branch_id] if first <= d <= last}) + timedelta(days=1)
    retry_on = next_retry_on(today, attempt.request_attempts, reason, lapses_on)
    return {
        "id": attempt.request_id,
        "status": "retry" if retry_on is not None else "failed",
        "next_attempt_on": retry_on,
        "failure_reason": reason[:80],
    }
