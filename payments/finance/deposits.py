"""A setoran declared: recorded against the agent's cash, then matched with the bank lines that show it.

An agent declares his own (``record_deposit``). An agent who is no longer active (deactivated or terminated) cannot
log in, so branch finance declares his for him (``record_deposit_for_agent``): the same row, the same rules, with
finance as the one who recorded it. Both go through ``_record``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.clock import local_today
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.i18n import rupiah
from core.paging import rows_page_of
from organisation.models import Agent, AgentStatus, Branch, Role, StaffUser
from payments.finance.bank import lock_branch
from payments.finance.matching import match_lines
from payments.finance.models import StatementLine
from payments.ledger.cash import CashPosition
from payments.ledger.days import ensure_day_open
from payments.ledger.models import AgentCashTotal, BranchAlert, Deposit
from payments.ledger.services import MAX_BACKDATE_DAYS, agent_cash, agent_for, existing_request, fingerprint

FOR_AGENT_ROLES = (Role.BRANCH_FINANCE, Role.ADMIN)  # who declares a departed agent's setoran


@dataclass(frozen=True)
class DepartedAgentCash:
    """An agent no longer active who still holds cash, as finance's desk lists him."""

    agent: Agent
    cash: CashPosition


def record_deposit(
    session: DbSession,
    actor: StaffUser,
    *,
    amount_idr: int,
    bank_reference: str,
    deposited_on: date | None,
    idempotency_key: str,
    now: datetime,
) -> tuple[Deposit, bool]:
    """Record a setoran an agent made; the same key returns the same deposit."""
    agent = agent_for(session, actor)
    digest = fingerprint(
        amount_idr=amount_idr, bank_reference=bank_reference, deposited_on=deposited_on, agent=agent.id
    )
    existing = existing_request(session, Deposit, idempotency_key, digest)
    if existing is not None:
        return existing, False
    return _record(
        session,
        actor,
        agent,
        amount_idr=amount_idr,
        bank_reference=bank_reference,
        deposited_on=deposited_on,
        idempotency_key=idempotency_key,
        digest=digest,
        now=now,
    )


def record_deposit_for_agent(
    session: DbSession,
    actor: StaffUser,
    agent_id: int,
    *,
    amount_idr: int,
    bank_reference: str,
    deposited_on: date,
    idempotency_key: str,
    now: datetime,
    branch_id: int | None = None,
) -> tuple[Deposit, bool]:
    """Branch finance records the setoran of an agent who is no longer active (he cannot log in to declare it), so
    his cash on hand falls and the bank credit that shows it is matched. The same key returns the same deposit.

    Only finance of the agent's branch or an admin (``branch_id``: the branch the desk is showing); another branch's
    agent is a 404; an active agent is a 409 (he declares his own)."""
    if actor.role not in FOR_AGENT_ROLES:
        raise Forbidden(
            gettext("Only branch finance (or an admin) records a deposit for an agent who is no longer active.")
        )
    agent = session.get(Agent, agent_id)
    if (
        agent is None
        or (actor.role != Role.ADMIN and actor.branch_id != agent.branch_id)
        or (branch_id is not None and agent.branch_id != branch_id)
    ):
        raise NotFound(gettext("There is no agent %(id)s in your branch.", id=agent_id))
    digest = fingerprint(
        amount_idr=amount_idr,
        bank_reference=bank_reference,
        deposited_on=deposited_on,
        agent=agent.id,
        declared_by="branch",
    )
    existing = existing_request(session, Deposit, idempotency_key, digest)
    if existing is not None:
        return existing, False
    if agent.status == AgentStatus.ACTIVE:
        raise Conflict(
            gettext("Agent %(code)s is active: he records his own deposit (setoran) in his app.", code=agent.code),
            reason="agent_active",
        )
    return _record(
        session,
        actor,
        agent,
        amount_idr=amount_idr,
        bank_reference=bank_reference,
        deposited_on=deposited_on,
        idempotency_key=idempotency_key,
        digest=digest,
        now=now,
        for_agent=True,
    )


