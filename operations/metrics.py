"""Prometheus metrics: request latency booked by each process, and the business read from the database and
Redis at scrape time (so the numbers are right whichever process booked them).

Under gunicorn, set PROMETHEUS_MULTIPROC_DIR (an empty folder, emptied at each start) before the app is imported:
each worker process writes its requests there and a scrape merges them; gunicorn's config calls
:func:`child_exit` when a worker ends.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core.clock import utcnow
from core.extensions import db, redis_connection
from core.health import DATABASE_TIMEOUT_MS, within_timeout
from core.outbox import MAX_ATTEMPTS, OutboxMessage
from core.periodic import PeriodicRun
from payments.autodebit.models import WebhookEvent
from payments.ledger.models import Payment
from workers.queues import ALL

log = logging.getLogger(__name__)

REQUEST_DURATION = Histogram(
    "iuran_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint and status",
    ["endpoint", "status"],
    registry=None,  # each scrape builds its registry (a fresh one, or the multiprocess files')
)
CACHE_SECONDS = 10.0  # scrapes within this share one read of the database and Redis


def multiprocess_dir() -> str | None:
    """The folder of the processes' metric files, when several processes serve the app (gunicorn)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook (deploy/gunicorn.conf.py): a dead worker's live gauges go."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(worker.pid)


# --- requests ---------------------------------------------------------------------------------------------


def _observe(response: Response) -> Response:
    started = g.get("request_started")  # set by core/logs.py before any other hook
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "none"
        REQUEST_DURATION.labels(endpoint, str(response.status_code)).observe(time.perf_counter() - started)
    return response


def install(app: Flask) -> None:
    """Book every request's time under its endpoint's name (bounded: never the raw path) and status."""
    app.after_request(_observe)


# --- what the database and Redis hold ---------------------------------------------------------------------


@dataclass
class Snapshot:
    """One read of the business numbers; a part that could not be read is missing, and its source is down."""

    payments: list[tuple[str, int, int]] = field(default_factory=list)  # channel, count, rupiah
    webhook_backlog: tuple[int, float] | None = None  # count, oldest age in seconds
    outbox_backlog: tuple[int, float] | None = None
    outbox_given_up: int | None = None
    queues: list[tuple[str, int, int]] = field(default_factory=list)  # queue, waiting, failed
    branch_last_runs: list[tuple[int, str, float]] = field(default_factory=list)  # branch id, job, unix time
    sources: dict[str, bool] = field(default_factory=dict)


