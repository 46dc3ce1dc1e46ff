"""The roster: enrol an agent (a login of role agent, his Perisai row, his NIK and areas), edit him, list and
show a branch's agents with their status, cash on hand and members. Services commit; routes and the CLI call them.

``actor`` is the staff member asking (a supervisor of the branch, or an admin); None is the operator's CLI.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agents.roster.models import AgentArea, AgentProfile, AgentStatusChange
from agents.roster.rules import Area, normalise_code, parse_areas
from collection.members.models import Member, VisitItem
from collection.members.nik import AGENT_MIN_AGE, NikError, parse_nik
from core import audit
from core.clock import local_today
from core.errors import Conflict, DomainError, Forbidden, NotFound
from core.extensions import DbSession
from core.paging import page_of
from core.phones import PhoneError, normalise_phone
from core.regions import regions
from organisation.models import Agent, ApiToken, Branch, Role, StaffUser, Wadah, WebSession
from organisation.services import create_agent, create_user, hash_password
from payments.ledger.models import AgentCashTotal
from payments.ledger.services import agent_cash, fingerprint

ROSTER_ROLES = (Role.SUPERVISOR, Role.ADMIN)  # who enrols, edits, deactivates and hands over agents
VIEW_ROLES = (Role.SUPERVISOR, Role.BRANCH_FINANCE, Role.ADMIN)  # who sees the roster
PASSWORD_BYTES = 9  # 12 characters of URL-safe base64


@dataclass
class AgentView:
    """An agent as the roster shows him."""

    id: int
    code: str
    user_id: int
    username: str
    name: str
    phone: str | None
    branch_id: int
    wadah_id: int
    wadah_name: str
    status: str
    status_changed_at: datetime | None
    nik: str | None
    birth_date: date | None
    sex: str | None
    member_id: int | None
    areas: list[Area]
    members_served: int
    open_visits: int
    cash_on_hand_idr: int
    created_at: datetime
    deposit_due_by: date | None = None
    initial_password: str | None = None  # only in the answer that created him
    extra: dict[str, Any] = field(default_factory=dict)


# --- who may see and change what -------------------------------------------------------------------------------


def require_roster_role(actor: StaffUser | None, roles: Sequence[Role] = ROSTER_ROLES) -> None:
    if actor is not None and actor.role not in roles:
        raise Forbidden(
            gettext(
                "This needs one of the roles %(value)s; you are '%(role)s'.",
                value=", ".join(sorted(roles)),
                role=actor.role,
            )
        )


def branch_for(session: DbSession, actor: StaffUser | None, branch_id: int) -> Branch:
    """A branch the caller works in (any branch for an admin or the CLI); another branch is a 404."""
    branch = session.get(Branch, branch_id)
    if branch is None or (actor is not None and actor.role != Role.ADMIN and actor.branch_id != branch_id):
        raise NotFound(gettext("There is no branch %(branch_id)s of yours.", branch_id=branch_id))
    return branch


def agent_for(session: DbSession, actor: StaffUser | None, agent_id: int, lock: bool = False) -> Agent:
    """An agent of the caller's branch (locked FOR UPDATE when asked); another branch's is a 404."""
    agent = session.get(Agent, agent_id, with_for_update=lock or None)
    if agent is None or (actor is not None and actor.role != Role.ADMIN and actor.branch_id != agent.branch_id):
        raise NotFound(gettext("There is no agent %(agent_id)s in your branch.", agent_id=agent_id))
    return agent


def agent_by_code(session: DbSession, code: str) -> Agent:
    """An agent by his code (the CLI), or a 404."""
    agent = session.scalar(select(Agent).where(Agent.code == code.strip().upper()))
    if agent is None:
        raise NotFound(gettext("There is no agent with code %(code)s.", code=repr(code.strip()[:20])))
    return agent


def actor_id(actor: StaffUser | None) -> int | None:
    return None if actor is None else actor.id


# --- enrolling and editing ---------------------------------------------------------------------------------------


def create_roster_agent(
    session: DbSession,
    actor: StaffUser | None,
    branch_id: int,
    payload: dict[str, Any],
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[AgentView, bool]:
    """Enrol an agent: every field checked (all bad fields reported at once), a login of role agent with a
    random first password, his Perisai row, NIK and areas; ``(view, created)``. The same Idempotency-Key with
    the same content is the same agent (200), with a new first password while he has never logged in."""
    require_roster_role(actor)
    branch = branch_for(session, actor, branch_id)
    digest = fingerprint(branch=branch_id, **{k: v for k, v in payload.items() if k != "password"})
    if idempotency_key is not None:
        repeated = _repeated_create(session, actor, idempotency_key, digest)
        if repeated is not None:
            return repeated, False
    today = local_today(branch.timezone, now)
    checked = _check_new_agent(session, branch, payload, today)
    code = checked["code"] or _next_code(session, branch)
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    user = create_user(session, checked["username"] or code.lower(), password, checked["name"], Role.AGENT, branch.id)
    user.phone = checked["phone"]
    user.must_change_password = True  # the supervisor chose it: the agent sets his own at the first login
    member_id = session.scalar(select(Member.id).where(Member.nik == checked["nik"].nik))
    agent = create_agent(session, user, checked["wadah"], code, member_id)
    try:
        session.flush()
        profile = AgentProfile(
            agent_id=agent.id,
            nik=checked["nik"].nik,
            birth_date=checked["nik"].birth_date,
            sex=checked["nik"].sex.value,
            created_at=now,
            idempotency_key=idempotency_key,
            request_fingerprint=digest,
        )
        session.add(profile)
        _store_areas(session, agent.id, checked["areas"])
        session.flush()
    except IntegrityError:  # a concurrent twin took the code, username, NIK or key between check and insert
        session.rollback()
        if idempotency_key is not None:
            repeated = _repeated_create(session, actor, idempotency_key, digest)
            if repeated is not None:
                return repeated, False
        raise Conflict(gettext("Another request just took this code, username or NIK: send it again.")) from None
    after = _snapshot(session, agent)
    audit.record(session, "agent.created", "agent", agent.id, actor_id(actor), before=None, after=after)
    session.commit()
    view = describe(session, [agent])[0]
    view.initial_password = password
    return view, True


def _repeated_create(session: DbSession, actor: StaffUser | None, key: str, digest: str) -> AgentView | None:
    profile = session.scalar(select(AgentProfile).where(AgentProfile.idempotency_key == key))
    if profile is None:
        return None
    if profile.request_fingerprint != digest:
        raise Conflict(
            gettext("This Idempotency-Key was used for another agent: make a new key for a new agent."),
            reason="key_reused",
        )
    agent = agent_for(session, actor, profile.agent_id)
    view = describe(session, [agent])[0]
    logged_in = session.scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == agent.user_id)
    ) or session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == agent.user_id))
    # The first answer was lost on its way (the caller never saw the password): only while the agent still has
    # that first password (must change it) and has never logged in; a password he chose is never replaced.
    if not logged_in and agent.user.must_change_password:
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        agent.user.password_hash = hash_password(password)
        audit.record(session, "agent.first_password_reissued", "agent", agent.id, actor_id(actor))
        session.commit()
        view.initial_password = password
    return view


def _check_new_agent(session: DbSession, branch: Branch, payload: dict[str, Any], today: date) -> dict[str, Any]:
    """Every field of a new agent checked at once; a DomainError naming each bad field."""
    errors: dict[str, list[str]] = {}
    checked: dict[str, Any] = {"name": " ".join(payload["name"].split())}
    try:
        checked["nik"] = parse_nik(payload["nik"], today, min_age=AGENT_MIN_AGE)
    except NikError as error:
        errors.setdefault("nik", []).append(error.message)
    else:
        holder = session.scalar(
            select(Agent.code)
            .join(AgentProfile, AgentProfile.agent_id == Agent.id)
            .where(AgentProfile.nik == checked["nik"].nik)
        )
        if holder is not None:
            errors.setdefault("nik", []).append(
                gettext(
                    "NIK %(nik)s is already agent %(code)s: one agent per NIK.", nik=checked["nik"].nik, code=holder
                )
            )
    if not checked["name"]:
        errors.setdefault("name", []).append(gettext("Write the agent's name as on his KTP."))
    _check_phone(payload.get("phone"), checked, errors)
    checked["wadah"] = _check_wadah(session, branch, payload.get("wadah_id"), errors)
    checked["code"] = None
    if payload.get("code"):
        try:
            checked["code"] = normalise_code(payload["code"])
        except ValueError as error:
            errors.setdefault("code", []).append(str(error))
        else:
            if session.scalar(select(Agent.id).where(Agent.code == checked["code"])) is not None:
                errors.setdefault("code", []).append(
                    gettext("The code %(code)s is taken: leave it out for a new one.", code=checked["code"])
                )
    checked["username"] = None
    if payload.get("username"):
        checked["username"] = payload["username"].strip().lower()
        if session.scalar(select(StaffUser.id).where(StaffUser.username == checked["username"])) is not None:
            errors.setdefault("username", []).append(
                gettext("The username %(username)s is taken: choose another.", username=checked["username"])
            )
    _check_areas(payload.get("areas") or [], checked, errors)
    if errors:
        message = gettext("The agent cannot be enrolled: see errors for each field and how to fix it.")
        raise DomainError(message, errors={"json": errors})
    return checked


def _check_phone(phone: str | None, checked: dict[str, Any], errors: dict[str, list[str]]) -> None:
    try:
        checked["phone"] = normalise_phone(phone or "")
    except PhoneError as error:
        errors.setdefault("phone", []).append(str(error))


def _check_wadah(
    session: DbSession, branch: Branch, wadah_id: int | None, errors: dict[str, list[str]]
) -> Wadah | None:
    wadah = session.get(Wadah, wadah_id) if wadah_id is not None else None
    if wadah is None or wadah.branch_id != branch.id:
        errors.setdefault("wadah_id", []).append(
            f"There is no Wadah {wadah_id} in branch {branch.code}: an agent belongs to a Wadah of his branch."
        )
        return None
    return wadah


def _check_areas(texts: list[str], checked: dict[str, Any], errors: dict[str, list[str]]) -> None:
    try:
        checked["areas"] = parse_areas(texts, regions().names)
    except ValueError as error:
        errors.setdefault("areas", []).append(str(error))


def _next_code(session: DbSession, branch: Branch) -> str:
    """The branch's next free code, BRANCH-Pnn (the demo data's pattern)."""
    taken = set(session.scalars(select(Agent.code).where(Agent.code.like(f"{branch.code}-P%"))))
    number = len(taken) + 1
    while f"{branch.code}-P{number:02d}" in taken:
        number += 1
    return f"{branch.code}-P{number:02d}"


def _store_areas(session: DbSession, agent_id: int, areas: list[Area]) -> None:
    for area in areas:
        session.add(AgentArea(agent_id=agent_id, kind=area.kind, key=area.key, label=area.label))


def edit_agent(
    session: DbSession, actor: StaffUser | None, agent_id: int, payload: dict[str, Any], now: datetime
) -> AgentView:
    """Change an agent's phone, Wadah (of his branch) or areas (the list given replaces his areas)."""
    require_roster_role(actor)
    agent = agent_for(session, actor, agent_id, lock=True)
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    before = _snapshot(session, agent)
    errors: dict[str, list[str]] = {}
    checked: dict[str, Any] = {}
    if "phone" in payload:
        _check_phone(payload["phone"], checked, errors)
    if "wadah_id" in payload:
        checked["wadah"] = _check_wadah(session, branch, payload["wadah_id"], errors)
    if "areas" in payload:
        _check_areas(payload["areas"] or [], checked, errors)
    if errors:
        raise DomainError(gettext("The agent was not changed: see errors for each field."), errors={"json": errors})
    if "phone" in checked:
        agent.user.phone = checked["phone"]
    if checked.get("wadah") is not None:
        agent.wadah_id = checked["wadah"].id
    if "areas" in checked:
        for area in session.scalars(select(AgentArea).where(AgentArea.agent_id == agent.id)):
            session.delete(area)
        session.flush()
        _store_areas(session, agent.id, checked["areas"])
    session.flush()
    after = _snapshot(session, agent)
    if after != before:
        audit.record(session, "agent.edited", "agent", agent.id, actor_id(actor), before=before, after=after)
    session.commit()
    return describe(session, [agent])[0]


