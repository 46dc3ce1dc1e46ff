"""The one table of periodic jobs, loaded by ``rq cron workers.schedule``.

Cron fields are read in the scheduler's local time zone; run it with TZ=UTC (scripts/run.py does)
so the table below means the same on every machine.
"""

from __future__ import annotations

from rq import cron

from workers import jobs
from workers.queues import DEFAULT, LOW

cron.register(jobs.heartbeat, LOW, cron="*/5 * * * *")
# Texts are enqueued after each commit; this sweep catches any that were not (Redis was down, say).
cron.register(jobs.deliver_outbox, DEFAULT, cron="* * * * *")
# Agents holding cash past the deposit deadline or over the limit: the branch hears of it every morning
# (01:00 UTC is 08:00 WIB, 09:00 WITA) and again at midday.
cron.register(jobs.alert_blocked_agents, DEFAULT, cron="0 1,5 * * *")
