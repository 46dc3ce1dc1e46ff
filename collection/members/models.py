"""Members and what they owe: members, periods and status history, the months paid, flags and visits,
the rate table and holidays."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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
    # The agent who serves him now (his visits and reminders): the one who enrolled him, until the branch hands
    # him to another. enrolled_by_agent_id stays who enrolled him (the acquisition incentive is his).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", use_alter=True), index=True)
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
    __table_args__ = (
        # Name search reads (key, member_id) from an index alone: equal keys and, for the last typed token, keys by
        # prefix (LIKE 'S53%'). On PostgreSQL a plain btree serves LIKE only under the C collation, so the key is
        # indexed with varchar_pattern_ops (byte order), which serves = and prefix LIKE under any collation. The
        # member's branch is copied here (a member never changes branch) so a search within a branch reads only
        # that branch's keys.
        Index("ix_member_name_keys_key_member", "key", "member_id", postgresql_ops={"key": "varchar_pattern_ops"}),
        Index(
            "ix_member_name_keys_branch_key_member",
            "branch_id",
            "key",
            "member_id",
            postgresql_ops={"key": "varchar_pattern_ops"},
        ),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))  # the member's, for search within a branch


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