def _snapshot(session: DbSession, agent: Agent) -> dict[str, Any]:
    """What the audit log keeps of an agent before and after a change."""
    areas = session.scalars(
        select(AgentArea.label).where(AgentArea.agent_id == agent.id).order_by(AgentArea.kind, AgentArea.key)
    )
    return {
        "code": agent.code,
        "username": agent.user.username,
        "name": agent.user.full_name,
        "phone": agent.user.phone,
        "wadah_id": agent.wadah_id,
        "status": str(agent.status),
        "areas": list(areas),
    }


# --- showing -------------------------------------------------------------------------------------------------------


def list_agents(
    session: DbSession, actor: StaffUser | None, branch_id: int, status: str | None = None
) -> list[AgentView]:
    """The branch's agents by code, with status, areas, members served, open visits and cash on hand."""
    return agent_page(session, actor, branch_id, status, 0, None)[0]


def agent_page(
    session: DbSession, actor: StaffUser | None, branch_id: int, status: str | None, offset: int, limit: int | None
) -> tuple[list[AgentView], int]:
    """One page of the branch's agents by code (``limit`` None: all) and how many there are."""
    require_roster_role(actor, VIEW_ROLES)
    branch_for(session, actor, branch_id)
    query = select(Agent).where(Agent.branch_id == branch_id).order_by(Agent.code, Agent.id)
    if status:
        query = query.where(Agent.status == status)
    agents, total = page_of(session, query, offset, limit)
    return describe(session, agents), total


