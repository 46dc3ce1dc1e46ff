"""The branch's alerts in pages: newest first, every one on some page (the list stopped silently at 200)."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import DbSession
from core.paging import page_of
from organisation.models import Role, StaffUser
from payments.ledger.models import BranchAlert


def alert_page(
    session: DbSession, actor: StaffUser, offset: int, limit: int, include_resolved: bool = False
) -> tuple[list[BranchAlert], int]:
    """One page of the caller's branch's alerts (every branch's for an admin), newest first, and how many."""
    query = select(BranchAlert).order_by(BranchAlert.raised_at.desc(), BranchAlert.id.desc())
    if actor.role != Role.ADMIN:
        query = query.where(BranchAlert.branch_id == actor.branch_id)
    if not include_resolved:
        query = query.where(BranchAlert.resolved_at.is_(None))
    return page_of(session, query, offset, limit)
