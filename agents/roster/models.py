"""The roster's tables: an agent's own identity (NIK), the areas he serves, his status history, and the
proposals to deactivate agents who have gone 3 months without a transaction."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import Model


class AreaKind(StrEnum):
    VILLAGE = "village"  # a kelurahan/desa, matched against members.village
    DISTRICT = "district"  # a kecamatan code (6 digits), matched against members.district_code


class ProposalStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"  # the supervisor deactivated the agent
    DISMISSED = "dismissed"  # the supervisor keeps him; the 3 months count again from the dismissal
    SUPERSEDED = "superseded"  # the agent transacted again, or his status changed another way


class AgentProfile(Model):
    """The agent's own identity, checked like a member's: his NIK (one agent per NIK), birth date and sex."""

    __tablename__ = "agent_profiles"
    __table_args__ = (
        CheckConstraint("length(nik) = 16", name="nik_16_digits"),
        CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
    )

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The Idempotency-Key of the request that enrolled him (none from the CLI): a retry is the same agent.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))


class AgentArea(Model):
    """A village or district an agent serves: hand-overs by village send members there to him."""

    __tablename__ = "agent_areas"
    __table_args__ = (
        UniqueConstraint("agent_id", "kind", "key"),
        CheckConstraint("kind IN ('village', 'district')", name="kind_known"),
        Index("ix_agent_areas_kind_key", "kind", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(80))  # what is matched: a district code, a village name in lower case
    label: Mapped[str] = mapped_column(String(120))  # as entered (a village), or the district's name


class AgentStatusChange(Model):
    """Every change of an agent's status, with its reason and who made it (the audit log has it too; this
    table answers "since when" for the reactivation rule and the idle clock)."""

    __tablename__ = "agent_status_changes"
    __table_args__ = (CheckConstraint("to_status IN ('active', 'deactivated', 'terminated')", name="to_status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class DeactivationProposal(Model):
    """An idle agent (3 months without cash or an enrolment) proposed for deactivation to his branch's
    supervisor, who accepts (deactivates him) or dismisses it. One open proposal per agent."""

    __tablename__ = "agent_deactivation_proposals"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'accepted', 'dismissed', 'superseded')", name="status_known"),
        Index(
            "uq_agent_deactivation_proposals_open",
            "agent_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    idle_since: Mapped[datetime]  # his last transaction (or creation, reactivation, last dismissal)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=ProposalStatus.OPEN)
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(String(200))
