"""A setoran declared: recorded against the agent's cash, then matched with the bank lines that show it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.clock import local_today
from core.errors import field_error
from core.extensions import DbSession
from organisation.models import Branch, StaffUser
from payments.finance.bank import lock_branch
from payments.finance.matching import match_lines
from payments.ledger.days import ensure_day_open
from payments.ledger.models import BranchAlert, Deposit
from payments.ledger.services import MAX_BACKDATE_DAYS, agent_cash, agent_for, existing_request, fingerprint


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
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    deposited_on = deposited_on or today
    if deposited_on > today:
        raise field_error("deposited_on", "The deposit date is in the future: use the date on the bank slip.")
    if deposited_on < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise field_error(
            "deposited_on", f"The deposit date is more than {MAX_BACKDATE_DAYS} days ago: the branch records it."
        )
    ensure_day_open(session, agent.id, deposited_on, "deposited_on")
    cash = agent_cash(session, agent, today)
    if amount_idr > cash.on_hand_idr:
        raise field_error(
            "amount_idr",
            f"You hold Rp{cash.on_hand_idr:,} of undeposited cash; a deposit cannot be more than that.".replace(
                ",", "."
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
