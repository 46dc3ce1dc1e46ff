"""Members and what they owe: members, their membership periods and status history, the rate table, holidays."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.members.arrears import MemberStatus
from core.clock import utcnow
from core.extensions import Model, MonthType
from core.months import Month


class Member(Model):
    """A BPU participant (peserta): one per NIK across all branches."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("length(nik) = 16", name="nik_16_digits"),
        CheckConstraint("bracket BETWEEN 1 AND 33", name="bracket_known"),
        CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
        CheckConstraint("sector IN ('transport', 'other')", name="sector_known"),
        CheckConstraint("package IN ('JKK+JKM', 'JKK+JKM+JHT')", name="package_known"),
        CheckConstraint("status IN ('active', 'in_arrears', 'lapsed')", name="status_known"),
        CheckConstraint("declared_income_idr >= 0", name="income_non_negative"),
        Index("ix_members_branch_status", "branch_id", "status"),
        Index("ix_members_branch_id_id", "branch_id", "id"),  # the reconciliation walks a branch by id range
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    kpj: Mapped[str | None] = mapped_column(String(11), unique=True)  # assigned right after insert
    name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(16), index=True)  # E.164, +628…
    occupation: Mapped[str] = mapped_column(String(80))
    village: Mapped[str | None] = mapped_column(String(80))  # kelurahan/desa, as a sponsor's list gives it
    sector: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(String(6))  # from the NIK: place of first registration
    declared_income_idr: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    bracket: Mapped[int]
    package: Mapped[str] = mapped_column(String(16))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    enrolled_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", use_alter=True), index=True)
    enrolled_on: Mapped[date]
    # The standing as last derived (the reconciliation re-derives it from payments; these are its cache).
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE)
    first_month: Mapped[Month] = mapped_column(MonthType())  # first month owed in the current period
    paid_through: Mapped[Month | None] = mapped_column(MonthType())
    period_started_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    name_keys: Mapped[list[MemberNameKey]] = relationship(cascade="all, delete-orphan")


class MemberNameKey(Model):
    """One phonetic key per name token: the index behind misspelling-tolerant name search."""

    __tablename__ = "member_name_keys"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class MembershipPeriod(Model):
    """A protection period; a payment after a lapse opens a new one (domain.md §3)."""

    __tablename__ = "membership_periods"
    __table_args__ = (UniqueConstraint("member_id", "started_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    started_on: Mapped[date]
    first_month: Mapped[Month] = mapped_column(MonthType())
    ended_on: Mapped[date | None]
    end_cause: Mapped[str | None] = mapped_column(String(120))


class MemberStatusChange(Model):
    """Every change of a member's status, with its business date and cause."""

    __tablename__ = "member_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_on: Mapped[date]
    cause: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateScheduleRow(Model):
    """One effective-dated version of the contribution table (PP 44/2015 Lampiran II and its successors)."""

    __tablename__ = "rate_schedules"
    __table_args__ = (
        CheckConstraint("jkk_rate_bp > 0 AND jht_rate_bp > 0 AND jkm_flat_idr > 0", name="rates_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[Month] = mapped_column(MonthType(), unique=True)
    effective_to: Mapped[Month | None] = mapped_column(MonthType())
    jkk_rate_bp: Mapped[int]  # basis points of the base: 100 = 1%
    jkm_flat_idr: Mapped[int]
    jht_rate_bp: Mapped[int]
    source: Mapped[str] = mapped_column(Text)

    brackets: Mapped[list[RateBracketRow]] = relationship(
        order_by="RateBracketRow.number", cascade="all, delete-orphan"
    )


class RateBracketRow(Model):
    """One income bracket of a schedule, with the base that its contributions are a percentage of."""

    __tablename__ = "rate_brackets"
    __table_args__ = (
        UniqueConstraint("schedule_id", "number"),
        CheckConstraint("base_idr > 0", name="base_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("rate_schedules.id", ondelete="CASCADE"))
    number: Mapped[int]
    income_from_idr: Mapped[int]
    income_to_idr: Mapped[int | None]
    base_idr: Mapped[int]


class RateDiscountRow(Model):
    """A time-limited discount such as PP 50/2025's 50% off JKK and JKM."""

    __tablename__ = "rate_discounts"
    __table_args__ = (CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    programmes: Mapped[str] = mapped_column(String(40))  # comma-separated: JKK,JKM
    percent: Mapped[int]
    sectors: Mapped[str] = mapped_column(String(40))  # comma-separated: transport,other
    first_month: Mapped[Month] = mapped_column(MonthType())
    last_month: Mapped[Month] = mapped_column(MonthType())
    excluded_payers: Mapped[str] = mapped_column(String(40))  # comma-separated: budget
    source: Mapped[str] = mapped_column(Text)


class Holiday(Model):
    """A public holiday: national when ``region_code`` is empty, else for that province or regency."""

    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("on", "region_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    on: Mapped[date] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(120))
    region_code: Mapped[str] = mapped_column(String(4), default="")  # '' = national (NULLs would defeat the unique key)


class StandingFlag(Model):
    """Something the reconciliation noticed about a member's standing: new arrears, a lapse, or arrears
    resolved. Unique per member, kind and month, so re-running the reconciliation raises nothing twice."""

    __tablename__ = "standing_flags"
    __table_args__ = (
        UniqueConstraint("member_id", "kind", "month"),
        CheckConstraint("kind IN ('arrears_1', 'arrears_3', 'lapsed', 'resolved')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    month: Mapped[Month] = mapped_column(MonthType())  # the oldest unpaid month it is about
    raised_on: Mapped[date]
    months_in_arrears: Mapped[int]
    arrears_idr: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


BigInt = BigInteger().with_variant(Integer(), "sqlite")


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
