"""Remittance files and the allocations (and reversals) each one carried, and each branch's scan mark."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import Model

LINE_KINDS = ("payment", "reversal")


class RemittanceFile(Model):
    """One file of a branch for the national system: numbered 1, 2, … per branch, never changed once made.

    The migration adds triggers (both databases) that refuse DELETE, and any UPDATE of a made file other
    than its acknowledgement; a file is made in one transaction (inserted, its lines written, then filled)."""

    __tablename__ = "remittance_files"
    __table_args__ = (
        UniqueConstraint("branch_id", "sequence"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint("line_count >= 0", name="line_count_non_negative"),
        CheckConstraint(
            "(acknowledged_at IS NULL AND acknowledged_by_user_id IS NULL AND acknowledgement_reference IS NULL)"
            " OR (acknowledged_at IS NOT NULL AND acknowledged_by_user_id IS NOT NULL"
            " AND acknowledgement_reference IS NOT NULL)",
            name="acknowledgement_whole",
        ),
        CheckConstraint("(content IS NULL) = (sha256 IS NULL)", name="content_with_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    sequence: Mapped[int]
    business_date: Mapped[date]  # the branch's day whose end made it (its local date when made)
    name: Mapped[str] = mapped_column(String(64))  # <branch code>-<sequence, 6 digits>-<YYYYMMDD>.csv
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    made_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))  # None: the day-end job
    line_count: Mapped[int] = mapped_column(default=0)
    total_idr: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    body_sha256: Mapped[str | None] = mapped_column(String(64))  # of the header and lines: the trailer's checksum
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the whole file as downloaded
    size_bytes: Mapped[int] = mapped_column(default=0)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    acknowledgement_reference: Mapped[str | None] = mapped_column(String(64))


class RemittanceLine(Model):
    """An allocation (a settled month) a file carried, or its reversal carried by a later file: each at most once."""

    __tablename__ = "remittance_lines"
    __table_args__ = (
        UniqueConstraint("allocation_id", "kind"),
        CheckConstraint("kind IN ('payment', 'reversal')", name="kind_known"),
        CheckConstraint(
            "(kind = 'payment' AND amount_idr > 0) OR (kind = 'reversal' AND amount_idr < 0)", name="amount_signed"
        ),
        Index("ix_remittance_lines_branch_kind", "branch_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("remittance_files.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    allocation_id: Mapped[int] = mapped_column(ForeignKey("payment_allocations.id"))
    kind: Mapped[str] = mapped_column(String(8))
    amount_idr: Mapped[int]


class RemittanceMark(Model):
    """Per branch: every allocation with an id up to ``covered_through`` was visible to a file's scan (so later
    scans start above it), and the row a generator locks so two never make a branch's file at once."""

    __tablename__ = "remittance_marks"

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), primary_key=True, autoincrement=False)
    covered_through: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
