"""The RQ queue names, highest priority first, and the app's queues."""

from __future__ import annotations

from rq import Queue

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
