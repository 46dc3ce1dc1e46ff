"""An agent's status: deactivated after 3 months without a transaction, terminated at once for fraud,
reactivated (a deactivated agent, no earlier than 6 months later). Leaving 'active' ends every web session and
API token he holds; his cash on hand and batches stay with finance until settled."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select, update

from agents.roster.models import AgentStatusChange, DeactivationProposal, ProposalStatus
from agents.roster.rules import TRANSITIONS, IllegalMove, move, reactivation_allowed_from
from agents.roster.services import AgentView, actor_id, agent_for, describe, require_roster_role
from core import audit
from core.clock import local_today
from core.errors import Conflict
from core.extensions import DbSession
from core.i18n import day_label, label
from organisation.logins import end_sessions_of
from organisation.models import Agent, AgentStatus, Branch, StaffUser


def deactivate_agent(
    session: DbSession, actor: StaffUser | None, agent_id: int, reason: str, now: datetime
) -> AgentView:
    """Deactivate an agent (domain.md §5: 3 months without a transaction)."""
    return change_status(session, actor, agent_id, AgentStatus.DEACTIVATED, reason, now)


def terminate_agent(
    session: DbSession, actor: StaffUser | None, agent_id: int, reason: str, now: datetime
) -> AgentView:
    """Terminate an agent at once (fraud); he never comes back."""
    return change_status(session, actor, agent_id, AgentStatus.TERMINATED, reason, now)


def reactivate_agent(
    session: DbSession, actor: StaffUser | None, agent_id: int, reason: str, now: datetime
) -> AgentView:
    """Reactivate a deactivated agent, no earlier than 6 months after his deactivation."""
    return change_status(session, actor, agent_id, AgentStatus.ACTIVE, reason, now)


def change_status(
    session: DbSession,
    actor: StaffUser | None,
    agent_id: int,
    wanted: AgentStatus,
    reason: str,
    now: datetime,
    commit: bool = True,
) -> AgentView:
    """Move an agent's status, record and audit it; leaving 'active' ends his sessions and tokens at once."""
    require_roster_role(actor)
    agent = agent_for(session, actor, agent_id, lock=True)
    current = AgentStatus(agent.status)
    try:
        move(current, wanted)
    except IllegalMove as error:
        raise Conflict(_illegal_move(error), reason="illegal_move") from None
    if wanted == AgentStatus.ACTIVE:
        _check_reactivation(session, agent, now)
    agent.status = wanted
    session.add(
        AgentStatusChange(
            agent_id=agent.id,
            from_status=current.value,
            to_status=wanted.value,
            reason=reason.strip(),
            changed_at=now,
            changed_by_user_id=actor_id(actor),
        )
    )
    ended = 0
    if wanted != AgentStatus.ACTIVE:
        ended = end_sessions_of(session, agent.user_id, actor_id(actor), now)
    superseded = list(
        session.scalars(
            update(DeactivationProposal)
            .where(DeactivationProposal.agent_id == agent.id, DeactivationProposal.status == ProposalStatus.OPEN)
            .values(status=ProposalStatus.SUPERSEDED, decided_at=now, decided_by_user_id=actor_id(actor))
            .returning(DeactivationProposal.id)
        )
    )
    action = {AgentStatus.ACTIVE: "reactivated", AgentStatus.DEACTIVATED: "deactivated"}.get(wanted, "terminated")
    audit.record(
        session,
        f"agent.{action}",
        "agent",
        agent.id,
        actor_id(actor),
        before={"status": current.value},
        after={"status": wanted.value},
        reason=reason.strip(),
        sessions_ended=ended,
        proposals_superseded=superseded,
    )
    if commit:
        session.commit()
    return describe(session, [agent])[0]


def _check_reactivation(session: DbSession, agent: Agent, now: datetime) -> None:
    deactivated_at = session.scalar(
        select(AgentStatusChange.changed_at)
        .where(AgentStatusChange.agent_id == agent.id, AgentStatusChange.to_status == AgentStatus.DEACTIVATED)
        .order_by(AgentStatusChange.changed_at.desc(), AgentStatusChange.id.desc())
        .limit(1)
    )
    if deactivated_at is None:  # deactivated before the roster kept a history: nothing to count from
        return
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    earliest = reactivation_allowed_from(local_today(branch.timezone, deactivated_at))
    if local_today(branch.timezone, now) < earliest:
        raise Conflict(
            gettext(
                "Agent %(code)s was deactivated on %(day)s; he may be reactivated from %(earliest)s (6 months later, "
                "domain.md §5).",
                code=agent.code,
                day=day_label(local_today(branch.timezone, deactivated_at)),
                earliest=day_label(earliest),
            ),
            reason="reactivation_too_early",
        )


def _illegal_move(error: IllegalMove) -> str:
    """The refused move in the reader's words (the statuses as the roster pages name them)."""
    now, wanted = label("roster_status", error.current), label("roster_status", error.wanted)
    allowed = sorted(TRANSITIONS[error.current])
    if not allowed:
        return gettext(
            "The agent is %(now)s; he cannot become %(wanted)s: a terminated agent stays terminated.",
            now=now,
            wanted=wanted,
        )
    return gettext(
        "The agent is %(now)s; he cannot become %(wanted)s. Allowed: %(allowed)s.",
        now=now,
        wanted=wanted,
        allowed=", ".join(label("roster_status", status) for status in allowed),
    )
