"""Proposals to deactivate idle agents: a daily job finds active agents with no transaction (no cash recorded,
no member enrolled) for 3 months and proposes each to his branch's supervisors, who accept (the agent is
deactivated) or dismiss (the 3 months count again from then). One open proposal per agent; re-running the job
proposes nobody twice."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agents.roster.models import AgentStatusChange, DeactivationProposal, ProposalStatus
from agents.roster.rules import IDLE_MONTHS, is_idle
from agents.roster.services import actor_id, branch_for, require_roster_role
from agents.roster.status import change_status
from collection.members.models import Member
from core import audit
from core.clock import local_today
from core.errors import Conflict, NotFound
from core.extensions import DbSession
from core.i18n import label
from core.outbox import queue_message
from core.paging import rows_page_of
from organisation.models import Agent, AgentStatus, Branch, Role, StaffUser
from payments.ledger.models import Payment


def last_activity(session: DbSession, agents: Iterable[Agent]) -> dict[int, datetime]:
    """When each agent last did something that restarts the idle clock: recorded cash, enrolled a member, was
    created or reactivated, or had a proposal about him dismissed (five grouped queries, whatever the number)."""
    latest = {agent.id: agent.created_at for agent in agents}
    ids = list(latest)
    if not ids:
        return latest
    sources = (
        select(Payment.agent_id, func.max(Payment.recorded_at))
        .where(Payment.agent_id.in_(ids), Payment.channel == "cash")
        .group_by(Payment.agent_id),
        select(Member.enrolled_by_agent_id, func.max(Member.created_at))
        .where(Member.enrolled_by_agent_id.in_(ids))
        .group_by(Member.enrolled_by_agent_id),
        select(AgentStatusChange.agent_id, func.max(AgentStatusChange.changed_at))
        .where(AgentStatusChange.agent_id.in_(ids), AgentStatusChange.to_status == AgentStatus.ACTIVE)
        .group_by(AgentStatusChange.agent_id),
        select(DeactivationProposal.agent_id, func.max(DeactivationProposal.decided_at))
        .where(DeactivationProposal.agent_id.in_(ids), DeactivationProposal.status == ProposalStatus.DISMISSED)
        .group_by(DeactivationProposal.agent_id),
    )
    for query in sources:
        for agent_id, at in session.execute(query).all():
            if at is not None and agent_id is not None and at > latest[agent_id]:
                latest[agent_id] = at
    return latest


def propose_idle_deactivations(session: DbSession, now: datetime) -> dict[str, int]:
    """Propose every idle active agent for deactivation (once) and tell his branch's supervisors; close the open
    proposals of agents who transacted since. Commits; returns how many were proposed and superseded."""
    agents = list(session.scalars(select(Agent).where(Agent.status == AgentStatus.ACTIVE).order_by(Agent.id)))
    latest = last_activity(session, agents)
    zones = dict(session.execute(select(Branch.id, Branch.timezone)).all())
    open_ones = {
        p.agent_id: p
        for p in session.scalars(select(DeactivationProposal).where(DeactivationProposal.status == ProposalStatus.OPEN))
    }
    proposed = superseded = 0
    for agent in agents:
        zone = zones[agent.branch_id]
        idle = is_idle(local_today(zone, latest[agent.id]), local_today(zone, now))
        proposal = open_ones.get(agent.id)
        if proposal is not None and not idle:
            proposal.status, proposal.decided_at = ProposalStatus.SUPERSEDED, now
            audit.record(session, "agent.deactivation_superseded", "agent", agent.id, None, proposal_id=proposal.id)
            superseded += 1
        elif proposal is None and idle and _propose(session, agent, latest[agent.id], now):
            proposed += 1
    session.commit()
    return {"proposed": proposed, "superseded": superseded}


def _propose(session: DbSession, agent: Agent, idle_since: datetime, now: datetime) -> bool:
    proposal = DeactivationProposal(
        agent_id=agent.id, branch_id=agent.branch_id, idle_since=idle_since, proposed_at=now
    )
    try:
        with session.begin_nested():  # a second run at the same moment: the partial unique index keeps one
            session.add(proposal)
    except IntegrityError:
        return False
    zone = session.get(Branch, agent.branch_id)
    assert zone is not None
    body = (
        f"Agen {agent.code} ({agent.user.full_name}) tidak bertransaksi sejak "
        f"{local_today(zone.timezone, idle_since):%d-%m-%Y} ({IDLE_MONTHS} bulan): diusulkan untuk dinonaktifkan. "
        f"Terima atau tolak usulan #{proposal.id}."
    )
    phones = session.scalars(
        select(StaffUser.phone).where(
            StaffUser.branch_id == agent.branch_id,
            StaffUser.role == Role.SUPERVISOR,
            StaffUser.is_active.is_(True),
            StaffUser.phone.is_not(None),
        )
    )
    for phone in phones:
        queue_message(session, "agent_idle", phone, body, dedupe_key=f"agent_idle:{proposal.id}:{phone}")
    audit.record(
        session,
        "agent.deactivation_proposed",
        "agent",
        agent.id,
        None,
        proposal_id=proposal.id,
        idle_since=idle_since.isoformat(),
    )
    return True


def list_proposals(
    session: DbSession, actor: StaffUser | None, branch_id: int, status: str | None = ProposalStatus.OPEN
) -> list[tuple[DeactivationProposal, Agent]]:
    """The branch's proposals (open ones unless told), oldest first, with their agents."""
    return proposal_page(session, actor, branch_id, status, 0, None)[0]


