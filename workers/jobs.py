"""Thin RQ jobs: each takes ids and ISO dates, opens an app context and calls one service."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select

from agents.roster import proposals as roster_proposals
from app import create_app
from collection.members import reconciliation
from collection.national import imports as national_imports
from collection.sponsors import imports as sponsor_imports
from collection.sponsors import programmes
from core.clock import utcnow
from core.extensions import db, redis_connection
from core.outbox import SENDERS, deliver_pending
from organisation import logins
from organisation.models import Branch
from payments.autodebit import services as autodebit
from payments.autodebit.providers import configured_providers
from payments.autodebit.settlements import run_settlement_import
from payments.finance import statement_import
from payments.finance.batches import DAY_END_HOUR, close_due_days
from payments.ledger import services as ledger
from payments.remittance import services as remittance
from workers.queues import DEFAULT, LONG_JOB_TIMEOUT, LOW, queue, schedule_outbox_delivery

log = logging.getLogger(__name__)


@cache
def _app() -> Any:
    """One app per worker process (an RQ job runs in a fork of it, or in it for SimpleWorker)."""
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
    app = _app()
    with app.app_context():
        try:
            redis_connection().delete("iuran:scheduled:outbox")  # texts queued from now on schedule anew
        except RedisError:  # the texts are in the database: they go out whether Redis answers or not
            log.warning("could not clear the outbox flag; delivering anyway")
        sender = SENDERS[app.config["OUTBOX_SENDER"]]()
        return deliver_pending(db.session, sender, utcnow(), claim_seconds=app.config["OUTBOX_CLAIM_SECONDS"])


def alert_blocked_agents() -> int:
    """Raise today's alerts for agents holding cash over the limit or past the deposit deadline."""
    with _app().app_context():
        return ledger.alert_blocked_agents(db.session, utcnow())


def process_webhook_events() -> int:
    """Apply every stored provider callback, in batches; safe to run on many workers at once."""
    app = _app()
    with app.app_context():
        redis_connection().delete("iuran:scheduled:webhooks")  # callbacks arriving from now on schedule anew
        return autodebit.process_webhook_events(
            db.session, configured_providers(app.config), utcnow(), app.config["PUBLIC_BASE_URL"]
        )


def run_debits(branch_id: int | None = None) -> dict[str, int]:
    """Create and send the debits that are due, for one branch (or all); safe to re-run."""
    app = _app()
    with app.app_context():
        result = autodebit.run_debits(db.session, configured_providers(app.config), utcnow(), branch_id)
        return {"created": result.created, "sent": result.sent, "refused": result.refused}


def fan_out_debit_runs() -> int:
    """One debit job per branch, so many workers on many machines share the run."""
    with _app().app_context():
        branch_ids = list(db.session.scalars(select(Branch.id)))
        target = queue(DEFAULT)
        for branch_id in branch_ids:
            target.enqueue(run_debits, branch_id, job_timeout=LONG_JOB_TIMEOUT)  # re-running is harmless
        return len(branch_ids)


def reconcile_branch(branch_id: int, on: str | None = None) -> dict[str, object]:
    """Recompute every standing of one branch (``on``: an ISO instant, for a re-run of a past night)."""
    with _app().app_context():
        now = datetime.fromisoformat(on) if on else utcnow()
        return reconciliation.summary(reconciliation.reconcile_branch(db.session, branch_id, now))


def fan_out_nightly_reconciliation() -> list[int]:
    """Hourly: one reconciliation job for each branch where it is now 01:00 (WIB, WITA or WIT)."""
    with _app().app_context():
        branch_ids = reconciliation.branches_at_local_hour(db.session, utcnow(), 1)
        for branch_id in branch_ids:
            queue(LOW).enqueue(reconcile_branch, branch_id, job_timeout=LONG_JOB_TIMEOUT)
        return branch_ids


def close_branch_days(branch_id: int, on: str | None = None) -> int:
    """Close the branch's day (and any day a missed run left open) into agents' batches for finance."""
    with _app().app_context():
        return close_due_days(db.session, branch_id, datetime.fromisoformat(on) if on else utcnow())


