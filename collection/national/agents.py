"""The serving agents of a branch's members from a CSV of ``kpj, agent_code`` (e.g. after a national import):
each member's ``agent_id`` (who visits and reminds him) is set; ``enrolled_by_agent_id`` (who enrolled him, the
acquisition incentive's) is never touched. Idempotent: a row that names the member's agent already changes nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select, update

from collection.members import csv_files
from collection.members.models import Member
from core import audit
from core.extensions import DbSession
from core.i18n import label
from organisation.models import Agent, AgentStatus, Branch, StaffUser

COLUMNS: dict[str, tuple[str, ...]] = {
    "kpj": ("kpj", "no_kpj", "nomor_kpj", "kpj_number", "no_peserta", "nomor_peserta"),
    "agent_code": ("agent_code", "agent", "kode_agen", "agen", "kode_perisai", "perisai"),
}
MAX_ASSIGNMENT_BYTES = 20_000_000
LOOKUP_BATCH = 5_000  # KPJs looked up per query


@dataclass(frozen=True)
class AssignmentRow:
    row: int
    kpj: str
    agent_code: str
    outcome: str  # assigned, unchanged or rejected
    member_id: int | None = None
    field: str | None = None
    reason: str | None = None


@dataclass
class AssignmentReport:
    rows_total: int = 0
    assigned: int = 0
    unchanged: int = 0
    rejected: int = 0
    rows: list[AssignmentRow] = field(default_factory=list)

    def compact_rows(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(r).items() if v is not None} for r in self.rows]


def assign_agents(
    session: DbSession, actor: StaffUser | None, branch: Branch, content: bytes, now: datetime
) -> AssignmentReport:
    """Set the serving agent of each member the file names (by KPJ) to the agent it names (by code), both of this
    branch, the agent active; report every row; commit."""
    raw_rows = csv_files.read_rows(content, COLUMNS, tuple(COLUMNS), "kpj,agent_code")
    kpjs = {"".join(ch for ch in raw["kpj"] if ch.isdecimal()) for _, raw in raw_rows}
    wanted = sorted(kpjs)
    members = {
        r.kpj: (r.id, r.agent_id)
        for start in range(0, len(wanted), LOOKUP_BATCH)  # PostgreSQL takes at most 65,535 parameters
        for r in session.execute(
            select(Member.kpj, Member.id, Member.agent_id).where(
                Member.branch_id == branch.id, Member.kpj.in_(wanted[start : start + LOOKUP_BATCH])
            )
        )
    }
    agents = {a.code.upper(): a for a in session.scalars(select(Agent).where(Agent.branch_id == branch.id)) if a.code}
    report = AssignmentReport(rows_total=len(raw_rows))
    changes: dict[int, tuple[int | None, int]] = {}
    seen: dict[str, int] = {}
    for row, raw in raw_rows:
        kpj = "".join(ch for ch in raw["kpj"] if ch.isdecimal())
        code = raw["agent_code"].strip().upper()

        def rejected(column: str, reason: str, row: int = row, kpj: str = kpj, code: str = code) -> None:
            report.rows.append(AssignmentRow(row, kpj, code, "rejected", None, column, reason))

        if kpj in seen:
            rejected("kpj", gettext("The KPJ is repeated: row %(row)s has it.", row=seen[kpj]))
            continue
        seen[kpj] = row
        member = members.get(kpj)
        if member is None:
            rejected(
                "kpj",
                gettext(
                    "No member of %(branch)s has KPJ %(kpj)s.",
                    branch=branch.code,
                    kpj=raw["kpj"].strip() or gettext("(empty)"),
                ),
            )
            continue
        agent = agents.get(code)
        if agent is None:
            rejected(
                "agent_code",
                gettext(
                    "No agent of %(branch)s has the code %(code)s.", branch=branch.code, code=code or gettext("(empty)")
                ),
            )
            continue
        if agent.status != AgentStatus.ACTIVE:
            rejected(
                "agent_code",
                gettext(
                    "Agent %(code)s is %(status)s: choose an active agent.",
                    code=code,
                    status=label("roster_status", agent.status),  # the roster's word (agents/roster/texts.py)
                ),
            )

            continue
        member_id, before = member
        if before == agent.id:
            report.rows.append(AssignmentRow(row, kpj, code, "unchanged", member_id))
            continue
        changes[member_id] = (before, agent.id)
        report.rows.append(AssignmentRow(row, kpj, code, "assigned", member_id))
    if changes:
        session.execute(
            update(Member),
            [{"id": member_id, "agent_id": after, "updated_at": now} for member_id, (_, after) in changes.items()],
        )
        audit.record(
            session,
            "members.agents_assigned",
            "branch",
            branch.id,
            actor.id if actor else None,
            changes=[{"member_id": m, "before": b, "after": a} for m, (b, a) in changes.items()],
        )
    session.commit()
    for outcome in report.rows:
        setattr(report, outcome.outcome, getattr(report, outcome.outcome) + 1)
    return report