def proposal_page(
    session: DbSession,
    actor: StaffUser | None,
    branch_id: int,
    status: str | None,
    offset: int,
    limit: int | None,
) -> tuple[list[tuple[DeactivationProposal, Agent]], int]:
    """One page of the branch's proposals (``limit`` None: all), oldest first, with their agents, and how many
    (the list stopped silently at 500)."""
    require_roster_role(actor)
    branch_for(session, actor, branch_id)
    query = (
        select(DeactivationProposal, Agent)
        .join(Agent, Agent.id == DeactivationProposal.agent_id)
        .where(DeactivationProposal.branch_id == branch_id)
        .order_by(DeactivationProposal.proposed_at, DeactivationProposal.id)
    )
    if status:
        query = query.where(DeactivationProposal.status == status)
    rows, total = rows_page_of(session, query, offset, limit)
    return [(p, a) for p, a in rows], total


def _open_proposal(session: DbSession, actor: StaffUser | None, proposal_id: int) -> DeactivationProposal:
    require_roster_role(actor)
    proposal = session.get(DeactivationProposal, proposal_id, with_for_update=True)
    if proposal is None or (actor is not None and actor.role != Role.ADMIN and actor.branch_id != proposal.branch_id):
        raise NotFound(gettext("There is no proposal %(proposal_id)s in your branch.", proposal_id=proposal_id))
    if proposal.status != ProposalStatus.OPEN:
        raise Conflict(
            gettext(
                "Proposal %(proposal_id)s was decided already: %(status)s.",
                proposal_id=proposal_id,
                status=label("proposal_status", proposal.status),
            ),
            reason="proposal_decided",
        )
    return proposal


def accept_proposal(
    session: DbSession, actor: StaffUser | None, proposal_id: int, note: str | None, now: datetime
) -> tuple[DeactivationProposal, Agent]:
    """Deactivate the proposed agent, unless he has transacted since he was proposed (then dismiss it)."""
    proposal = _open_proposal(session, actor, proposal_id)
    agent = session.get(Agent, proposal.agent_id)
    assert agent is not None
    if last_activity(session, [agent])[agent.id] > proposal.idle_since:
        raise Conflict(
            gettext("Agent %(code)s has transacted since he was proposed: dismiss the proposal.", code=agent.code),
            reason="agent_busy_again",
        )
    reason = f"{IDLE_MONTHS} months without a transaction (proposal {proposal.id})" + (f": {note}" if note else "")
    change_status(session, actor, agent.id, AgentStatus.DEACTIVATED, reason[:200], now, commit=False)
    proposal.status = ProposalStatus.ACCEPTED  # change_status marked it superseded with the other open ones
    proposal.decided_by_user_id, proposal.decided_at, proposal.note = actor_id(actor), now, note
    audit.record(
        session,
        "agent.deactivation_accepted",
        "agent",
        agent.id,
        actor_id(actor),
        proposal_id=proposal.id,
        before={"proposal": ProposalStatus.OPEN.value},
        after={"proposal": ProposalStatus.ACCEPTED.value},
    )
    session.commit()
    return proposal, agent


def dismiss_proposal(
    session: DbSession, actor: StaffUser | None, proposal_id: int, note: str | None, now: datetime
) -> tuple[DeactivationProposal, Agent]:
    """Keep the agent: the proposal is closed and his 3 months count again from now."""
    proposal = _open_proposal(session, actor, proposal_id)
    agent = session.get(Agent, proposal.agent_id)
    assert agent is not None
    proposal.status = ProposalStatus.DISMISSED
    proposal.decided_by_user_id, proposal.decided_at, proposal.note = actor_id(actor), now, note
    audit.record(
        session,
        "agent.deactivation_dismissed",
        "agent",
        agent.id,
        actor_id(actor),
        proposal_id=proposal.id,
        note=note,
        before={"proposal": ProposalStatus.OPEN.value},
        after={"proposal": ProposalStatus.DISMISSED.value},
    )
    session.commit()
    return proposal, agent
