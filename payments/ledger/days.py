"""An agent's business day: money may be dated on it until finance approves the day's batch."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy import select

from core.errors import Conflict
from core.extensions import DbSession
from core.i18n import day_label
from organisation.models import Agent
from payments.ledger.models import BatchStatus, DailyBatch


def lock_agent(session: DbSession, agent_id: int) -> None:
    """Serialise an agent's money with finance's decisions on his days: cash and deposits take this lock
    before they check the day is open, and an approval takes it before it reads the day's figures, so
    nothing can land in a day between the approval's reading and its commit."""
    session.execute(select(Agent.id).where(Agent.id == agent_id).with_for_update())


def ensure_day_open(session: DbSession, agent_id: int, day: date, field_name: str) -> None:
    """Refuse money dated on a day whose batch finance has approved: that day is locked."""
    lock_agent(session, agent_id)
    status = session.scalar(
        select(DailyBatch.status).where(DailyBatch.agent_id == agent_id, DailyBatch.business_date == day)
    )
    refuse_locked_day(status, day, field_name)


def refuse_locked_day(status: str | None, day: date, field_name: str) -> None:
    """The day lock's rule on the day's batch status as read after the agent's lock (None: no batch yet)."""
    if status == BatchStatus.APPROVED:
        raise Conflict(
            gettext(
                "Finance has approved and locked your batch of %(day)s: record this with today's date.",
                day=day_label(day),
            ),
            errors={"json": {field_name: [gettext("the batch of %(day)s is locked", day=day_label(day))]}},
        )
