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
    from redis.exceptions import RedisError

    from core.clock import utcnow
    from core.extensions import db, redis_connection
    from core.outbox import SENDERS, deliver_pending

    app = _app()
    with app.app_context():
        try:
            redis_connection().delete("iuran:scheduled:outbox")  # texts queued from now on schedule anew
        except RedisError:  # the texts are in the database: they go out whether Redis answers or not
            log.warning("could not clear the outbox flag; delivering anyway")
        sender = SENDERS[app.config["OUTBOX_SENDER"]]()
        return deliver_pending(db.session, sender, utcnow())


def alert_blocked_agents() -> int:
    """Raise today's alerts for agents holding cash over the limit or past the deposit deadline."""
    from core.clock import utcnow
    from core.extensions import db
    from payments.ledger.services import alert_blocked_agents as alert

    with _app().app_context():
        return alert(db.session, utcnow())


def process_webhook_events() -> int:
    """Apply every stored provider callback, in batches; safe to run on many workers at once."""
    from core.clock import utcnow
    from core.extensions import db, redis_connection
    from payments.autodebit.providers import configured_providers
    from payments.autodebit.services import process_webhook_events as process

    app = _app()
    with app.app_context():
        redis_connection().delete("iuran:scheduled:webhooks")  # callbacks arriving from now on schedule anew
        return process(db.session, configured_providers(app.config), utcnow())


def run_debits(branch_id: int | None = None) -> dict[str, int]:
    """Create and send the debits that are due, for one branch (or all); safe to re-run."""
    from core.clock import utcnow
    from core.extensions import db
    from payments.autodebit.providers import configured_providers
    from payments.autodebit.services import run_debits as run

    app = _app()
    with app.app_context():
        result = run(db.session, configured_providers(app.config), utcnow(), branch_id)
        return {"created": result.created, "sent": result.sent, "refused": result.refused}


def fan_out_debit_runs() -> int:
    """One debit job per branch, so many workers on many machines share the run."""
    from sqlalchemy import select

    from core.extensions import db
    from organisation.models import Branch
    from workers.queues import DEFAULT, LONG_JOB_TIMEOUT, queue

    with _app().app_context():
        branch_ids = list(db.session.scalars(select(Branch.id)))
        target = queue(DEFAULT)
        for branch_id in branch_ids:
            target.enqueue(run_debits, branch_id, job_timeout=LONG_JOB_TIMEOUT)  # re-running is harmless
        return len(branch_ids)


def reconcile_branch(branch_id: int, on: str | None = None) -> dict[str, object]:
    """Recompute every standing of one branch (``on``: an ISO instant, for a re-run of a past night)."""
    from datetime import datetime

    from collection.members.reconciliation import reconcile_branch as reconcile
    from collection.members.reconciliation import summary
    from core.clock import utcnow
    from core.extensions import db

    with _app().app_context():
        now = datetime.fromisoformat(on) if on else utcnow()
        return summary(reconcile(db.session, branch_id, now))


def fan_out_nightly_reconciliation() -> list[int]:
    """Hourly: one reconciliation job for each branch where it is now 01:00 (WIB, WITA or WIT)."""
    from collection.members.reconciliation import branches_at_local_hour
    from core.clock import utcnow
    from core.extensions import db
    from workers.queues import LONG_JOB_TIMEOUT, LOW, queue

    with _app().app_context():
        branch_ids = branches_at_local_hour(db.session, utcnow(), 1)
        for branch_id in branch_ids:
            queue(LOW).enqueue(reconcile_branch, branch_id, job_timeout=LONG_JOB_TIMEOUT)
        return branch_ids


def close_branch_days(branch_id: int, on: str | None = None) -> int:
    """Close the branch's day (and any day a missed run left open) into agents' batches for finance."""
    from datetime import datetime

    from core.clock import utcnow
    from core.extensions import db
    from payments.finance.batches import close_due_days

    with _app().app_context():
        return close_due_days(db.session, branch_id, datetime.fromisoformat(on) if on else utcnow())


def fan_out_day_end() -> list[int]:
    """Hourly: close the day into batches in each branch where it is now the day's end (21:00 local)."""
    from collection.members.reconciliation import branches_at_local_hour
    from core.clock import utcnow
    from core.extensions import db
    from payments.finance.batches import DAY_END_HOUR
    from workers.queues import DEFAULT, queue

    with _app().app_context():
        branch_ids = branches_at_local_hour(db.session, utcnow(), DAY_END_HOUR)
        for branch_id in branch_ids:
            queue(DEFAULT).enqueue(close_branch_days, branch_id)
        return branch_ids


def import_sponsored_file(import_id: int) -> dict[str, int]:
    """Run a large sponsor import that the API queued (its file waits in the instance folder); safe to re-run."""
    from pathlib import Path

    from collection.sponsors.imports import run_import, stored_upload
    from core.clock import utcnow
    from core.extensions import db

    app = _app()
    with app.app_context():
        path = stored_upload(Path(app.instance_path), import_id)
        if not path.exists():  # done by an earlier run, which removed it
            log.info("sponsor import %s: no file waiting", import_id)
            return {}
        record = run_import(db.session, import_id, path.read_bytes(), utcnow())
        path.unlink(missing_ok=True)
        return {"created": record.created, "sponsored": record.sponsored, "rejected": record.rejected}


def import_bank_statement(import_id: int) -> dict[str, object]:
    """Import a large bank statement waiting in the database, chunk by chunk with its progress; safe to re-run
    (a run that broke off resumes without writing a line twice)."""
    from core.clock import utcnow
    from core.extensions import db
    from payments.finance.statement_import import run_import

    app = _app()
    with app.app_context():
        record = run_import(db.session, import_id, utcnow())
        if record is None:
            return {}
        return {"status": record.status, "credit_lines": record.credit_lines, "new_lines": record.new_lines}


def purge_web_sessions() -> int:
    """Daily: the rows of web sessions that ended a month ago go (the audit log keeps logins and logouts)."""
    from core.clock import utcnow
    from core.extensions import db
    from organisation.logins import purge_web_sessions as purge

    with _app().app_context():
        return purge(db.session, utcnow())


def end_finished_programmes() -> list[int]:
    """Daily: sponsor programmes whose last month has passed end; their members get a notice and a visit, once."""
    from collection.sponsors.programmes import end_finished_programmes as end
    from core.clock import utcnow
    from core.extensions import db
    from workers.queues import schedule_outbox_delivery

    with _app().app_context():
        ended = end(db.session, utcnow())
        if ended:
            schedule_outbox_delivery()
        return ended


def import_settlement_report(import_id: int) -> dict[str, int]:
    """Import a large settlement report the API kept in the database, chunk by chunk; safe to re-run."""
    from core.clock import utcnow
    from core.extensions import db
    from payments.autodebit.settlements import run_settlement_import

    with _app().app_context():
        record = run_settlement_import(db.session, import_id, utcnow())
        return {"rows_done": record.rows_done, "new_lines": record.new_lines}
