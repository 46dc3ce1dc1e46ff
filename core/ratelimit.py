"""Fixed-window rate limits kept in Redis, shared by every web worker."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from extensions import redis_connection

log = logging.getLogger(__name__)


def allow(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key``; False once it has had ``limit`` hits in the current window.

    If Redis cannot be reached the hit is allowed and logged: an outage must not lock agents out.
    """
    name = f"iuran:ratelimit:{key}"
    try:
        pipe = redis_connection().pipeline()
        pipe.set(name, 0, ex=window_seconds, nx=True)  # starts the window (EXPIRE NX needs Redis 7)
        pipe.incr(name)
        _, count = pipe.execute()
    except RedisError:
        log.exception("rate limit store failed; allowing %s", key)
        return True
    return int(count) <= limit


def reset(key: str) -> None:
    """Forget the hits on ``key`` (after a successful login, say)."""
    try:
        redis_connection().delete(f"iuran:ratelimit:{key}")
    except RedisError:
        log.exception("rate limit store failed; could not reset %s", key)
