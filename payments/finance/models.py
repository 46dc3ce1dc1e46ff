"""Branch finance's tables: bank statements, their lines and the matches proposed for them; regency targets."""

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
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import BigInt, Model


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
    bank: Mapped[str] = mapped_column(String(32))  # the column mapping used (payments/finance/statements.py)
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
    # Why it stays unmatched (or how it was matched), as a code and its figures, worded where shown
    # (payments/finance/texts.py line_note): no_match, many_by_reference (note_count deposits),
    # many_by_amount (note_count deposits), declared_differs (the deposit's note_amount_idr),
    # provider_payout (note_count debits settled on note_on).
    note_code: Mapped[str | None] = mapped_column(String(24))
    note_count: Mapped[int | None]
    note_amount_idr: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    note_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(String(200))  # finance's reason for a match by hand or an ignore
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


class RegencyTarget(Model):
    """The working population a branch aims to cover in a regency or city, for the coverage report."""

    __tablename__ = "regency_targets"
    __table_args__ = (
        UniqueConstraint("branch_id", "regency_code", "year"),
        CheckConstraint("target_population > 0", name="target_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    regency_code: Mapped[str] = mapped_column(String(4))
    year: Mapped[int]
    target_population: Mapped[int] = mapped_column(BigInt)  # informal workers to cover
    source: Mapped[str | None] = mapped_column(String(200))
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
