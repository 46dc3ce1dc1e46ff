"""Incentive statements: an agent's or a Wadah's month, frozen when the branch approves it, and its lines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import Model, MonthType
from core.months import Month


class IncentiveStatement(Model):
    """An agent's or a Wadah's incentive for a month, as finance approved it (final; drafts are computed live)."""

    __tablename__ = "incentive_statements"
    __table_args__ = (
        UniqueConstraint("holder_kind", "holder_id", "month"),
        CheckConstraint("holder_kind IN ('agent', 'wadah')", name="holder_kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_kind: Mapped[str] = mapped_column(String(8))
    holder_id: Mapped[int]  # agents.id or wadahs.id
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    month: Mapped[Month] = mapped_column(MonthType())
    total_idr: Mapped[int]
    payable_idr: Mapped[int]
    carried_out_idr: Mapped[int]  # a negative month (clawbacks) is carried into the next one
    summary: Mapped[str] = mapped_column(Text)  # JSON: the figures (a Wadah's: its agents, base, rate, carrying)
    approved_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)


class IncentiveLine(Model):
    """One line of an approved statement; a later reversal claws back exactly what its line earned."""

    __tablename__ = "incentive_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("incentive_statements.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # acquisition, collection, clawback, carried
    member_id: Mapped[int | None]
    payment_id: Mapped[int | None] = mapped_column(index=True)
    contribution_month: Mapped[Month | None] = mapped_column(MonthType())
    month_number: Mapped[int | None]  # the contribution month's place when it earned: its clawback uses it
    base_idr: Mapped[int]
    rate_bp: Mapped[int | None]  # a collection or clawback line's rate; None for a fee or a carried amount
    amount_idr: Mapped[int]
    reason: Mapped[str] = mapped_column(String(24))  # rules.Reason: how the figure was computed…
    facts: Mapped[str] = mapped_column(Text, default="{}")  # …and its figures, JSON (rules.facts_json); pages word them
