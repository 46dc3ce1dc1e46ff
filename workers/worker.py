"""iuran's rq worker class: the app is built once, in the worker, before its work horses fork.

``rq worker -w workers.worker.IuranWorker high default low``. Under rq's plain ``Worker`` each job's fork imports
the services and builds the app again (seconds per job). ``IuranWorker`` does both when it starts; each job still
runs in a fork of its own, as with rq's ``Worker`` (a job that crashes or leaks takes only its work horse down),
and the fork inherits the app. The worker opens the database once to learn the server's dialect (not on SQLite,
where that would create a missing file), then closes it: it holds no connection for a horse to inherit. In each
horse the database pool and the app's Redis client copied from the worker are put aside unused (never closed: the
sockets would be the worker's), so every job opens its own.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import Flask
from rq.job import Job
from rq.queue import Queue
from rq.worker import Worker
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from core.extensions import db
from workers import jobs

log = logging.getLogger(__name__)

# What a work horse put aside: referenced until the horse's os._exit, so no finaliser ever closes a socket or
# file that the worker (or the next horse) holds.
_INHERITED: list[Any] = []
REDIS_CLIENT = "iuran_redis"  # where core.extensions.redis_connection keeps the app's client


def warm_up() -> Flask:
    """Build the app of this worker process and do the once-per-process work a job would otherwise repeat."""
    app: Flask = jobs.worker_app()
    configure_mappers()
    with app.app_context():
        if db.engine.dialect.name != "sqlite":  # (SQLite would create a missing file: a job that needs it will)
            try:
                with db.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))  # the dialect reads the server's version once, here
            except SQLAlchemyError:  # the jobs will say so; the worker still starts and waits for the database
                log.warning("worker: the database did not answer at start-up", exc_info=True)
        for engine in db.engines.values():
            engine.dispose()  # the worker keeps no connection for its horses to inherit
    return app


def forget_inherited_connections(app: Flask) -> None:
    """In a work horse: new, empty pools for the database and a new Redis client on first use."""
    with app.app_context():
        for engine in db.engines.values():
            _INHERITED.append(engine.pool)
            engine.dispose(close=False)
    client = app.extensions.pop(REDIS_CLIENT, None)
    if client is not None:
        _INHERITED.append(client)


class IuranWorker(Worker):
    """rq's forking worker, with the app built before the fork."""

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        warm_up()
        super().bootstrap(*args, **kwargs)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        try:
            forget_inherited_connections(jobs.worker_app())
        except BaseException:  # never let the horse fall back into the worker's loop
            self.log.exception("work horse: could not set aside the worker's connections")
            os._exit(1)
        super().main_work_horse(job, queue)

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        """Run the job (in the horse), with one log line for its start and one for its end, each carrying its id."""
        ids = {"job_id": job.id, "job_func": job.func_name}
        log.info("job %s started", job.func_name, extra=ids)
        started = time.monotonic()
        done = super().perform_job(job, queue, execution)
        took = round((time.monotonic() - started) * 1000, 1)
        log.info(
            "job %s %s in %.1f ms",
            job.func_name,
            "finished" if done else "failed",
            took,
            extra=ids | {"duration_ms": took, "outcome": "finished" if done else "failed"},
        )
        return done
