"""Thin RQ jobs: each takes ids and ISO dates, opens an app context and calls one service."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

log = logging.getLogger(__name__)


@cache
def _app() -> Any:
    """One app per worker process (an RQ job runs in a fork of it, or in it for SimpleWorker)."""
    from app import create_app

    return create_app()


def heartbeat() -> str:
    """Log that the cron scheduler and a worker are alive."""
    log.info("iuran heartbeat")
    return "ok"


def echo(value: object) -> object:
    """Return ``value``: lets tests prove a real ``rq worker`` runs jobs from the real Redis."""
    return value


def deliver_outbox() -> int:
    """Send the texts waiting in the outbox with the configured sender; safe to run any number of times."""
    from core.clock import utcnow
    from core.outbox import SENDERS, deliver_pending
    from extensions import db

    app = _app()
    with app.app_context():
        sender = SENDERS[app.config["OUTBOX_SENDER"]]()
        return deliver_pending(db.session, sender, utcnow())


def alert_blocked_agents() -> int:
    """Raise today's alerts for agents holding cash over the limit or past the deposit deadline."""
    from core.clock import utcnow
    from extensions import db
    from payments.services import alert_blocked_agents as alert

    with _app().app_context():
        return alert(db.session, utcnow())