def _age(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def read_database(snapshot: Snapshot, now: datetime, engine: Engine) -> None:
    """COUNT and MIN over the backlogs (both filters are indexed), and the payments booked by channel. On PostgreSQL
    the server stops any of it after DATABASE_TIMEOUT_MS; a server that does not answer at all is left to
    ``snapshot``'s own wait."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_MS}")
        snapshot.payments = [
            (channel, int(count), int(total or 0))
            for channel, count, total in connection.execute(
                select(Payment.channel, func.count(), func.sum(Payment.amount_idr)).group_by(Payment.channel)
            )
        ]
        count, oldest = connection.execute(
            select(func.count(), func.min(WebhookEvent.received_at)).where(WebhookEvent.state == "received")
        ).one()
        snapshot.webhook_backlog = (int(count), _age(oldest, now))
        unsent = OutboxMessage.sent_at.is_(None)
        count, oldest = connection.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                unsent, OutboxMessage.attempts < MAX_ATTEMPTS
            )
        ).one()
        snapshot.outbox_backlog = (int(count), _age(oldest, now))
        snapshot.outbox_given_up = int(
            connection.scalar(
                select(func.count()).select_from(OutboxMessage).where(unsent, OutboxMessage.attempts >= MAX_ATTEMPTS)
            )
            or 0
        )
        snapshot.branch_last_runs = read_branch_last_runs(connection)


def read_branch_last_runs(connection: Any) -> list[tuple[int, str, float]]:
    """Each branch's last successful nightly reconciliation, day end and remittance file (core/periodic.py):
    (branch id, job, unix time), for ``iuran_branch_last_success_timestamp_seconds{branch_id, job}``."""
    rows = connection.execute(select(PeriodicRun.branch_id, PeriodicRun.job, PeriodicRun.finished_at))
    return [(int(branch_id), job, finished_at.replace(tzinfo=UTC).timestamp()) for branch_id, job, finished_at in rows]


def read_queues(snapshot: Snapshot) -> None:
    """Each RQ queue's waiting jobs (LLEN) and failed-job registry (ZCARD, without rq's clean-up writes)."""
    connection = redis_connection()
    rows = []
    for name in ALL:
        queue = Queue(name, connection=connection)
        rows.append((name, int(queue.count), int(connection.zcard(queue.failed_job_registry.key))))
    snapshot.queues = rows


def snapshot(app: Flask) -> Snapshot:
    """The business numbers, read at most once per CACHE_SECONDS per process (several Prometheus servers)."""
    seconds = float(app.config.get("METRICS_CACHE_SECONDS", CACHE_SECONDS))
    cached = app.extensions.get("iuran_metrics_snapshot")
    if cached is not None and time.monotonic() - cached[0] < seconds:
        return cached[1]  # type: ignore[no-any-return]
    taken = Snapshot()
    engine = db.engine

    def database() -> None:  # waited for DATABASE_TIMEOUT_MS at most: a frozen server must not hold the scrape
        within_timeout("metrics-database", lambda: read_database(taken, utcnow(), engine), DATABASE_TIMEOUT_MS)

    for source, read in (("database", database), ("redis", lambda: read_queues(taken))):
        try:
            read()
            taken.sources[source] = True
        except Exception as error:  # a scrape still answers, saying which source it could not read
            log.warning("metrics: could not read the %s: %s", source, type(error).__name__)
            taken.sources[source] = False
    app.extensions["iuran_metrics_snapshot"] = (time.monotonic(), taken)
    return taken


class BusinessCollector(Collector):
    """The metrics read from the database and Redis (see :class:`Snapshot`)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        taken = snapshot(self.app)
        up = GaugeMetricFamily(
            "iuran_metrics_source_up", "Whether this scrape could read the source", labels=["source"]
        )
        for source, ok in taken.sources.items():
            up.add_metric([source], 1.0 if ok else 0.0)
        yield up
        if taken.sources.get("database"):
            yield from _database_metrics(taken)
        if taken.sources.get("redis"):
            depth = GaugeMetricFamily("iuran_rq_queue_depth", "Jobs waiting in an RQ queue", labels=["queue"])
            failed = GaugeMetricFamily(
                "iuran_rq_failed_jobs", "Jobs in an RQ queue's failed registry", labels=["queue"]
            )
            for name, waiting, failures in taken.queues:
                depth.add_metric([name], waiting)
                failed.add_metric([name], failures)
            yield depth
            yield failed


def _database_metrics(taken: Snapshot) -> Iterator[Metric]:
    count = CounterMetricFamily("iuran_payments", "Payments booked, by channel", labels=["channel"])
    rupiah = CounterMetricFamily(
        "iuran_payments_rupiah", "Rupiah of the payments booked, by channel", labels=["channel"]
    )
    for channel, number, total in taken.payments:
        count.add_metric([channel], number)
        rupiah.add_metric([channel], total)
    yield count
    yield rupiah
    for name, what, backlog in (
        ("iuran_webhook_backlog", "provider callbacks stored and not yet processed", taken.webhook_backlog),
        ("iuran_outbox_backlog", "texts waiting to be sent", taken.outbox_backlog),
    ):
        if backlog is not None:
            yield GaugeMetricFamily(name, f"How many {what}", value=backlog[0])
            yield GaugeMetricFamily(f"{name}_oldest_seconds", f"Age of the oldest of the {what}", value=backlog[1])
    if taken.outbox_given_up is not None:
        yield GaugeMetricFamily(
            "iuran_outbox_given_up", "Texts not sent after every attempt", value=taken.outbox_given_up
        )
    if taken.branch_last_runs:
        last = GaugeMetricFamily(
            "iuran_branch_last_success_timestamp_seconds",
            "When a branch's periodic job last succeeded (unix time)",
            labels=["branch_id", "job"],
        )
        for branch_id, job, at in taken.branch_last_runs:
            last.add_metric([str(branch_id), job], at)
        yield last


def exposition() -> bytes:
    """The text a scrape gets: request latency (this process's, or every process's files) and the business."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_DURATION)
    registry.register(BusinessCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    return generate_latest(registry)
