"""Handing an agent's members (the members he serves, ``members.agent_id``) and his open visits to another
active agent of the branch, in one audited transaction. Who enrolled a member (``enrolled_by_agent_id``, whose
the acquisition incentive is) never changes. Running it again moves nothing more and reports zero."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select, update

from agents.roster.models import AgentArea
from agents.roster.rules import Area, destination
from agents.roster.services import actor_id, agent_for, require_roster_role
from collection.members.models import Member, VisitItem
from core import audit
from core.errors import Conflict, field_error
from core.extensions import DbSession
from core.i18n import label
from organisation.models import Agent, AgentStatus, StaffUser

BATCH = 5_000  # ids per UPDATE: PostgreSQL takes at most 65,535 parameters in a statement


@dataclass
class Moved:
    """What went to one receiving agent."""

    agent_id: int
    agent_code: str
    members: int = 0
    visits: int = 0
    members_by_status: dict[str, int] = field(default_factory=dict)
    visits_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class HandOverReport:
    from_agent_id: int
    from_agent_code: str
    by_village: bool
    members_moved: int
    visits_moved: int
    moved: list[Moved]


def hand_over(
    session: DbSession,
    actor: StaffUser | None,
    from_agent_id: int,
    to_agent_id: int,
    now: datetime,
    by_village: bool = False,
    default_agent_id: int | None = None,
) -> HandOverReport:
    """Move every member the agent serves, and his open visits, to ``to_agent_id``. With ``by_village``, members
    whose village or district is one of the receiving agent's areas go to him and the rest to
    ``default_agent_id``. Receiving agents must be active agents of the same branch."""
    require_roster_role(actor)
    source = agent_for(session, actor, from_agent_id, lock=True)
    target = _receiver(session, source, to_agent_id, "to_agent_id")
    default = target
    if by_village:
        if default_agent_id is None:
            raise field_error(
                "default_agent_id", gettext("By village, name the agent who takes the members outside his areas.")
            )
        default = _receiver(session, source, default_agent_id, "default_agent_id")
    elif default_agent_id is not None:
        raise field_error(
            "default_agent_id", gettext("A default agent is only for a hand-over by village: set by_village.")
        )
    areas = [
        Area(a.kind, a.key, a.label) for a in session.scalars(select(AgentArea).where(AgentArea.agent_id == target.id))
    ]
    if by_village and not areas:
        raise field_error(
            "to_agent_id",
            gettext("Agent %(code)s has no areas: give him villages first (PATCH the agent).", code=target.code),
        )
    receivers = {target.id: Moved(target.id, target.code), default.id: Moved(default.id, default.code)}

    def goes_to(village: str | None, district_code: str) -> int:
        return destination(village, district_code, areas, target.id, default.id) if by_village else target.id

    member_rows = session.execute(
        select(Member.id, Member.village, Member.district_code, Member.status)
        .where(Member.agent_id == source.id)
        .order_by(Member.id)
    ).all()
    members_to: dict[int, list[int]] = {}
    where: dict[int, int] = {}
    for member_id, village, district_code, status in member_rows:
        receiver = goes_to(village, district_code)
        members_to.setdefault(receiver, []).append(member_id)
        where[member_id] = receiver
        counts = receivers[receiver].members_by_status
        counts[status] = counts.get(status, 0) + 1
    visit_rows = session.execute(
        select(VisitItem.id, VisitItem.reason, Member.id, Member.village, Member.district_code)
        .join(Member, Member.id == VisitItem.member_id)
        .where(VisitItem.agent_id == source.id, VisitItem.resolved_at.is_(None))
        .order_by(VisitItem.id)
    ).all()
    visits_to: dict[int, list[int]] = {}
    for visit_id, reason, member_id, village, district_code in visit_rows:
        receiver = where.get(member_id) or goes_to(village, district_code)  # a visit follows its member
        visits_to.setdefault(receiver, []).append(visit_id)
        counts = receivers[receiver].visits_by_reason
        counts[reason] = counts.get(reason, 0) + 1
    for receiver, member_ids in members_to.items():
        _move(session, Member, source.id, receiver, member_ids)
        receivers[receiver].members = len(member_ids)
    for receiver, visit_ids in visits_to.items():
        _move(session, VisitItem, source.id, receiver, visit_ids)
        receivers[receiver].visits = len(visit_ids)
    report = HandOverReport(
        from_agent_id=source.id,
        from_agent_code=source.code,
        by_village=by_village,
        members_moved=len(member_rows),
        visits_moved=len(visit_rows),
        moved=list(receivers.values()),
    )
    audit.record(
        session,
        "agent.hand_over",
        "agent",
        source.id,
        actor_id(actor),
        by_village=by_village,
        before={
            "agent_id": source.id,
            "member_ids": [row[0] for row in member_rows],
            "visit_ids": [r[0] for r in visit_rows],
        },
        after={
            str(receiver): {"member_ids": members_to.get(receiver, []), "visit_ids": visits_to.get(receiver, [])}
            for receiver in receivers
        },
        counts=dict(Counter({m.agent_code: m.members for m in receivers.values()})),
    )
    session.commit()
    return report


def _receiver(session: DbSession, source: Agent, agent_id: int, name: str) -> Agent:
    receiver = session.get(Agent, agent_id)
    if receiver is None or receiver.branch_id != source.branch_id:
        raise field_error(
            name,
            gettext(
                "There is no agent %(agent_id)s in the branch of agent %(code)s.", agent_id=agent_id, code=source.code
            ),
        )
    if receiver.id == source.id:
        raise field_error(name, gettext("An agent cannot hand his members over to himself: name another agent."))
    if receiver.status != AgentStatus.ACTIVE:
        raise Conflict(
            gettext(
                "Agent %(code)s is not active (%(status)s): members go only to an active agent.",
                code=receiver.code,
                status=label("roster_status", receiver.status),
            ),
            reason="receiver_not_active",
            errors={"json": {name: [gettext("Agent %(code)s is not active.", code=receiver.code)]}},
        )
    return receiver


def _move(
    session: DbSession, model: type[Member] | type[VisitItem], source_id: int, receiver_id: int, ids: list[int]
) -> None:
    """Set the agent of these rows, a batch of ids at a time, only where it is still the source (a row moved
    meanwhile stays where it went)."""
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        session.execute(
            update(model)
            .where(model.id.in_(chunk), model.agent_id == source_id)
            .values(agent_id=receiver_id)
            .execution_options(synchronize_session=False)
        )
