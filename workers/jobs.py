"""Thin RQ jobs: each takes ids and ISO dates, opens an app context and calls one service."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def heartbeat() -> str:
    """Log that the cron scheduler and a worker are alive; the placeholder periodic job."""
    log.info("iuran heartbeat")
    return "ok"


def echo(value: object) -> object:
    """Return ``value``: lets tests prove a real ``rq worker`` runs jobs from the real Redis."""
    return value
