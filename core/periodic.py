"""When each branch's periodic jobs last succeeded, so that the next run does what a missed one did not.

A branch's nightly reconciliation is due at 01:00 local time, its day end at 21:00 and its remittance file at 21:40
(workers/jobs.py PERIODIC). The hourly fan-outs enqueue every branch whose last success covers an earlier period
than the most recent due time, not only the branches where it is that hour now: if cron was down at 01:05, the
02:05 run does the missed night. A period is the branch's local date of the due time; each branch job records
its period here once its own work has committed. One row per job and branch (the latest success).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Date, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import DbSession, Model

RECONCILIATION = "reconciliation"
DAY_END = "day_end"
REMITTANCE = "remittance"


class PeriodicRun(Model):
    """A branch's last successful run of a periodic job: the period (local date) it covered, and when."""

    __tablename__ = "periodic_runs"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    branch_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # branches.id
    period: Mapped[date] = mapped_column(Date)
    finished_at: Mapped[datetime]


@dataclass(frozen=True)
class Due:
    """A branch whose run of ``period`` is due since ``at`` (naive UTC)."""

    branch_id: int
    period: date
    at: datetime


def last_due(timezone: str, now: datetime, hour: int, minute: int = 0) -> datetime:
    """The most recent local ``hour:minute`` in ``timezone`` at or before ``now``, as naive UTC."""
    zone = ZoneInfo(timezone)
    local_now = now.replace(tzinfo=UTC).astimezone(zone)
    due = datetime.combine(local_now.date(), time(hour, minute), tzinfo=zone)
    if due > local_now:
        due = datetime.combine(local_now.date() - timedelta(days=1), time(hour, minute), tzinfo=zone)
    return due.astimezone(UTC).replace(tzinfo=None)


def period_at(timezone: str, now: datetime, hour: int, minute: int = 0) -> date:
    """The period whose run is due at ``now``: the local date of :func:`last_due`."""
    return last_due(timezone, now, hour, minute).replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


def due(
    session: DbSession, job: str, branches: Iterable[tuple[int, str]], now: datetime, hour: int, minute: int = 0
) -> list[Due]:
    """The branches (id, time zone) whose last success of ``job`` covers an earlier period than the one due now."""
    query = select(PeriodicRun.branch_id, PeriodicRun.period).where(PeriodicRun.job == job)
    done = {branch_id: period for branch_id, period in session.execute(query)}
    result = []
    for branch_id, timezone in branches:
        at = last_due(timezone, now, hour, minute)
        period = at.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
        last = done.get(branch_id)
        if last is None or last < period:
            result.append(Due(branch_id, period, at))
    return result


def record(session: DbSession, job: str, branch_id: int, period: date, finished_at: datetime) -> None:
    """Note that ``job`` succeeded for the branch's ``period`` (an earlier period never replaces a later); commits."""
    newer = (
        update(PeriodicRun)
        .where(PeriodicRun.job == job, PeriodicRun.branch_id == branch_id, PeriodicRun.period <= period)
        .values(period=period, finished_at=finished_at)
    )
    moved = cast(CursorResult[tuple[()]], session.execute(newer)).rowcount
    if moved == 0 and session.get(PeriodicRun, (job, branch_id)) is None:
        try:
            with session.begin_nested():
                session.add(PeriodicRun(job=job, branch_id=branch_id, period=period, finished_at=finished_at))
        except IntegrityError:  # another run of the same job recorded it a moment ago
            session.execute(newer)
    session.commit()


def last_runs(session: DbSession) -> list[tuple[str, int, datetime]]:
    """Every (job, branch_id, finished_at) of the last successes, for the metrics."""
    query = select(PeriodicRun.job, PeriodicRun.branch_id, PeriodicRun.finished_at)
    rows = session.execute(query.order_by(PeriodicRun.job, PeriodicRun.branch_id))
    return [(job, branch_id, finished_at) for job, branch_id, finished_at in rows]
