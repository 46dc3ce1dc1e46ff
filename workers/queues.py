"""The RQ queue names, highest priority first, and enqueueing after commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from rq import Queue

log = logging.getLogger(__name__)

HIGH = "high"
DEFAULT = "default"
LOW = "low"
ALL = (HIGH, DEFAULT, LOW)  # the order an `rq worker` drains them in


def queue(name: str = DEFAULT) -> Queue:
    """The named queue on the current app's Redis (call inside an app context)."""
    from extensions import redis_connection

    if name not in ALL:
        raise ValueError(f"unknown queue {name!r}; expected one of {ALL}")
    return Queue(name, connection=redis_connection())


def enqueue_after_commit(
    func: Callable[..., Any], *args: Any, queue_name: str = DEFAULT, job_id: str | None = None
) -> None:
    """Enqueue follow-up work once the data it needs is committed.

    A Redis outage must not undo a recorded payment: the failure is logged and the periodic sweep in
    workers/schedule.py picks the work up later.
    """
    try:
        queue(queue_name).enqueue(func, *args, job_id=job_id)
    except RedisError:
        log.exception("could not enqueue %s; the periodic sweep will do it", getattr(func, "__name__", func))


def schedule_webhook_processing() -> None:
    """Enqueue one batch job for stored callbacks, unless one is already waiting (a burst of callbacks
    makes one job, not one per callback: RQ costs milliseconds per job)."""
    from extensions import redis_connection
    from workers.jobs import process_webhook_events

    try:
        if redis_connection().set("iuran:webhooks:scheduled", 1, nx=True, ex=5):
            queue(HIGH).enqueue(process_webhook_events)
    except RedisError:
        log.exception("could not schedule webhook processing; the periodic sweep will do it")
