"""Callbacks under review in pages: oldest first, every one on some page (the list stopped silently at 500); and
finance's resolution of one, with what was done (refunded, applied by hand)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import Select, or_, select

from collection.members.services import Scope
from core import audit
from core.errors import Conflict, NotFound, field_error
from core.extensions import DbSession
from core.paging import page_of
from organisation.models import StaffUser
from payments.autodebit import orders
from payments.autodebit.models import WebhookEvent
from payments.autodebit.services import orders_of_branch

RESOLVED = "resolved"
MIN_NOTE = 3  # the schema's Length(min=3) counts blanks: the note's words are checked here, stripped


def _in_scope(query: Select[WebhookEvent], actor: StaffUser) -> Select[WebhookEvent]:
    """A branch's callbacks are those of its own members' orders (debits, and the kinds registered in orders.py:
    members' own charges); one that names no order we know belongs to no branch: an admin's alone."""
    scope = Scope.of(actor)
    if scope.branch_id is None:
        return query
    ours = [orders_of_branch(scope.branch_id)] + [k.of_branch(scope.branch_id) for k in orders.registered()]
    return query.where(or_(*(WebhookEvent.order_id.in_(q) for q in ours)))


def review_page(session: DbSession, actor: StaffUser, offset: int, limit: int) -> tuple[list[WebhookEvent], int]:
    """One page of the callbacks finance must look at (unknown orders, amounts that differ, contradictions, a
    member's payment that came too late) and how many, of the caller's branch (an admin's: all)."""
    query = _in_scope(select(WebhookEvent).where(WebhookEvent.state == "review"), actor)
    return page_of(session, query.order_by(WebhookEvent.id), offset, limit)


def resolve_review(
    session: DbSession,
    actor: StaffUser,
    event_id: int,
    note: str,
    now: datetime,
    outcome: str | None = None,
    public_base_url: str = "",
) -> WebhookEvent:
    """Finance says what it did about a callback in review (refunded the member, applied the money by hand...):
    it leaves the queue, with the note, audited. Another branch's callback is a 404; the same note again is a
    retry; a callback not in review is a 409. A note of blanks (or a dot) says nothing: a 422 naming it.

    ``outcome`` says what became of the money (``orders.OUTCOMES``); the kind of the callback's order (orders.py)
    applies it to the order in the same transaction (a member's own charge shows it to him), and may require it."""
    note = note.strip()
    if len(note) < MIN_NOTE:
        raise field_error(
            "note", gettext("Say what was done about the callback, in at least %(least)s characters.", least=MIN_NOTE)
        )
    if outcome is not None and outcome not in orders.OUTCOMES:
        raise field_error("outcome", gettext("Choose settled, refunded or rejected."))
    event = session.scalar(_in_scope(select(WebhookEvent).where(WebhookEvent.id == event_id), actor).with_for_update())
    if event is None:
        raise NotFound(gettext("There is no callback %(id)s in your branch.", id=event_id))
    if event.state == RESOLVED and event.note == note:
        return event
    if event.state != "review":
        raise Conflict(
            gettext("Callback %(id)s is not under review: there is nothing to resolve.", id=event_id),
            reason="not_in_review",
        )
    kind = orders.kind_of(event.order_id)
    if kind is not None and kind.resolve is not None and event.order_id is not None:
        resolution = orders.Resolution(
            event.order_id, event.provider, event.raw_body, outcome, note, actor.id, now, public_base_url
        )
        kind.resolve(session, resolution)
    before = {"state": event.state, "note": event.note}
    event.state, event.note, event.processed_at = RESOLVED, note, now
    audit.record(
        session,
        "webhook_event.resolved",
        "webhook_event",
        event.id,
        actor.id,
        order_id=event.order_id,
        outcome=outcome,
        before=before,
        after={"state": RESOLVED, "note": note},
    )
    session.commit()
    return event
