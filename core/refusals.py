"""Refusals (a wrong password, a forged callback) counted per address and written to the audit log in aggregate.

The audit log is append-only, so a flood of refusals cannot be folded into one row that is updated. Each
(action, address) counts its refusals in a window (core/ratelimit.py's counters); a row is written for the
first refusal of a window and then when the count reaches 10, 100, 1,000, …, each saying how many so far. A
flood of 100,000 forged callbacks from one address writes 6 rows, not 100,000, and still says how many came.
"""

from __future__ import annotations

from typing import Any

from core import audit, ratelimit
from core.extensions import DbSession


def is_recorded(count: int) -> bool:
    """Whether the ``count``-th refusal of a window gets an audit row: the 1st, 10th, 100th, 1,000th, …"""
    if count < 1:
        return False
    while count % 10 == 0:
        count //= 10
    return count == 1


def record_refusal(
    session: DbSession,
    action: str,
    address: str,
    window_seconds: int,
    entity_type: str,
    **details: Any,
) -> int:
    """Count one refusal of ``action`` from ``address``; audit it when :func:`is_recorded` says so (the caller
    commits). Returns the window's count, which the caller may hold against a limit."""
    count = ratelimit.hit(f"refusals:{action}:{address}", window_seconds)
    if is_recorded(count):
        audit.record(
            session,
            action,
            entity_type,
            None,
            None,
            count=count,
            window_seconds=window_seconds,
            address=address,
            **details,
        )
    return count


def refusals(action: str, address: str, window_seconds: int) -> int:
    """How many refusals of ``action`` from ``address`` this window has counted (nothing counted)."""
    return ratelimit.hits(f"refusals:{action}:{address}", window_seconds)


def seconds_left(action: str, address: str, window_seconds: int) -> int:
    """Seconds until the window counting ``action``'s refusals from ``address`` ends (a 429's Retry-After)."""
    return ratelimit.seconds_left(f"refusals:{action}:{address}", window_seconds)