def _record(
    session: DbSession,
    actor: StaffUser,
    agent: Agent,
    *,
    amount_idr: int,
    bank_reference: str,
    deposited_on: date | None,
    idempotency_key: str,
    digest: str,
    now: datetime,
    for_agent: bool = False,
) -> tuple[Deposit, bool]:
    """Check a deposit against the agent's day and cash, store it, match the branch's bank lines, resolve his
    alerts once he may collect again, audit, commit. ``for_agent``: finance records it for him."""
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    deposited_on = deposited_on or today
    if deposited_on > today:
        raise field_error("deposited_on", gettext("The deposit date is in the future: use the date on the bank slip."))
    if deposited_on < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise field_error(
            "deposited_on",
            gettext(
                "The deposit date is more than %(days)s days ago: iuran takes deposits of the last days only.",
                days=MAX_BACKDATE_DAYS,
            )
            if for_agent
            else gettext(
                "The deposit date is more than %(days)s days ago: the branch records it.", days=MAX_BACKDATE_DAYS
            ),
        )
    ensure_day_open(session, agent.id, deposited_on, "deposited_on")
    cash = agent_cash(session, agent, today)
    if amount_idr > cash.on_hand_idr:
        raise field_error(
            "amount_idr",
            gettext(
                "Agent %(code)s holds %(amount)s of undeposited cash; a deposit cannot be more than that.",
                code=agent.code,
                amount=rupiah(cash.on_hand_idr),
            )
            if for_agent
            else gettext(
                "You hold %(amount)s of undeposited cash; a deposit cannot be more than that.",
                amount=rupiah(cash.on_hand_idr),
            ),
        )
    deposit = Deposit(
        agent_id=agent.id,
        branch_id=branch.id,
        amount_idr=amount_idr,
        deposited_on=deposited_on,
        bank_reference=bank_reference.strip(),
        idempotency_key=idempotency_key,
        request_fingerprint=digest,
        recorded_by_user_id=actor.id,
        recorded_at=now,
    )
    session.add(deposit)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = existing_request(session, Deposit, idempotency_key, digest)
        if existing is None:
            raise
        return existing, False
    lock_branch(session, branch.id)  # an import's worker may be matching this branch's lines meanwhile
    match_lines(session, branch.id, now)  # the bank may have shown this deposit before it was declared
    after = agent_cash(session, agent, today)
    if not after.blocked:
        for alert in session.scalars(
            select(BranchAlert).where(BranchAlert.agent_id == agent.id, BranchAlert.resolved_at.is_(None))
        ):
            alert.resolved_at = now
    if for_agent:
        line_id = session.scalar(select(StatementLine.id).where(StatementLine.deposit_id == deposit.id))
        audit.record(
            session,
            "deposit.recorded_for_agent",
            "deposit",
            deposit.id,
            actor.id,
            agent_id=agent.id,
            agent_status=str(agent.status),
            amount_idr=amount_idr,
            bank_reference=bank_reference,
            deposited_on=deposited_on.isoformat(),
            cash_on_hand_before_idr=cash.on_hand_idr,
            cash_on_hand_after_idr=after.on_hand_idr,
            statement_line_id=line_id,
        )
    else:
        audit.record(
            session,
            "deposit.recorded",
            "deposit",
            deposit.id,
            actor.id,
            amount_idr=amount_idr,
            bank_reference=bank_reference,
        )
    session.commit()
    return deposit, True


def departed_agents_with_cash(session: DbSession, branch_id: int, today: date) -> list[DepartedAgentCash]:
    """The branch's agents who are no longer active and still hold cash, by code, each with his cash position."""
    holders = session.scalars(
        select(Agent)
        .join(AgentCashTotal, AgentCashTotal.agent_id == Agent.id)
        .where(
            Agent.branch_id == branch_id,
            Agent.status != AgentStatus.ACTIVE,
            AgentCashTotal.collected_idr > AgentCashTotal.deposited_idr,
        )
        .order_by(Agent.code)
    )
    return [DepartedAgentCash(agent, agent_cash(session, agent, today)) for agent in list(holders)]


def deposits_for_departed(
    session: DbSession, branch_id: int, offset: int = 0, limit: int | None = 50
) -> tuple[list[tuple[Deposit, Agent, int | None]], int]:
    """A page of the deposits finance recorded for agents no longer able to declare them, newest first, each with
    the bank line matched to it (None: not in the bank yet), and how many there are (the page stopped silently at
    the newest 50)."""
    query = (
        select(Deposit, Agent, StatementLine.id)
        .join(Agent, Agent.id == Deposit.agent_id)
        .outerjoin(StatementLine, StatementLine.deposit_id == Deposit.id)
        .where(Deposit.branch_id == branch_id, Deposit.recorded_by_user_id != Agent.user_id)
        .order_by(Deposit.recorded_at.desc(), Deposit.id.desc())
    )
    rows, total = rows_page_of(session, query, offset, limit)
    return [(deposit, agent, line_id) for deposit, agent, line_id in rows], total
