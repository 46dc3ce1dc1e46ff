"""Two ``rq cron`` processes at once enqueue each periodic job once per period: a Redis lock per job and period.

rq's CronScheduler enqueues a job when its time comes, on every scheduler that runs. :func:`install` (called by
workers/schedule.py, which ``rq cron workers.schedule`` loads before it registers the jobs) has the scheduler make
:class:`OncePerPeriodCronJob` instead: before enqueuing it takes ``SET iuran:cron:<job>:<period> NX EX <ttl>`` and
skips the run when another scheduler took that key first. The period is the cron time the run is for (every
scheduler computes the same), or for an ``interval=`` job the interval of the epoch it falls in; the key lives
twice the time to the next run, at least a minute. The job carries its period in ``meta["cron_period"]``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from croniter import croniter
from redis import Redis
from rq import cron as rq_cron
from rq.job import Job
from rq.utils import now

LOCK_PREFIX = "iuran:cron"
PERIOD_META = "cron_period"

log = logging.getLogger("rq.cron")  # in the scheduler's own log, beside its "Enqueued job" lines


class OncePerPeriodCronJob(rq_cron.CronJob):
    """rq's CronJob, enqueued by one scheduler only for each period."""

    def period(self, at: datetime) -> tuple[str, int]:
        """The period a run at ``at`` is for, and how long its lock lives (seconds)."""
        if self.cron and self.next_enqueue_time is not None:
            scheduled = self.next_enqueue_time
            local = scheduled.astimezone().replace(tzinfo=None)  # cron fields are the scheduler's local time
            following: datetime = croniter(self.cron, local).get_next(datetime)
            gap = following.timestamp() - scheduled.timestamp()
            return scheduled.astimezone(UTC).isoformat(), max(60, int(2 * gap))
        interval = max(1, int(self.interval or 60))
        start = int(at.timestamp()) // interval * interval
        return datetime.fromtimestamp(start, UTC).isoformat(), max(60, 2 * interval)

    def enqueue(self, connection: Redis) -> Job | None:  # type: ignore[override]
        period, ttl = self.period(now())
        if not connection.set(f"{LOCK_PREFIX}:{self.name}:{period}", 1, nx=True, ex=ttl):
            log.info("cron: %s for %s was enqueued by another scheduler", self.name, period)
            return None
        self.job_options["meta"] = {**self.job_options.get("meta", {}), PERIOD_META: period}
        return super().enqueue(connection)


def install() -> None:
    """Have rq's CronScheduler make the jobs it registers from now on once per period (see the module's doc)."""
    rq_cron.CronJob = OncePerPeriodCronJob  # type: ignore[misc]  # CronScheduler.register builds this name
