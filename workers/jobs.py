"""Thin RQ jobs: each takes ids and ISO dates, opens an app context and calls one service."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select

from agents.roster import proposals as roster_proposals
from app import create_app
from collection.members import reconciliation
from collection.members.paylinks import signer_of
from collection.national import imports as national_imports
from collection.sponsors import imports as sponsor_imports
from collection.sponsors import programmes
from core import periodic
from core.clock import app_now, utcnow
from core.extensions import db, redis_connection
from core.outbox import deliver_pending
from core.senders import configured_sender
from organisation import logins
from organisation.models import Branch
from payments.autodebit import services as autodebit
from payments.autodebit.providers import configured_providers
from payments.autodebit.settlements import run_settlement_import
from payments.finance import statement_import
from payments.finance.batches import DAY_END_HOUR, close_due_days
from payments.ledger import services as ledger
from payments.remittance import services as remittance
from payments.selfpay import enquiries
from payments.selfpay import services as selfpay
from payments.selfpay import signin as selfpay_signin
from workers.queues import (
    DEFAULT,
    LONG_JOB_TIMEOUT,
    LOW,
    job_alive,
    queue,
    queue_debit_runs,
    schedule_outbox_delivery,
)

log = logging.getLogger(__name__)


BUILT_IN_PID = "iuran_built_in_pid"  # app.extensions: the process that built the app


@cache
def _app() -> Any:
    """One app per worker process: workers.worker.IuranWorker builds it before its work horses fork, so each job
    starts warm (under a plain ``rq worker`` each job's fork builds it again: seconds per job)."""
    app = create_app()
    app.extensions[BUILT_IN_PID] = os.getpid()
    return app


worker_app = _app  # the public name, for workers.worker


def probe() -> dict[str, int]:
    """Open the app and its database from a worker and say which process built the app and which ran the job
    (bench/jobs.py times it; tests check that IuranWorker built the app before the fork)."""
    app = _app()
    with app.app_context():
        db.session.execute(select(1)).scalar_one()
        return {"app_built_in": app.extensions[BUILT_IN_PID], "ran_in": os.getpid()}


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
        sender = configured_sender(app.config)
        return deliver_pending(db.session, sender, utcnow(), claim_seconds=app.config["OUTBOX_CLAIM_SECONDS"])


def alert_blocked_agents() -> int:
    """Raise today's alerts for agents holding cash over the limit or past the deposit deadline."""
    with _app().app_context():
        return ledger.alert_blocked_agents(db.session, utcnow())


def process_webhook_events() -> int:
    """Apply every stored provider callback, in batches: auto-debits', then members' own payments (VA, QRIS);
    safe to run on many workers at once."""
    app = _app()
    with app.app_context():
        redis_connection().delete("iuran:scheduled:webhooks")  # callbacks arriving from now on schedule anew
        providers, url = configured_providers(app.config), app.config["PUBLIC_BASE_URL"]
        links = signer_of(app.config)  # a debit failed for good: the member's text carries a pay link
        handled = autodebit.process_webhook_events(db.session, providers, utcnow(), url, links=links)
        return handled + selfpay.process_charge_events(db.session, providers, utcnow(), url)  # members' own (SP-…)


def run_debits(branch_id: int | None = None) -> dict[str, int]:
    """Create and send the debits that are due, for one branch (or all); safe to re-run."""
    app = _app()
    with app.app_context():
        providers, links = configured_providers(app.config), signer_of(app.config)
        result = autodebit.run_debits(db.session, providers, utcnow(), branch_id, links=links)
        return {"created": result.created, "sent": result.sent, "refused": result.refused}


def fan_out_debit_runs() -> int:
    """One debit job per branch, so many workers on many machines share the run (as POST /debit-runs does)."""
    with _app().app_context():
        job_ids = queue_debit_runs(list(db.session.scalars(select(Branch.id).order_by(Branch.id))))
        if job_ids is None:
            raise RuntimeError("the job queue could not be reached")
        return len(job_ids)


# When each branch's periodic jobs are due, local time (hour, minute); core/periodic.py records each success, and a
# fan-out enqueues every branch whose last success is older than its most recent due time (a missed hour catches up).
PERIODIC = {
    periodic.RECONCILIATION: (1, 0),
    periodic.DAY_END: (DAY_END_HOUR, 0),
    periodic.REMITTANCE: (DAY_END_HOUR, 40),  # after the day's batches
}


def _record_success(job: str, branch_id: int, at: datetime) -> None:
    """After the branch job's work committed: the period it covered is done (core/periodic.py)."""
    branch = db.session.get(Branch, branch_id)
    if branch is None:
        return
    hour, minute = PERIODIC[job]
    period = periodic.period_at(branch.timezone, at, hour, minute)
    periodic.record(db.session, job, branch_id, period, utcnow())


def _fan_out(job: str, at: str | None, enqueue: Any) -> list[int]:
    """Enqueue, through ``enqueue(due, job_id)``, every branch whose ``job`` is due and not queued or running."""
    now = datetime.fromisoformat(at) if at else utcnow()
    hour, minute = PERIODIC[job]
    branches = db.session.execute(select(Branch.id, Branch.timezone).order_by(Branch.id))
    zones = [(branch_id, zone) for branch_id, zone in branches]
    enqueued = []
    for due in periodic.due(db.session, job, zones, now, hour, minute):
        job_id = f"periodic-{job}-{due.branch_id}-{due.period.isoformat()}"
        if job_alive(job_id):  # still queued or running since an earlier fan-out
            continue
        enqueue(due, job_id)
        enqueued.append(due.branch_id)
    return enqueued


def reconcile_branch(branch_id: int, on: str | None = None) -> dict[str, object]:
    """Recompute every standing of one branch (``on``: an ISO instant, for a re-run of a past night)."""
    app = _app()
    with app.app_context():
        now = datetime.fromisoformat(on) if on else utcnow()
        reconciled = reconciliation.reconcile_branch(db.session, branch_id, now, links=signer_of(app.config))
        result = reconciliation.summary(reconciled)
        _record_success(periodic.RECONCILIATION, branch_id, now)
        return result


def fan_out_nightly_reconciliation(at: str | None = None) -> list[int]:
    """Hourly: one reconciliation job for each branch whose last night (01:00 local: WIB, WITA or WIT) is not yet
    reconciled; ``at``: an ISO instant instead of now."""
    with _app().app_context():
        return _fan_out(
            periodic.RECONCILIATION,
            at,
            lambda due, job_id: queue(LOW).enqueue(
                reconcile_branch, due.branch_id, job_id=job_id, job_timeout=LONG_JOB_TIMEOUT
            ),
        )


def close_branch_days(branch_id: int, on: str | None = None) -> int:
    """Close the branch's day (and any day a missed run left open) into agents' batches for finance."""
    with _app().app_context():
        now = datetime.fromisoformat(on) if on else utcnow()
        created = close_due_days(db.session, branch_id, now)
        _record_success(periodic.DAY_END, branch_id, now)
        return created


def fan_out_day_end(at: str | None = None) -> list[int]:
    """Hourly: close the day into batches in each branch whose last day end (21:00 local) is not yet done; a late
    run closes that day, not the one under way."""
    with _app().app_context():
        return _fan_out(
            periodic.DAY_END,
            at,
            lambda due, job_id: queue(DEFAULT).enqueue(
                close_branch_days, due.branch_id, due.at.isoformat(), job_id=job_id
            ),
        )


def make_remittance_file(branch_id: int, on: str | None = None) -> dict[str, object]:
    """After the branch's day end: its remittance file of what came since the last one (none when nothing did),
    and every file of the branch not yet in its pick-up folder written there; safe to re-run."""
    app = _app()
    with app.app_context():
        now = datetime.fromisoformat(on) if on else utcnow()
        record = remittance.make_file(db.session, branch_id, now)
        written = remittance.write_pickup(db.session, branch_id, Path(app.config["REMITTANCE_PICKUP_DIR"]))
        _record_success(periodic.REMITTANCE, branch_id, now)
        return {"file": record.name if record else None, "written": [path.name for path in written]}


def fan_out_remittance_files(at: str | None = None) -> list[int]:
    """Hourly: a remittance job for each branch whose last day end (21:40 local, after its batches) has no file
    job done yet."""
    with _app().app_context():
        return _fan_out(
            periodic.REMITTANCE,
            at,
            lambda due, job_id: queue(DEFAULT).enqueue(
                make_remittance_file, due.branch_id, job_id=job_id, job_timeout=LONG_JOB_TIMEOUT
            ),
        )


def import_sponsored_file(import_id: int) -> dict[str, int]:
    """Run a large sponsor import that the API queued (its file waits in the database); safe to re-run."""
    app = _app()
    with app.app_context():
        record = sponsor_imports.run_kept_import(db.session, import_id, utcnow(), Path(app.instance_path))
        if record is None:  # done by an earlier run, which let the file go
            log.info("sponsor import %s: no file waiting", import_id)
            return {}
        return {"created": record.created, "sponsored": record.sponsored, "rejected": record.rejected}


def import_national_file(import_id: int) -> dict[str, int]:
    """Run a large national import that the API queued (its file waits in the database); safe to re-run."""
    app = _app()
    with app.app_context():
        record = national_imports.run_kept_import(db.session, import_id, utcnow(), Path(app.instance_path))
        if record is None:  # done by an earlier run, which let the file go
            log.info("national import %s: no file waiting", import_id)
            return {}
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
    """Daily: the rows of web sessions that ended a month ago go (the audit log keeps logins and logouts), and
    members' spent one-time codes and ended sessions (payments/selfpay)."""
    with _app().app_context():
        return logins.purge_web_sessions(db.session, utcnow()) + selfpay_signin.purge_spent(db.session, utcnow())


def expire_self_charges() -> int:
    """Every quarter hour: members' own charges the provider never reported on, past their deadline, expire
    (nothing booked; a settlement that comes later goes to finance's review)."""
    with _app().app_context():
        return selfpay.expire_unanswered_charges(db.session, utcnow())


def answer_texts() -> int:
    """Answer the inbound CEK texts the SMS webhook stored (each once, within the limits); safe to run any number of
    times, and at once."""
    app = _app()
    with app.app_context():
        try:
            redis_connection().delete("iuran:scheduled:texts")  # texts stored from now on schedule anew
        except RedisError:  # the texts are in the database: answer them whether Redis answers or not
            log.warning("could not clear the texts flag; answering anyway")
        answered = enquiries.answer_waiting_texts(
            db.session, signer_of(app.config), enquiries.limits_of(app.config), app_now()
        )
        if answered:
            schedule_outbox_delivery()
        return answered


def purge_inbound_texts() -> int:
    """Daily: inbound texts older than INBOUND_TEXTS_KEEP_DAYS go, in batches (never those the limits still count)."""
    app = _app()
    with app.app_context():
        return enquiries.purge_inbound_texts(db.session, utcnow(), app.config["INBOUND_TEXTS_KEEP_DAYS"])


def end_finished_programmes() -> list[int]:
    """Daily: sponsor programmes whose last month has passed end; their members get a notice and a visit, once."""
    app = _app()
    with app.app_context():
        ended = programmes.end_finished_programmes(db.session, utcnow(), links=signer_of(app.config))
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