def show_agent(session: DbSession, actor: StaffUser | None, agent_id: int, now: datetime) -> AgentView:
    """One agent, with his cash position as the ledger works it out (on hand, and by when he must deposit)."""
    require_roster_role(actor, VIEW_ROLES)
    agent = agent_for(session, actor, agent_id)
    view = describe(session, [agent])[0]
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    cash = agent_cash(session, agent, local_today(branch.timezone, now))
    view.cash_on_hand_idr = cash.on_hand_idr
    view.deposit_due_by = cash.deposit_due_by
    return view


def describe(session: DbSession, agents: Sequence[Agent]) -> list[AgentView]:
    """Agents as the roster shows them, in a fixed number of queries whatever their number."""
    ids = [agent.id for agent in agents]
    if not ids:
        return []
    profiles = {p.agent_id: p for p in session.scalars(select(AgentProfile).where(AgentProfile.agent_id.in_(ids)))}
    areas: dict[int, list[Area]] = {}
    for row in session.scalars(
        select(AgentArea).where(AgentArea.agent_id.in_(ids)).order_by(AgentArea.kind, AgentArea.key)
    ):
        areas.setdefault(row.agent_id, []).append(Area(row.kind, row.key, row.label))
    served = _counts(session, select(Member.agent_id, func.count()).where(Member.agent_id.in_(ids)), Member.agent_id)
    visits = _counts(
        session,
        select(VisitItem.agent_id, func.count()).where(VisitItem.agent_id.in_(ids), VisitItem.resolved_at.is_(None)),
        VisitItem.agent_id,
    )
    held = dict(
        session.execute(
            select(AgentCashTotal.agent_id, AgentCashTotal.collected_idr - AgentCashTotal.deposited_idr).where(
                AgentCashTotal.agent_id.in_(ids)
            )
        ).all()
    )
    changed = dict(
        session.execute(
            select(AgentStatusChange.agent_id, func.max(AgentStatusChange.changed_at))
            .where(AgentStatusChange.agent_id.in_(ids))
            .group_by(AgentStatusChange.agent_id)
        ).all()
    )
    views = []
    for agent in agents:
        profile = profiles.get(agent.id)
        views.append(
            AgentView(
                id=agent.id,
                code=agent.code,
                user_id=agent.user_id,
                username=agent.user.username,
                name=agent.user.full_name,
                phone=agent.user.phone,
                branch_id=agent.branch_id,
                wadah_id=agent.wadah_id,
                wadah_name=agent.wadah.name,
                status=str(agent.status),
                status_changed_at=changed.get(agent.id),
                nik=profile.nik if profile else None,
                birth_date=profile.birth_date if profile else None,
                sex=profile.sex if profile else None,
                member_id=agent.member_id,
                areas=areas.get(agent.id, []),
                members_served=served.get(agent.id, 0),
                open_visits=visits.get(agent.id, 0),
                cash_on_hand_idr=max(int(held.get(agent.id, 0)), 0),
                created_at=agent.created_at,
            )
        )
    return views


def _counts(session: DbSession, query: Any, key: Any) -> dict[int, int]:
    return {agent_id: int(n or 0) for agent_id, n in session.execute(query.group_by(key)).all()}
