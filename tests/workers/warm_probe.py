"""What tests/workers/test_worker.py runs in a real ``rq worker``: a worker that leaves a database connection in
its pool (as a worker would that touched the database itself) and a job that says which connection it got."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from core.extensions import db
from workers import jobs
from workers.worker import IuranWorker

PARENT_CONNECTION = "test_parent_connection"


class PoolHoldingWorker(IuranWorker):
    """IuranWorker, then one connection opened and checked back into the pool, where its horses find it."""

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        app = jobs.worker_app()
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            app.extensions[PARENT_CONNECTION] = id(connection.connection.dbapi_connection)


def which_connection() -> dict[str, int]:
    """The job: the id of the worker's pooled connection and of the one this job used."""
    app = jobs.worker_app()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        used = id(db.session.connection().connection.dbapi_connection)
        return {"parent": app.extensions[PARENT_CONNECTION], "job": used}
