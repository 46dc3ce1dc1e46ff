"""A schedule for tests/workers/test_cron_lock.py: one job every two seconds, behind workers/cron_lock.py."""

from __future__ import annotations

from rq import cron

from workers import cron_lock, jobs

QUEUE = "test-cron"

cron_lock.install()
cron.register(jobs.echo, QUEUE, args=("tick",), cron="* * * * * */2")  # croniter's sixth field: seconds
