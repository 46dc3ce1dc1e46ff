"""The outbox: texts to members and staff, written in the transaction that caused them, sent by a worker.

Senders are pluggable (``OUTBOX_SENDER``): ``log`` (the default) writes the text to the log and marks it
sent, so the demo runs offline; a real SMS or WhatsApp gateway is one more class with ``send``.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, CursorResult, String, Text, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import DbSession, Model

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
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
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    # A delivery claims a text before it sends it; another delivery leaves it alone until the claim runs out
    # (a worker killed mid-send: the text goes out once more then, which a gateway keyed by id absorbs).
    claimed_until: Mapped[datetime | None]


class Sender(Protocol):
    name: str

    def send(self, recipient: str, body: str) -> None:
        """Deliver one text or raise."""


class LogSender:
    """Writes texts to the log: the default, so nothing leaves the machine."""

    name = "log"

    def send(self, recipient: str, body: str) -> None:
        log.info("text to %s: %s", recipient, body)


SENDERS: dict[str, type[Sender]] = {"log": LogSender}


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


def deliver_pending(
    session: DbSession, sender: Sender, now: datetime, batch: int = 200, claim_seconds: int = CLAIM_SECONDS
) -> int:
    """Send unsent texts, oldest first, each once however many deliveries run at the same time.

    Each text is claimed (a conditional UPDATE, committed) before it is sent, and marked sent after: two
    delivery jobs on two workers never send the same text, and no lock is held while the gateway answers.
    A failed send releases its claim, so the next delivery tries again (up to MAX_ATTEMPTS). ``now`` is when
    the run starts; each claim is dated by the time the run has taken since, so a long run's later claims
    do not start out expired.
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
        sent += _send_claimed(session, sender, candidates, now, started, claim_seconds)
        if len(candidates) < batch:
            break
        after = candidates[-1]
    return sent


def _send_claimed(
    session: DbSession, sender: Sender, candidates: list[int], now: datetime, started: float, claim_seconds: int
) -> int:
    """Claim each text, send it, and mark it sent (or release it when the gateway failed)."""
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
        try:
            sender.send(message.recipient, message.body)
        except Exception as error:  # a gateway can fail in any way; record it and try again later
            message.last_error = str(error)[:255]
            message.claimed_until = None
        else:
            message.sent_at = now + timedelta(seconds=time.monotonic() - started)
            message.sender = sender.name
            sent += 1
        session.commit()
    return sent


def _claimable(at: datetime) -> ColumnElement[bool]:
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < at)
