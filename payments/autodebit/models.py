"""Auto-debit's tables: mandates and their history, debit requests and attempts, callbacks, settlements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import Model, MonthType
from core.months import Month


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
    """A line of a provider's settlement report, to match against our settled debits.

    It belongs to the branch of its order's member: one merchant account's report holds lines of several
    branches, and a branch's import stores only its own, so another branch's upload never makes a line here
    a duplicate (the branch is in the unique key)."""

    __tablename__ = "settlement_lines"
    __table_args__ = (UniqueConstraint("provider", "branch_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(80))
    amount_idr: Mapped[int]
    settled_on: Mapped[date]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The bank statement line of the provider's payout that brought this money to the branch's account.
    statement_line_id: Mapped[int | None] = mapped_column(ForeignKey("statement_lines.id"), index=True)


class SettlementImport(Model):
    """A settlement report too large to import within the request: the file waits here (not on a disk: a
    worker may run on another host) until an RQ job imports it chunk by chunk, committing its progress."""

    __tablename__ = "settlement_imports"
    __table_args__ = (
        # NULLs never collide in a unique key, so an admin's import (every branch) has the scope 'all'.
        UniqueConstraint("provider", "scope", "file_sha256"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'invalid', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)  # None: an admin's
    scope: Mapped[str] = mapped_column(String(16))  # 'branch:<id>' or 'all'
    file_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # dropped once imported (or refused)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows_total: Mapped[int] = mapped_column(default=0)  # known once the worker has read the file
    rows_done: Mapped[int] = mapped_column(default=0)
    new_lines: Mapped[int] = mapped_column(default=0)  # committed with each chunk: a resumed run counts on
    report: Mapped[str | None] = mapped_column(Text)  # JSON: the final SettlementReport
    errors: Mapped[str | None] = mapped_column(Text)  # JSON: the rows refused, by row and field
    uploaded_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