def fan_out_day_end() -> list[int]:
    """Hourly: close the day into batches in each branch where it is now the day's end (21:00 local)."""
    with _app().app_context():
        branch_ids = reconciliation.branches_at_local_hour(db.session, utcnow(), DAY_END_HOUR)
        for branch_id in branch_ids:
            queue(DEFAULT).enqueue(close_branch_days, branch_id)
        return branch_ids


def make_remittance_file(branch_id: int, on: str | None = None) -> dict[str, object]:
    """After the branch's day end: its remittance file of what came since the last one (none when nothing did),
    and every file of the branch not yet in its pick-up folder written there; safe to re-run."""
    app = _app()
    with app.app_context():
        record = remittance.make_file(db.session, branch_id, datetime.fromisoformat(on) if on else utcnow())
        written = remittance.write_pickup(db.session, branch_id, Path(app.instance_path))
        return {"file": record.name if record else None, "written": [path.name for path in written]}


def fan_out_remittance_files() -> list[int]:
    """Hourly: a remittance job for each branch whose day has just ended (21:00 local, after its batches)."""
    with _app().app_context():
        branch_ids = reconciliation.branches_at_local_hour(db.session, utcnow(), DAY_END_HOUR)
        for branch_id in branch_ids:
            queue(DEFAULT).enqueue(make_remittance_file, branch_id, job_timeout=LONG_JOB_TIMEOUT)
        return branch_ids


def import_sponsored_file(import_id: int) -> dict[str, int]:
    """Run a large sponsor import that the API queued (its file waits in the instance folder); safe to re-run."""
    app = _app()
    with app.app_context():
        path = sponsor_imports.stored_upload(Path(app.instance_path), import_id)
        if not path.exists():  # done by an earlier run, which removed it
            log.info("sponsor import %s: no file waiting", import_id)
            return {}
        record = sponsor_imports.run_import(db.session, import_id, path.read_bytes(), utcnow())
        path.unlink(missing_ok=True)
        return {"created": record.created, "sponsored": record.sponsored, "rejected": record.rejected}


def import_national_file(import_id: int) -> dict[str, int]:
    """Run a large national import that the API queued (its file waits in the instance folder); safe to re-run."""
    app = _app()
    with app.app_context():
        path = national_imports.stored_upload(Path(app.instance_path), import_id)
        if not path.exists():  # done by an earlier run, which removed it
            log.info("national import %s: no file waiting", import_id)
            return {}
        record = national_imports.run_import(db.session, import_id, path.read_bytes(), utcnow())
        path.unlink(missing_ok=True)
        return {"created": record.created, "existing": record.existing, "rejected": record.rejected}


def import_bank_statement(import_id: int) -> dict[str, object]:
    """Import a large bank statement waiting in the database, chunk by chunk with its progress; safe to re-run
    (a run that broke off resumes without writing a line twice)."""
    app = _app()
    with app.app_context():
        record = statement_import.run_import(db.session, import_id, utcnow())
        if record is None:
            return {}
        return {"status": record.status, "credit_lines": record.credit_lines, "new_lines": record.new_lines}


def purge_web_sessions() -> int:
    """Daily: the rows of web sessions that ended a month ago go (the audit log keeps logins and logouts)."""
    with _app().app_context():
        return logins.purge_web_sessions(db.session, utcnow())


def end_finished_programmes() -> list[int]:
    """Daily: sponsor programmes whose last month has passed end; their members get a notice and a visit, once."""
    with _app().app_context():
        ended = programmes.end_finished_programmes(db.session, utcnow())
        if ended:
            schedule_outbox_delivery()
        return ended


def import_settlement_report(import_id: int) -> dict[str, int]:
    """Import a large settlement report the API kept in the database, chunk by chunk; safe to re-run."""
    with _app().app_context():
        record = run_settlement_import(db.session, import_id, utcnow())
        return {"rows_done": record.rows_done, "new_lines": record.new_lines}


def propose_idle_agent_deactivations() -> dict[str, int]:
    """Propose the deactivation of agents with no transaction for 3 months to their branch's supervisors."""
    with _app().app_context():
        return roster_proposals.propose_idle_deactivations(db.session, utcnow())
