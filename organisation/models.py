"""The field network: branch offices, agents' associations (Wadah), staff accounts and agents (Perisai)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import Model

DEFAULT_CASH_LIMIT_IDR = 5_000_000  # cash an agent may hold (domain.md §5); each branch sets its own
DEFAULT_DEPOSIT_DEADLINE_WORKING_DAYS = 1  # working days to deposit a day's cash; each branch sets its own


class Role(StrEnum):
    """What a staff account may do; checked on every route."""

    AGENT = "agent"
    BRANCH_FINANCE = "branch_finance"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class AgentStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # 3 months without transactions (domain.md §5)
    TERMINATED = "terminated"  # fraud: ended by the branch at once


class Branch(Model):
    """A branch office (Kantor Cabang): its region, time zone and cash-handling limits."""

    __tablename__ = "branches"
    __table_args__ = (
        CheckConstraint("cash_limit_idr > 0", name="cash_limit_positive"),
        CheckConstraint("deposit_deadline_working_days >= 0", name="deposit_deadline_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    province_code: Mapped[str] = mapped_column(String(2))
    regency_code: Mapped[str] = mapped_column(String(4))
    timezone: Mapped[str] = mapped_column(String(32))  # Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)
    cash_limit_idr: Mapped[int] = mapped_column(default=DEFAULT_CASH_LIMIT_IDR)
    deposit_deadline_working_days: Mapped[int] = mapped_column(default=DEFAULT_DEPOSIT_DEADLINE_WORKING_DAYS)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Wadah(Model):
    """An agents' association with a cooperation agreement with one branch."""

    __tablename__ = "wadahs"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    agreement_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    branch: Mapped[Branch] = relationship()


class StaffUser(Model):
    """A login: branch staff, supervisors, admins, and agents (who also have an :class:`Agent` row)."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("role IN ('agent', 'branch_finance', 'supervisor', 'admin')", name="role_known"),
        CheckConstraint("role = 'admin' OR branch_id IS NOT NULL", name="branch_unless_admin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164, for alerts
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # set by a password someone else chose (a reset, a new account): no login goes further than changing it
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    branch: Mapped[Branch | None] = relationship()


class Agent(Model):
    """A field agent (Perisai): an Indonesian citizen of at least 18 who is a BPU member himself."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint("status IN ('active', 'deactivated', 'terminated')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), unique=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    wadah_id: Mapped[int] = mapped_column(ForeignKey("wadahs.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[AgentStatus] = mapped_column(String(16), default=AgentStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[StaffUser] = relationship()
    wadah: Mapped[Wadah] = relationship()


class ApiToken(Model):
    """A bearer token for the JSON API; only its SHA-256 is stored, so a database leak leaks no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[StaffUser] = relationship()


class WebSession(Model):
    """A login to the web pages (/agen, /keuangan). The signed cookie carries a random id whose SHA-256 is
    kept here, so logging out, or ending a user's sessions, stops a copied cookie from working."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    sid_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    app: Mapped[str] = mapped_column(String(16))  # agen or keuangan
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
