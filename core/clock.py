"""Time as the services see it: ``*_at`` columns hold naive UTC; business days live in a branch's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now, as naive UTC (what every ``*_at`` column stores, on SQLite and PostgreSQL alike)."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_today(timezone: str, at: datetime | None = None) -> date:
    """The business date in a branch's time zone (WIB, WITA or WIT) at a naive-UTC instant."""
    instant = (at or utcnow()).replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(timezone)).date()


def app_now() -> datetime:
    """Now for a request or job: the app's ``CLOCK`` setting when a test pins it, else the real UTC time."""
    from flask import current_app

    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()
