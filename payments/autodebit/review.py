"""Callbacks under review in pages: oldest first, every one on some page (the list stopped silently at 500)."""

from __future__ import annotations

from sqlalchemy import or_, select

from collection.members.services import Scope
from core.extensions import DbSession
from core.paging import page_of
from organisation.models import StaffUser
from payments.autodebit import orders
from payments.autodebit.models import WebhookEvent
from payments.autodebit.services import orders_of_branch


def review_page(session: DbSession, actor: StaffUser, offset: int, limit: int) -> tuple[list[WebhookEvent], int]:
    """One page of the callbacks finance must look at (unknown orders, amounts that differ, contradictions) and
    how many: a branch sees those of its own members' orders (debits, and the kinds registered in orders.py: members'
    own charges); one that names no order we know belongs to no
    branch, and only an admin sees it (its raw body may be anyone's)."""
    query = select(WebhookEvent).where(WebhookEvent.state == "review")
    scope = Scope.of(actor)
    if scope.branch_id is not None:
        ours = [orders_of_branch(scope.branch_id)] + [k.of_branch(scope.branch_id) for k in orders.registered()]
        query = query.where(or_(*(WebhookEvent.order_id.in_(q) for q in ours)))
    return page_of(session, query.order_by(WebhookEvent.id), offset, limit)
