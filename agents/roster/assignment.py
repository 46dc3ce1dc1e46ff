"""Members without a serving agent given to agents by area (issue 12 part 3: "agents are assigned by area/village"):
each member of the branch whose ``agent_id`` is empty (e.g. just loaded from the national system) goes to the one
active agent whose areas cover his village, or else his district; a member two agents cover, or none, is left and
reported with why. Who enrolled a member (``enrolled_by_agent_id``) never changes; a member who has an agent keeps
him. One audited transaction; running it again moves nothing more."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from agents.roster.models import AgentArea, AreaKind
from agents.roster.rules import area_agent
from agents.roster.services import actor_id, branch_for, require_roster_role
from collection.members.models import Member
from core import audit
from core.extensions import DbSession
from organisation.models import Agent, AgentStatus, Branch, StaffUser

BATCH = 5_000  # ids per UPDATE: PostgreSQL takes at most 65,535 parameters in a statement
LEFT_LISTED = 1_000  # members left unassigned named one by one in the answer (all are counted)


@dataclass
class LeftMember:
    """A member left without an agent, and why."""

    member_id: int
    kpj: str | None
    village: str | None
    district_code: str
    reason: str  # no_area, ambiguous_village, ambiguous_district
    agent_codes: list[str] = field(default_factory=list)  # the agents whose areas both cover him


@dataclass
class AreaAssignmentReport:
    branch_id: int
    without_agent: int  # members of the branch who had no serving agent before this run
    assigned: int
    left: int
    assigned_by_agent: dict[str, int]  # agent code: members given to him
    left_by_reason: dict[str, int]
    left_members: list[LeftMember]  # the first LEFT_LISTED of them, by member id


def assign_by_area(session: DbSession, actor: StaffUser | None, branch_id: int, now: datetime) -> AreaAssignmentReport:
    """Give every member of the branch without a serving agent to the one active agent of the branch whose areas
    cover his village (case-insensitive) or else his district; leave and report the others; audit; commit."""
    require_roster_role(actor)
    branch = branch_for(session, actor, branch_id)
    # One run per branch at a time (a hand-over or the agents' CSV may still race: each update only takes members
    # whose agent is still empty).
    session.execute(select(Branch.id).where(Branch.id == branch.id).with_for_update())
    codes: dict[int, str] = {}
    by_village: dict[str, set[int]] = {}
    by_district: dict[str, set[int]] = {}
    for agent_id, code, kind, key in session.execute(
        select(Agent.id, Agent.code, AgentArea.kind, AgentArea.key)
        .join(AgentArea, AgentArea.agent_id == Agent.id)
        .where(Agent.branch_id == branch.id, Agent.status == AgentStatus.ACTIVE)
    ):
        codes[agent_id] = code
        (by_village if kind == AreaKind.VILLAGE else by_district).setdefault(key, set()).add(agent_id)
    villages = {key: frozenset(ids) for key, ids in by_village.items()}
    districts = {key: frozenset(ids) for key, ids in by_district.items()}
    members = session.execute(
        select(Member.id, Member.kpj, Member.village, Member.district_code)
        .where(Member.branch_id == branch.id, Member.agent_id.is_(None))
        .order_by(Member.id)
    ).all()
    to_agent: dict[int, list[int]] = {}
    left: list[LeftMember] = []
    left_by_reason: Counter[str] = Counter()
    for member_id, kpj, village, district_code in members:
        match = area_agent(village, district_code, villages, districts)
        if match.agent_id is not None:
            to_agent.setdefault(match.agent_id, []).append(member_id)
            continue
        assert match.reason is not None
        left_by_reason[match.reason] += 1
        if len(left) < LEFT_LISTED:
            left.append(
                LeftMember(member_id, kpj, village, district_code, match.reason, [codes[a] for a in match.candidates])
            )
    moved: dict[int, list[int]] = {}
    for agent_id, member_ids in to_agent.items():
        for start in range(0, len(member_ids), BATCH):
            taken = session.scalars(
                update(Member)
                .where(Member.id.in_(member_ids[start : start + BATCH]), Member.agent_id.is_(None))
                .values(agent_id=agent_id, updated_at=now)
                .returning(Member.id)
                .execution_options(synchronize_session=False)
            ).all()
            moved.setdefault(agent_id, []).extend(sorted(taken))
    assigned = sum(len(ids) for ids in moved.values())
    if assigned:
        audit.record(
            session,
            "members.agents_assigned_by_area",
            "branch",
            branch.id,
            actor_id(actor),
            changes=[
                {"member_id": m, "before": None, "after": agent_id}
                for agent_id, ids in sorted(moved.items())
                for m in ids
            ],
            assigned_by_agent={codes[agent_id]: len(ids) for agent_id, ids in sorted(moved.items())},
            left_by_reason=dict(left_by_reason),
        )
    session.commit()
    return AreaAssignmentReport(
        branch_id=branch.id,
        without_agent=len(members),
        assigned=assigned,
        left=sum(left_by_reason.values()),
        assigned_by_agent={codes[agent_id]: len(ids) for agent_id, ids in sorted(moved.items())},
        left_by_reason=dict(sorted(left_by_reason.items())),
        left_members=left,
    )
