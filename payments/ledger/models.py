"""Money: the payment ledger, each payment's allocation to months, and receipts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import Model, MonthType
from core.months import Month


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
    # A sponsor's bulk payment is one payment per member (its breakdown), all pointing at it.
    sponsor_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("sponsor_payments.id", use_alter=True), index=True
    )

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


class StatementImportStatus(StrEnum):
    QUEUED = "queued"
    STORING = "storing"
    MATCHING = "matching"
    DONE = "done"
    REFUSED = "refused"  # a row cannot be read: nothing imported
    FAILED = "failed"  # the run broke off: uploading the same file again resumes it


class StatementImport(Model):
    """One bank statement file imported for a branch's account; the same file imported again is this row."""

    __tablename__ = "statement_imports"
    __table_args__ = (
        UniqueConstraint("branch_id", "file_sha256"),
        CheckConstraint(
            "status IN ('queued', 'storing', 'matching', 'done', 'refused', 'failed')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    bank: Mapped[str] = mapped_column(String(32))  # the column mapping used (payments/statements.py)
    filename: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    first_booked_on: Mapped[date | None]
    last_booked_on: Mapped[date | None]
    credit_lines: Mapped[int] = mapped_column(default=0)
    new_lines: Mapped[int] = mapped_column(default=0)  # credits not already known from an overlapping file
    debit_lines: Mapped[int] = mapped_column(default=0)  # money going out: not contributions, skipped
    skipped_credits: Mapped[int] = mapped_column(default=0)  # credits with sen (interest): never contributions
    imported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A large file is imported by a worker: queued, storing its lines, matching them, then done; refused when a
    # row cannot be read (``errors``), failed when the run broke off (the same upload resumes it).
    status: Mapped[str] = mapped_column(String(16), default=StatementImportStatus.DONE, server_default="done")
    lines_total: Mapped[int] = mapped_column(default=0, server_default="0")  # credit lines, once the file is read
    lines_done: Mapped[int] = mapped_column(default=0, server_default="0")  # of the current stage
    errors: Mapped[str | None] = mapped_column(Text)  # JSON: the rows that cannot be read, or why it failed
    finished_at: Mapped[datetime | None]


class StatementUpload(Model):
    """A large statement file waiting for its worker, in the database (a worker may run on another host);
    deleted once its import is done or refused."""

    __tablename__ = "statement_uploads"

    import_id: Mapped[int] = mapped_column(ForeignKey("statement_imports.id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class StatementLineStatus(StrEnum):
    UNMATCHED = "unmatched"
    MATCHED = "matched"
    IGNORED = "ignored"  # a credit that is not contribution money (interest, a transfer), with a reason


class StatementLine(Model):
    """A credit on the branch's bank account: an agent's deposit, a provider's payout, or something to review."""

    __tablename__ = "statement_lines"
    __table_args__ = (
        # The same credit in two overlapping statement files is one line: its content and its occurrence
        # number among identical lines of the same day.
        UniqueConstraint("branch_id", "bank", "line_key"),
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        CheckConstraint("status IN ('unmatched', 'matched', 'ignored')", name="status_known"),
        CheckConstraint(
            "match_kind IS NULL OR match_kind IN ('reference', 'amount_date', 'settlement', 'manual')",
            name="match_kind_known",
        ),
        Index("ix_statement_lines_branch_status", "branch_id", "status", "booked_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("statement_imports.id"), index=True)
    bank: Mapped[str] = mapped_column(String(32))
    line_key: Mapped[str] = mapped_column(String(64))
    row_number: Mapped[int]  # in the file it first came from
    booked_on: Mapped[date]
    amount_idr: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))  # an APBD transfer
    description: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=StatementLineStatus.UNMATCHED)
    match_kind: Mapped[str | None] = mapped_column(String(16))
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"), unique=True)
    provider: Mapped[str | None] = mapped_column(String(32))  # a provider's payout: its settlement lines
    note: Mapped[str | None] = mapped_column(String(200))  # why it is unmatched, or why it was ignored
    matched_at: Mapped[datetime | None]


class MatchProposal(Model):
    """A manual match (or ignore) of a statement line, proposed by one person and decided by another."""

    __tablename__ = "match_proposals"
    __table_args__ = (
        CheckConstraint("action IN ('deposit', 'settlement', 'ignore')", name="action_known"),
        CheckConstraint("decision IS NULL OR decision IN ('approved', 'rejected')", name="decision_known"),
        CheckConstraint("decided_by_user_id IS NULL OR decided_by_user_id <> proposed_by_user_id", name="four_eyes"),
        # One open proposal per line: a second one waits until the first is decided.
        Index(
            "uq_match_proposals_line_open",
            "statement_line_id",
            unique=True,
            sqlite_where=text("decision IS NULL"),
            postgresql_where=text("decision IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_line_id: Mapped[int] = mapped_column(ForeignKey("statement_lines.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"))
    provider: Mapped[str | None] = mapped_column(String(32))
    settled_on: Mapped[date | None]  # with provider: the payout's settlement lines of that day
    reason: Mapped[str] = mapped_column(String(200))
    proposed_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(200))


class BatchStatus(StrEnum):
    """closed (the day ended: finance reviews) → approved (locked) or returned (to the agent, with a reason)."""

    CLOSED = "closed"
    RETURNED = "returned"
    APPROVED = "approved"


class DailyBatch(Model):
    """An agent's day for branch finance: cash collected, deposits declared, and what the bank shows of them."""

    __tablename__ = "daily_batches"
    __table_args__ = (
        UniqueConstraint("agent_id", "business_date"),
        CheckConstraint("status IN ('closed', 'returned', 'approved')", name="status_known"),
        Index("ix_daily_batches_branch_date", "branch_id", "business_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    business_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.CLOSED)
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written when finance approves, and never again: the figures the approval was given on.
    approved_snapshot: Mapped[str | None] = mapped_column(Text)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SponsorPayment(Model):
    """One bulk payment by a sponsor: one receipt, and one payment per member as its breakdown."""

    __tablename__ = "sponsor_payments"
    __table_args__ = (CheckConstraint("amount_idr > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("sponsor_programmes.id"), index=True)
    amount_idr: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    members: Mapped[int]
    member_months: Mapped[int]
    first_month: Mapped[Month] = mapped_column(MonthType())
    last_month: Mapped[Month] = mapped_column(MonthType())
    paid_on: Mapped[date]
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    branch_arrangement: Mapped[bool] = mapped_column(default=False)  # a late payment that settles a lapse
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
