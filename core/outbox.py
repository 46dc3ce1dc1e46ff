"""The outbox: texts to members and staff, written in the transaction that caused them, sent by a worker.

Senders are pluggable (``OUTBOX_SENDER``, core/senders.py): ``log`` (the default) writes the text to the log and
marks it sent, so the demo runs offline; ``http`` posts it to an SMS or WhatsApp gateway.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, CursorResult, Index, String, Text, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core import audit
from core.clock import utcnow
from core.extensions import DbSession, Model

log = logging.getLogger(__name__)
# Deliveries that try a text before it is given up (each may make several requests: OUTBOX_GATEWAY_RETRIES). After a
# failed one the text waits retry_delay(attempts): 1, 2, 4 … 60 minutes, so 8 deliveries span about 2 hours.
MAX_ATTEMPTS = 8
CLAIM_SECONDS = 120  # longer than any gateway call; a claim that outlives it was a delivery that died
MAX_BATCHES_PER_RUN = 50  # 10,000 texts a run at the most; the next run (cron's sweep, the next payment) goes on


class OutboxMessage(Model):
    """One text waiting to be sent, or sent."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # receipt, reversal, cash_limit_alert, …
    recipient: Mapped[str] = mapped_column(String(32))  # E.164 phone
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    sender: Mapped[str | None] = mapped_column(String(32))
    # Deliveries that claimed it; MAX_ATTEMPTS means given up (also at once when the gateway refused the text).
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    # A delivery claims a text before it sends it; another delivery leaves it alone until the claim runs out
    # (a worker killed mid-send: the text goes out once more then, which a gateway keyed by id absorbs). After a
    # failed send it holds the time of the next try.
    claimed_until: Mapped[datetime | None]

    # The unsent texts, however long the table of sent ones grows: what each delivery and each metrics scrape reads.
    __table_args__ = (
        Index(
            "ix_outbox_messages_unsent",
            "id",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )


@dataclass(frozen=True)
class OutgoingText:
    """What a sender gets of an outbox row: its id, where it goes, what it says."""

    id: int
    recipient: str
    body: str
    created_at: datetime

    @property
    def idempotency_key(self) -> str:
        """The same for every try of this text, and not reused by another text of a database rebuilt later."""
        return f"iuran-{self.id}-{self.created_at:%Y%m%d%H%M%S}"


class SendFailed(Exception):
    """A send that failed with the gateway's word on what next: ``permanent`` (it refused this text: never again),
    or ``retry_after`` seconds to wait at least. Any other exception from a sender is a failure to try again."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    name: str

    def send(self, text: OutgoingText) -> None:
        """Deliver one text or raise (:class:`SendFailed` when the gateway said why)."""


class LogSender:
    """Writes texts to the log: the default, so nothing leaves the machine."""

    name = "log"

    def send(self, text: OutgoingText) -> None:
        log.info("text to %s: %s", text.recipient, text.body)


def retry_delay(attempts: int) -> timedelta:
    """How long a text waits after its ``attempts``-th delivery failed: 1, 2, 4 … minutes, at most an hour."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def queue_message(
    session: DbSession, kind: str, recipient: str | None, body: str, dedupe_key: str | None = None
) -> bool:
    """Add a text to the caller's transaction; True if queued. Nothing is queued for a member without a
    phone, and a text whose ``dedupe_key`` was queued before is not queued again (re-runs send nothing)."""
    if not recipient:
        return False
    message = OutboxMessage(kind=kind, recipient=recipient, body=body, dedupe_key=dedupe_key)
    if dedupe_key is None:
        session.add(message)
        return True
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return False
    return True


