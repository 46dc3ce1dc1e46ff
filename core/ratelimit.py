"""Fixed-window rate limits kept in Redis, shared by every web worker, with an in-process fallback.

When Redis is down or hung the limits still hold, per process: a throttle that turned itself off during an
outage would be an invitation to guess passwords then. Redis is not asked again for a few seconds after a
failure (``extensions.redis_reachable``), so a hung Redis costs one short timeout, not one per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import cast

from flask import current_app
from redis.exceptions import RedisError

from core.extensions import redis_connection, redis_failed, redis_reachable

log = logging.getLogger(__name__)

_LOCAL_MAX_KEYS = 50_000  # the fallback's memory is bounded: a flood of new keys cannot grow it without end


class _LocalWindows:
    """Fixed windows in this process's memory: the limit while Redis is away."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def add(self, name: str, amount: int, window_seconds: int) -> int:
        now = time.monotonic()
        with self._lock:
            ends, count = self._windows.get(name, (0.0, 0))
            if ends <= now:
                ends, count = now + window_seconds, 0
                if len(self._windows) >= _LOCAL_MAX_KEYS:
                    self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
                    if len(self._windows) >= _LOCAL_MAX_KEYS:  # all live: refuse rather than forget
                        return 1 << 30
            count += amount
            self._windows[name] = (ends, count)
            return count

    def seconds_left(self, name: str) -> float | None:
        with self._lock:
            ends, _ = self._windows.get(name, (0.0, 0))
        left = ends - time.monotonic()
        return left if left > 0 else None

    def delete(self, name: str) -> None:
        with self._lock:
            self._windows.pop(name, None)


def _local() -> _LocalWindows:
    """This app's fallback windows (one per app, so one app's outage does not count against another's)."""
    windows = current_app.extensions.get("iuran_local_ratelimit")
    if windows is None:
        windows = current_app.extensions.setdefault("iuran_local_ratelimit", _LocalWindows())
    return cast(_LocalWindows, windows)


def _add(key: str, amount: int, window_seconds: int) -> int:
    """Add ``amount`` hits to ``key``'s window and return its count (0 adds nothing and just reads)."""
    name = f"iuran:ratelimit:{key}"
    if redis_reachable():
        try:
            pipe = redis_connection().pipeline()
            pipe.set(name, 0, ex=window_seconds, nx=True)  # starts the window (EXPIRE NX needs Redis 7)
            pipe.incrby(name, amount)
            _, count = pipe.execute()
            return int(count)
        except RedisError:
            redis_failed()
            log.warning("rate limit store failed; limiting %s in this process", key)
    return _local().add(name, amount, window_seconds)


def allow(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key``; False once it has had ``limit`` hits in the current window."""
    return _add(key, 1, window_seconds) <= limit


def hit(key: str, window_seconds: int) -> int:
    """Count one hit on ``key`` and return the window's count (a failure, say)."""
    return _add(key, 1, window_seconds)


def give_back(key: str, window_seconds: int) -> None:
    """Take back one hit counted on ``key`` (a try that turned out not to count)."""
    _add(key, -1, window_seconds)


def hits(key: str, window_seconds: int) -> int:
    """The hits on ``key`` in the current window, without counting one."""
    return _add(key, 0, window_seconds)


def seconds_left(key: str, window_seconds: int) -> int:
    """Whole seconds until ``key``'s window ends (a 429's Retry-After: the time left, not the whole window); the
    whole window when no window is running or the store cannot say."""
    name = f"iuran:ratelimit:{key}"
    left: float | None = None
    if redis_reachable():
        try:
            milliseconds = int(cast(int, redis_connection().pttl(name)))
            left = milliseconds / 1000 if milliseconds > 0 else None
        except RedisError:
            redis_failed()
    if left is None:
        left = _local().seconds_left(name)
    return max(1, min(window_seconds, math.ceil(left))) if left is not None else window_seconds


def reset(key: str) -> None:
    """Forget the hits on ``key`` (after a successful login, say)."""
    name = f"iuran:ratelimit:{key}"
    _local().delete(name)
    if not redis_reachable():
        return
    try:
        redis_connection().delete(name)
    except RedisError:
        redis_failed()
        log.warning("rate limit store failed; could not reset %s", key)
