"""Approving a day's clean batches in one action.

A *clean* batch is closed (waiting for finance's judgement), has no variance and nothing pending: its figures
agree, so there is nothing for a note to explain. Each one is approved as :func:`batches.approve_batch` approves
it (its own transaction, its own audit record, its figures frozen); a batch with variances or something pending,
or one returned to its agent, is left to be judged one by one. Approving again approves nothing more: a batch
already approved is not approved twice, so a double click or a retried request is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import select

from core.errors import DomainError, Forbidden
from core.extensions import DbSession
from organisation.models import Role, StaffUser
from payments.finance import batches
from payments.finance.bank import branch_for
from payments.ledger.days import lock_agent
from payments.ledger.models import BatchStatus, DailyBatch


@dataclass
class CleanApproval:
    """What one "approve the clean batches" did: the batches it approved, and those left to judge one by one."""

    date: date
    approved: list[int] = field(default_factory=list)  # batch ids approved by this action
    left: list[int] = field(default_factory=list)  # batch ids still waiting: variances, pending, or returned


def is_clean(view: batches.BatchView) -> bool:
    """Closed, no variance, nothing pending: approved without a note."""
    return view.status == BatchStatus.CLOSED and not view.figures.variances and not view.figures.pending


def clean_batches(views: list[batches.BatchView]) -> list[batches.BatchView]:
    return [v for v in views if v.id is not None and is_clean(v)]


def approve_clean_batches(
    session: DbSession, actor: StaffUser, branch_id: int, day: date, now: datetime
) -> CleanApproval:
    """Approve every clean batch of the branch's ``day``; the others are listed, untouched."""
    if actor.role not in (Role.BRANCH_FINANCE, Role.ADMIN):
        raise Forbidden(gettext("Only branch finance or an admin approves or returns a batch."))
    branch_for(session, actor, branch_id)
    views = batches.branch_day(session, actor, branch_id, day, now)
    result = CleanApproval(day)
    for view in views:
        if view.id is None or view.status == BatchStatus.APPROVED:
            continue
        if not is_clean(view):
            result.left.append(view.id)
            continue
        lock_agent(session, view.figures.agent_id)  # as approve_batch: a click a moment before has committed
        if session.scalar(select(DailyBatch.status).where(DailyBatch.id == view.id)) == BatchStatus.APPROVED:
            session.rollback()
            continue
        try:  # its figures are worked out again under the lock: a batch that changed since is left
            batches.approve_batch(session, actor, view.id, None, now)
        except DomainError:
            session.rollback()
            result.left.append(view.id)
            continue
        result.approved.append(view.id)
    return result
