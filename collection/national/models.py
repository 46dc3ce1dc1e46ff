"""A national export's import into a branch, and the members each import brought in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import Model


class NationalImport(Model):
    """An export file of the national system imported into a branch, with its outcome per row; the same file for
    the same branch again is this row."""

    __tablename__ = "national_imports"
    __table_args__ = (
        UniqueConstraint("branch_id", "file_sha256"),
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)  # the upload's, from the API
    status: Mapped[str] = mapped_column(String(8), default="running")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)  # progress of a running import
    created: Mapped[int] = mapped_column(default=0)
    existing: Mapped[int] = mapped_column(default=0)  # the NIK is a member of iuran already: reported, not added
    unchanged: Mapped[int] = mapped_column(default=0)  # imported before from the national system
    rejected: Mapped[int] = mapped_column(default=0)
    report: Mapped[str | None] = mapped_column(Text)  # JSON: per row, its outcome and the reason
    imported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class NationalMember(Model):
    """A member who came from the national system: which import brought him, from which row, and the payment
    (channel ``imported``) that holds his settled months, if any were paid."""

    __tablename__ = "national_members"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("national_imports.id"), index=True)
    row: Mapped[int]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
