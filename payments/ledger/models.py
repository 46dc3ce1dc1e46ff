"""Money: the payment ledger, receipts, deposits, branch alerts and agents' daily batches."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.members.models import PaymentAllocation
from core.clock import utcnow
from core.extensions import Model
from organisation.models import Agent


class Channel(StrEnum):
    """How the money came: agent's cash, auto-debit, a sponsor's bulk payment, or a bank transfer; or ``imported``:
    months the member paid to the national system before his branch moved him into iuran (collection/national).
    An imported row is history, not money iuran collected: no receipt, no agent, no cash, no batch, no incentive,
    no collection report, not in the remittance to the national system, and it cannot be reversed."""

    CASH = "cash"
    AUTO_DEBIT = "auto_debit"
    SPONSOR = "sponsor"
    BANK_TRANSFER = "bank_transfer"
    IMPORTED = "imported"
    VIRTUAL_ACCOUNT = "virtual_account"  # the member paid a charge himself, to a bank virtual account (selfpay)
    QRIS = "qris"  # the member paid a charge himself, by scanning its QRIS code (selfpay)


class PaymentStatus(StrEnum):
    SETTLED = "settled"
    REVERSED = "reversed"


class Payment(Model):
    """One payment for one member; never deleted or edited, only reversed."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        CheckConstraint("credit_idr >= 0 AND credit_idr <= amount_idr", name="credit_within_amount"),
        CheckConstraint(
            "channel IN ('cash', 'auto_debit', 'sponsor', 'bank_transfer', 'imported', 'virtual_account', 'qris')",
            name="channel_known",
        ),
        CheckConstraint("status IN ('settled', 'reversed')", name="status_known"),
        Index("ix_payments_member_paid_on", "member_id", "paid_on"),
        # An agent's settled cash in the order his cash position runs through it (payments/ledger/recording.py),
        # with the amount, so PostgreSQL reads it from the index alone, without a sort; SQLite has no INCLUDE.
        Index(
            "ix_payments_agent_settled_cash",
            "agent_id",
            "paid_on",
            "recorded_at",
            "id",
            postgresql_include=["amount_idr"],
            postgresql_where=text("channel = 'cash' AND status = 'settled'"),
            sqlite_where=text("channel = 'cash' AND status = 'settled'"),
        ),
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

    allocations: Mapped[list[PaymentAllocation]] = relationship()
    receipt: Mapped[Receipt | None] = relationship(back_populates="payment")


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
    __table_args__ = (
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        # Finance's correction only ever lowers a deposit, to what the bank credited (payments/finance/corrections.py)
        CheckConstraint("declared_idr IS NULL OR declared_idr > amount_idr", name="correction_lowers"),
        # An agent's deposits, with the amount: on PostgreSQL his cash position sums them from the index alone.
        Index("ix_deposits_agent_id", "agent_id", postgresql_include=["amount_idr"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    amount_idr: Mapped[int]
    deposited_on: Mapped[date]
    bank_reference: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    recorded_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A short deposit corrected by finance: ``amount_idr`` became what the bank credited; what the agent declared
    # is kept here, written once (None: never corrected). The agent's cash totals follow through their trigger.
    declared_idr: Mapped[int | None]
    corrected_at: Mapped[datetime | None]
    correction_reason: Mapped[str | None] = mapped_column(String(300))


class AgentCashTotal(Model):
    """An agent's settled cash and his deposits, each as one kept total: his cash on hand is their difference.

    Written by the database alone: triggers on payments and deposits (migration 0027_agent_cash_totals) add and
    take away every settled cash payment and every deposit in the transaction that writes it, whoever writes it.
    Never set these columns from Python. An agent with neither cash nor deposits has no row (totals of zero)."""

    __tablename__ = "agent_cash_totals"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True, autoincrement=False)
    collected_idr: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), server_default="0")
    deposited_idr: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), server_default="0")


class BranchAlert(Model):
    """Something a supervisor must act on, such as an agent holding too much cash for too long."""

    __tablename__ = "branch_alerts"
    __table_args__ = (UniqueConstraint("kind", "agent_id", "raised_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    kind: Mapped[str] = mapped_column(String(40))
    # A cash_limit alert's figures, worded where shown (payments/ledger/texts.py alert_text): the cash the agent
    # held, and when it is overdue, its oldest day and that day's deadline.
    held_idr: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    oldest_on: Mapped[date | None]
    due_by: Mapped[date | None]
    message: Mapped[str | None] = mapped_column(Text)  # an alert of before its figures were stored: its words
    raised_on: Mapped[date]
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    agent: Mapped[Agent | None] = relationship(lazy="selectin", viewonly=True)


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
    # The agent's answer to a returned day (payments/finance/answers.py): the batch goes back to finance with it.
    answer_note: Mapped[str | None] = mapped_column(String(300))
    answered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