def retry_given_up(
    session: DbSession, now: datetime, *, kind: str | None = None, since: datetime | None = None, dry_run: bool = False
) -> int:
    """Give texts that were given up (MAX_ATTEMPTS deliveries, or refused by the gateway) another round of
    deliveries: ``kind`` only, written ``since`` only; how many. Each keeps its ``last_error`` until it is sent or
    fails again; one audit event names how many and which. For an operator who fixed what failed them (the
    gateway's account, a number corrected by hand), after which the next delivery sends them."""
    query = select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts >= MAX_ATTEMPTS)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    if since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    ids = list(session.scalars(query.order_by(OutboxMessage.id)))
    if dry_run or not ids:
        return len(ids)
    for first in range(0, len(ids), 1000):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids[first : first + 1000]), OutboxMessage.sent_at.is_(None))
            .values(attempts=0, claimed_until=None)
        )
    audit.record(
        session, "outbox.retried", "outbox_message", None, None, texts=len(ids), kind=kind, first_id=ids[0],
        last_id=ids[-1], since=since.isoformat() if since else None, at=now.isoformat(),
    )  # fmt: skip
    session.commit()
    return len(ids)


def deliver_pending(
    session: DbSession, sender: Sender, now: datetime, batch: int = 200, claim_seconds: int = CLAIM_SECONDS
) -> int:
    """Send unsent texts, oldest first, each once however many deliveries run at the same time.

    Each text is claimed (a conditional UPDATE, committed) before it is sent, and marked sent after: two
    delivery jobs on two workers never send the same text, and no lock is held while the gateway answers.
    A failed send keeps the text claimed until its next try (:func:`retry_delay`, or longer when the gateway said
    so), up to MAX_ATTEMPTS deliveries, and ends the run: a gateway that is down is not asked again for every text
    waiting (the next sweep goes on). A text the gateway refused (:class:`SendFailed` ``permanent``, e.g. a
    malformed number) is given up at once. ``now`` is when the run starts; each claim is dated by the time the
    run has taken since, so a long run's later claims do not start out expired.
    """
    started = time.monotonic()
    sent = 0
    after = 0
    for _ in range(MAX_BATCHES_PER_RUN):  # a backlog (texts held up while Redis was away) goes out in one run
        candidates = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.id > after,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.attempts < MAX_ATTEMPTS,
                    _claimable(now + timedelta(seconds=time.monotonic() - started)),
                )
                .order_by(OutboxMessage.id)
                .limit(batch)
            )
        )
        session.commit()
        sent_now, failed = _send_claimed(session, sender, candidates, now, started, claim_seconds)
        sent += sent_now
        if failed or len(candidates) < batch:
            break
        after = candidates[-1]
    return sent


def _send_claimed(
    session: DbSession, sender: Sender, candidates: list[int], now: datetime, started: float, claim_seconds: int
) -> tuple[int, bool]:
    """Claim each text, send it, and mark it sent; stop at the first send that failed for a while (True then)."""
    sent = 0
    for message_id in candidates:
        at = now + timedelta(seconds=time.monotonic() - started)
        claim = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.attempts < MAX_ATTEMPTS,
                _claimable(at),
            )
            .values(claimed_until=at + timedelta(seconds=claim_seconds), attempts=OutboxMessage.attempts + 1)
        )
        session.commit()
        if cast(CursorResult[Any], claim).rowcount != 1:
            continue  # another delivery has it, or sent it
        message = session.get_one(OutboxMessage, message_id)
        text = OutgoingText(message.id, message.recipient, message.body, message.created_at)
        session.commit()  # no transaction open while the gateway answers (on SQLite it would hold the write lock)
        try:
            sender.send(text)
        except Exception as error:  # a gateway can fail in any way; record it and try again later
            message.last_error = str(error)[:255]
            if isinstance(error, SendFailed) and error.permanent:
                log.warning("outbox %s refused by the gateway, given up: %s", message.id, message.last_error)
                message.attempts = MAX_ATTEMPTS
                message.claimed_until = None
                session.commit()
                continue
            wait = retry_delay(message.attempts)
            if isinstance(error, SendFailed) and error.retry_after:
                wait = max(wait, timedelta(seconds=error.retry_after))
            message.claimed_until = now + timedelta(seconds=time.monotonic() - started) + wait
            log.warning("outbox %s not sent (try %s), again in %s: %s", message.id, message.attempts, wait, error)
            session.commit()
            return sent, True
        message.sent_at = now + timedelta(seconds=time.monotonic() - started)
        message.sender = sender.name
        sent += 1
        session.commit()
    return sent, False


def _claimable(at: datetime) -> ColumnElement[bool]:
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < at)
