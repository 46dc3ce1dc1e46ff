"""Money: the payment ledger, each payment's allocation to months, and receipts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.months import Month
from core.clock import utcnow
from extensions import Model, MonthType


class Channel(StrEnum):
    """How the money came: agent's cash, auto-debit, a sponsor's bulk payment, or a bank transfer."""

    CASH = "cash"
    AUTO_DEBIT = "auto_debit"
    SPONSOR = "sponsor"
    BANK_TRANSFER = "bank_transfer"


class PaymentStatus(StrEnum):
    SETTLED = "settled"
    REVERSED = "reversed"


class Payment(Model):
    """One payment for one member; never deleted or edited, only reversed."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        CheckConstraint("credit_idr >= 0 AND credit_idr <= amount_idr", name="credit_within_amount"),
        CheckConstraint("channel IN ('cash', 'auto_debit', 'sponsor', 'bank_transfer')", name="channel_known"),
        CheckConstraint("status IN ('settled', 'reversed')", name="status_known"),
        Index("ix_payments_member_paid_on", "member_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(16))
    amount_idr: Mapped[int]
    credit_idr: Mapped[int] = mapped_column(default=0)  # what no month took: held against the next month
    paid_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.SETTLED)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # Anything that can arrive twice carries a key; the unique index is the final guard.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    reversed_at: Mapped[datetime | None]
    reversed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reversal_reason: Mapped[str | None] = mapped_column(String(200))

    allocations: Mapped[list[PaymentAllocation]] = relationship(back_populates="payment")
    receipt: Mapped[Receipt | None] = relationship(back_populates="payment")


class PaymentAllocation(Model):
    """The part of a payment that settles one month; a month is settled at most once while not reversed."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        Index(
            "uq_payment_allocations_member_month_live",
            "member_id",
            "month",
            unique=True,
            sqlite_where=text("NOT reversed"),
            postgresql_where=text("NOT reversed"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    month: Mapped[Month] = mapped_column(MonthType())
    amount_idr: Mapped[int]
    reversed: Mapped[bool] = mapped_column(default=False)

    payment: Mapped[Payment] = relationship(back_populates="allocations")


class Receipt(Model):
    """The tanda bukti penerimaan iuran: a number for people, and an unguessable code to verify it."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="receipt")


class Deposit(Model):
    """A setoran: cash an agent paid into the branch's bank account, with the bank's reference."""

    __tablename__ = "deposits"
    __table_args__ = (CheckConstraint("amount_idr > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    amount_idr: Mapped[int]
    deposited_on: Mapped[date]
    bank_reference: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    recorded_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class BranchAlert(Model):
    """Something a supervisor must act on, such as an agent holding too much cash for too long."""

    __tablename__ = "branch_alerts"
    __table_args__ = (UniqueConstraint("kind", "agent_id", "raised_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[date]
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class Mandate(Model):
    """A member's authorisation for a provider to debit the contribution (auto-debit, autodebet)."""

    __tablename__ = "mandates"
    __table_args__ = (
        CheckConstraint("months_per_debit IN (1, 3, 6, 12)", name="months_per_debit_offered"),
        CheckConstraint(
            "status IN ('pending_authorisation', 'active', 'paused', 'cancelled', 'expired', 'failed')",
            name="status_known",
        ),
        # One live mandate per member: a second one waits until the first is cancelled or ends.
        Index(
            "uq_mandates_member_live",
            "member_id",
            unique=True,
            sqlite_where=text("status IN ('pending_authorisation', 'active', 'paused')"),
            postgresql_where=text("status IN ('pending_authorisation', 'active', 'paused')"),
        ),
        UniqueConstraint("provider", "provider_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(80))
    account_label: Mapped[str] = mapped_column(String(80))  # e.g. "BRI ****1234" or "GoPay 0812****"
    months_per_debit: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(24))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MandateStatusChange(Model):
    """Every change of a mandate's status, with its cause."""

    __tablename__ = "mandate_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    cause: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class DebitRequest(Model):
    """One month's (or 3/6/12 months') debit for a mandate; retried on a bounded schedule until it ends."""

    __tablename__ = "debit_requests"
    __table_args__ = (
        UniqueConstraint("mandate_id", "first_month"),  # a re-run debit job creates nothing twice
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('due', 'sent', 'retry', 'settled', 'failed', 'cancelled', 'reversed')", name="status_known"
        ),
        Index("ix_debit_requests_status_next", "status", "next_attempt_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    first_month: Mapped[Month] = mapped_column(MonthType())
    months: Mapped[int]
    amount_idr: Mapped[int]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="due")
    next_attempt_on: Mapped[date | None]
    attempts: Mapped[int] = mapped_column(default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(80))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DebitAttempt(Model):
    """One charge sent to the provider; its ``order_id`` is what the provider's callbacks name."""

    __tablename__ = "debit_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    debit_request_id: Mapped[int] = mapped_column(ForeignKey("debit_requests.id"), index=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    attempt_no: Mapped[int]
    amount_idr: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="created")  # created, pending, settled, failed, refunded
    failure_reason: Mapped[str | None] = mapped_column(String(80))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookEvent(Model):
    """A provider's callback, stored raw as it arrived; processed in batches by a worker."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_key"),  # a duplicate delivery is a no-op
        Index("ix_webhook_events_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(160))  # the provider's transaction id and status
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    raw_body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="received")  # received, processed, ignored, review
    note: Mapped[str | None] = mapped_column(String(200))
    processed_at: Mapped[datetime | None]


class SettlementLine(Model):
    """A line of a provider's settlement report, to match against our settled debits."""

    __tablename__ = "settlement_lines"
    __table_args__ = (UniqueConstraint("provider", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(80))
    amount_idr: Mapped[int]
    settled_on: Mapped[date]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class VisitItem(Model):
    """A member an agent should visit: a failed auto-debit now, members in arrears later."""

    __tablename__ = "visit_items"
    __table_args__ = (UniqueConstraint("reason", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # debit_failed
    source_id: Mapped[int]  # the debit request (or whatever the reason names)
    note: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
