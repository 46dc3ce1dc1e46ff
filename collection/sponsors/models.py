"""Sponsors' tables: sponsors, their programmes and members, the lists imported and the bulk payments made."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import BigInt, Model, MonthType
from core.months import Month


class Sponsor(Model):
    """Who pays for vulnerable workers for a while: a province, regency or city government (APBD), or a donor."""

    __tablename__ = "sponsors"
    __table_args__ = (
        UniqueConstraint("kind", "name"),
        CheckConstraint("kind IN ('province', 'regency', 'city', 'donor')", name="kind_known"),
        CheckConstraint("kind = 'donor' OR region_code IS NOT NULL", name="government_has_region"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    region_code: Mapped[str | None] = mapped_column(String(4))  # province (2 digits) or regency/city (4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SponsorProgramme(Model):
    """A sponsor's programme in one branch: a period of months, a package, a budget, and its members."""

    __tablename__ = "sponsor_programmes"
    __table_args__ = (
        CheckConstraint("months BETWEEN 1 AND 24", name="months_range"),
        CheckConstraint("budget_idr > 0", name="budget_positive"),
        CheckConstraint("package IN ('JKK+JKM', 'JKK+JKM+JHT')", name="package_known"),
        CheckConstraint("status IN ('open', 'ended')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. BASEL-APBD-2025
    name: Mapped[str] = mapped_column(String(160))
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    package: Mapped[str] = mapped_column(String(16))
    first_month: Mapped[Month] = mapped_column(MonthType())
    months: Mapped[int]
    budget_idr: Mapped[int] = mapped_column(BigInt)
    status: Mapped[str] = mapped_column(String(8), default="open")
    ended_on: Mapped[date | None]  # when its members became self-paying (notices and visits sent)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def last_month(self) -> Month:
        return self.first_month + (self.months - 1)


class ProgrammeMember(Model):
    """A member in a programme; added mid-year (APBD Perubahan), he is covered from his own first month."""

    __tablename__ = "programme_members"
    __table_args__ = (UniqueConstraint("programme_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("sponsor_programmes.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    first_month: Mapped[Month] = mapped_column(MonthType())
    added_on: Mapped[date]
    import_id: Mapped[int | None] = mapped_column(ForeignKey("sponsor_imports.id"))
    created_member: Mapped[bool] = mapped_column(default=False)  # enrolled by the import, not a member before
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SponsorImport(Model):
    """A bulk enrolment file for a programme, with its outcome per row; the same file again is this row."""

    __tablename__ = "sponsor_imports"
    __table_args__ = (
        UniqueConstraint("programme_id", "file_sha256"),
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("sponsor_programmes.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="running")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)  # progress of a running import
    created: Mapped[int] = mapped_column(default=0)
    sponsored: Mapped[int] = mapped_column(default=0)  # already members, now in the programme
    unchanged: Mapped[int] = mapped_column(default=0)  # already in the programme
    rejected: Mapped[int] = mapped_column(default=0)
    report: Mapped[str | None] = mapped_column(Text)  # JSON: per row, its outcome and the reason
    imported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


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
