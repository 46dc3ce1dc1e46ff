"""The agent's answer to a day finance returned: a note on the batch, and the batch back in finance's queue.

Finance returns a batch with a reason (payments/finance/batches.py ``return_batch``); the agent answers it from his
phone with a note, after recording a corrected deposit if one was missing or short (an ordinary deposit,
payments/finance/deposits.py). The answer puts the batch back to ``closed``, where finance reviews it again, and
is audit-logged. Sending the same answer twice is one answer.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select

from core import audit
from core.errors import Conflict, NotFound, field_error
from core.extensions import DbSession
from organisation.models import StaffUser
from payments.finance.batches import MAX_NOTE
from payments.ledger.days import lock_agent
from payments.ledger.models import BatchStatus, DailyBatch
from payments.ledger.services import agent_for

MIN_NOTE = 3


def own_batch(session: DbSession, actor: StaffUser, batch_id: int) -> DailyBatch:
    """The calling agent's batch (404 for anyone else's), whatever its status."""
    agent = agent_for(session, actor)
    batch = session.scalar(select(DailyBatch).where(DailyBatch.id == batch_id, DailyBatch.agent_id == agent.id))
    if batch is None:
        raise NotFound(gettext("You have no batch %(batch_id)s.", batch_id=batch_id))
    return batch


def answer_returned_batch(session: DbSession, actor: StaffUser, batch_id: int, note: str, now: datetime) -> DailyBatch:
    """The agent answers his returned batch with a note; it goes back to finance's queue. Only his own batch (404
    for anyone else's), only while it is returned (409 once finance has it again, unless it is this same answer)."""
    agent = agent_for(session, actor)
    note = note.strip()
    if not MIN_NOTE <= len(note) <= MAX_NOTE:
        raise field_error(
            "note",
            gettext(
                "Say in %(least)s to %(most)s characters what you did about the returned day.",
                least=MIN_NOTE,
                most=MAX_NOTE,
            ),
        )
    lock_agent(session, agent.id)  # one answer at a time, and none while finance decides on his days
    batch = own_batch(session, actor, batch_id)
    if batch.status == BatchStatus.CLOSED and batch.answer_note == note:
        return batch  # the same answer again (a resent form): already with finance
    if batch.status != BatchStatus.RETURNED:
        raise Conflict(
            gettext(
                "The batch of %(business_date)s is not returned to you: finance has it.",
                business_date=batch.business_date,
            ),
            reason="batch_not_returned",
        )
    audit.record(
        session,
        "batch.answered",
        "daily_batch",
        batch.id,
        actor.id,
        before={"status": batch.status, "answer_note": batch.answer_note},
        after={"status": BatchStatus.CLOSED.value, "answer_note": note},
        returned_reason=batch.decision_note,
    )
    batch.status = BatchStatus.CLOSED
    batch.answer_note = note
    batch.answered_at = now
    session.commit()
    return batch
