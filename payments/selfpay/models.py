"""Self-service tables: one-time codes, members' web sessions, and the charges a member pays himself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import Model, MonthType
from core.months import Month


class MemberCode(Model):
    """A one-time code asked for at /peserta: sent by text to the member's phone, kept only as a digest.

    Every request makes a row, also for a KPJ or NIK that does not exist or has no phone (``member_id`` NULL, no
    text sent): the answer and the work are the same either way, so nothing tells a stranger which exist. The
    browser holds the ``challenge`` (a random token, kept here as a digest), never the member's id."""

    __tablename__ = "member_codes"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_digest: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberSession(Model):
    """A member's signed-in half hour at /peserta, separate from staff's web sessions; the cookie holds the token,
    the table its digest, so a session can be ended on the server."""

    __tablename__ = "member_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class SelfCharge(Model):
    """A charge a member pays himself at the provider: a virtual account or a QRIS code for ``months`` months from
    ``first_month``, open until ``expires_at``. Its ``order_id`` (SP-…) is what the provider's callbacks name.

    Made from the member's page now; later from a signed pay link (member, months) in a reminder, so it holds the
    member and the months, not the session (``origin`` says which)."""

    __tablename__ = "self_charges"
    __table_args__ = (
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        CheckConstraint("months > 0", name="months_positive"),
        CheckConstraint("method IN ('virtual_account', 'qris')", name="method_known"),
        CheckConstraint(
            "status IN ('created', 'pending', 'settled', 'expired', 'failed', 'review', 'refunded', 'rejected')",
            name="status_known",
        ),
        Index("ix_self_charges_member_status", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    order_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # SP-<id>, set once the row has its id
    provider: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(16))
    first_month: Mapped[Month] = mapped_column(MonthType())
    months: Mapped[int]
    amount_idr: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="created")
    origin: Mapped[str] = mapped_column(String(16), default="page")  # page (signed in), later link (a pay link)
    va_bank: Mapped[str | None] = mapped_column(String(16))
    va_number: Mapped[str | None] = mapped_column(String(40))
    qr_string: Mapped[str | None] = mapped_column(Text)
    provider_transaction_id: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[datetime]
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboundText(Model):
    """A text a member's phone (or anyone's) sent to the branch's number, as the SMS gateway's signed webhook passed
    it on: kept once per gateway message id, so a redelivery changes nothing. ``member_id`` is the member a ``CEK``
    enquiry named, if one exists; ``outcome`` what was done: received (stored, waiting for the worker that answers
    texts), answered (to the phone on record), limited (the member, the sender or the gateway had its answers for
    the day), or ignored (not an enquiry, no such member, no phone). Purged after INBOUND_TEXTS_KEEP_DAYS."""

    __tablename__ = "inbound_texts"
    __table_args__ = (
        UniqueConstraint("provider", "message_id"),
        CheckConstraint("outcome IN ('received', 'answered', 'limited', 'ignored')", name="outcome_known"),
        Index("ix_inbound_texts_sender_received_at", "sender", "received_at"),  # a sender's answers of the day
        Index("ix_inbound_texts_received_at", "received_at"),  # the gateway's answers of the day; the purge
        Index("ix_inbound_texts_outcome", "outcome"),  # the texts waiting for an answer
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(100))
    sender: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(String(320))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
