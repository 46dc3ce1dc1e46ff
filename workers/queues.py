"""The RQ queue names, highest priority first, and enqueueing after commit."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from core.extensions import redis_connection, redis_failed, redis_reachable

log = logging.getLogger(__name__)

HIGH = "high"
DEFAULT = "default"
LOW = "low"
ALL = (HIGH, DEFAULT, LOW)  # the order an `rq worker` drains them in

# The jobs enqueued here are named by their path: workers.jobs imports every service, and the routes and services
# that enqueue sit below it (tests/workers/test_queues.py checks that each name is a job there).
DELIVER_OUTBOX = "workers.jobs.deliver_outbox"
PROCESS_WEBHOOK_EVENTS = "workers.jobs.process_webhook_events"
IMPORT_BANK_STATEMENT = "workers.jobs.import_bank_statement"
IMPORT_SETTLEMENT_REPORT = "workers.jobs.import_settlement_report"
IMPORT_SPONSORED_FILE = "workers.jobs.import_sponsored_file"
IMPORT_NATIONAL_FILE = "workers.jobs.import_national_file"
RUN_DEBITS = "workers.jobs.run_debits"
EXPIRE_SELF_CHARGES = "workers.jobs.expire_self_charges"
ANSWER_TEXTS = "workers.jobs.answer_texts"
PURGE_INBOUND_TEXTS = "workers.jobs.purge_inbound_texts"
JOBS = (
    DELIVER_OUTBOX,
    PROCESS_WEBHOOK_EVENTS,
    IMPORT_BANK_STATEMENT,
    IMPORT_SETTLEMENT_REPORT,
    IMPORT_SPONSORED_FILE,
    IMPORT_NATIONAL_FILE,
    RUN_DEBITS,
    EXPIRE_SELF_CHARGES,
    ANSWER_TEXTS,
    PURGE_INBOUND_TEXTS,
)


def queue(name: str = DEFAULT) -> Queue:
    """The named queue on the current app's Redis (call inside an app context)."""
    if name not in ALL:
        raise ValueError(f"unknown queue {name!r}; expected one of {ALL}")
    return Queue(name, connection=redis_connection())


LONG_JOB_TIMEOUT = 3600  # batch jobs work through a whole backlog; RQ's default of 180 s would cut them off


def _enqueue_once(flag: str, seconds: int, job: str, queue_name: str) -> None:
    """Enqueue ``func`` unless a run was enqueued in the last ``seconds``: a burst makes one job, not one
    per request (RQ costs milliseconds per job); the job itself works through everything pending."""
    if not redis_reachable():  # failed a moment ago: don't wait on it again; the periodic sweep will do it
        return
    try:
        if redis_connection().set(f"iuran:scheduled:{flag}", 1, nx=True, ex=seconds):
            queue(queue_name).enqueue(job, job_timeout=LONG_JOB_TIMEOUT)
    except RedisError:
        redis_failed()
        log.warning("could not enqueue %s; the periodic sweep will do it", flag)


def schedule_outbox_delivery() -> None:
    """Have the outbox sent soon (texts of receipts and notices)."""
    _enqueue_once("outbox", 2, DELIVER_OUTBOX, DEFAULT)


def schedule_webhook_processing() -> None:
    """Have stored provider callbacks processed soon, in one batch job."""
    _enqueue_once("webhooks", 5, PROCESS_WEBHOOK_EVENTS, HIGH)


def schedule_text_answers() -> None:
    """Have the stored inbound texts (CEK enquiries) answered soon, in one job."""
    _enqueue_once("texts", 2, ANSWER_TEXTS, HIGH)


LIVE_JOB_STATES = ("queued", "started", "deferred", "scheduled")


def _live(job_id: str) -> bool:
    """Whether a job is queued or running (raises RedisError when Redis cannot say)."""
    try:
        return Job.fetch(job_id, connection=redis_connection()).get_status(refresh=False) in LIVE_JOB_STATES
    except NoSuchJobError:
        return False


def job_alive(job_id: str) -> bool:
    """Whether a job is queued or running; when Redis cannot say, assume it is (an upload again then waits)."""
    if not redis_reachable():
        return True
    try:
        return _live(job_id)
    except RedisError:
        redis_failed()
        return True


def queue_import(job: str, import_id: int, job_id: str) -> bool:
    """Have a worker run (or resume) a large import under its own job id, unless that job is queued or running
    already; False when the queue cannot be reached (the file waits in the database: the same upload later
    queues it)."""
    if not redis_reachable():
        return False
    if job_alive(job_id):
        return True
    try:
        queue(LOW).enqueue(job, import_id, job_id=job_id, job_timeout=LONG_JOB_TIMEOUT)
    except RedisError:
        redis_failed()
        log.warning("could not enqueue %s", job_id)
        return False
    return True


def queue_statement_import(import_id: int) -> bool:
    """A large bank statement's import (payments/finance/statement_import.py); see :func:`queue_import`."""
    return queue_import(IMPORT_BANK_STATEMENT, import_id, f"statement-import-{import_id}")


def queue_settlement_import(import_id: int) -> bool:
    """A large settlement report's import (payments/autodebit/settlements.py); see :func:`queue_import`."""
    return queue_import(IMPORT_SETTLEMENT_REPORT, import_id, f"settlement-import-{import_id}")


def queue_debit_runs(branch_ids: list[int]) -> list[str] | None:
    """One debit job per branch (job id ``debit-run-<branch>``; a branch whose job is queued or running keeps it);
    the job ids, or None when the queue cannot be reached (the branches queued before it failed run; the same
    request again queues the rest)."""
    if not redis_reachable():
        return None
    job_ids = []
    try:
        target = queue(DEFAULT)
        for branch_id in branch_ids:
            job_id = f"debit-run-{branch_id}"
            if not _live(job_id):
                target.enqueue(RUN_DEBITS, branch_id, job_id=job_id, job_timeout=LONG_JOB_TIMEOUT)
            job_ids.append(job_id)
    except RedisError:
        redis_failed()
        log.warning("could not enqueue the debit runs")
        return None
    return job_ids
