"""bench/harness.py ``dispose`` gives back an app's connections wherever a benchmark calls it: inside the app's own
context (as bench/contributions.py's seeding does, before the database is copied or dropped) or outside any.

It used to push a context of its own even inside the caller's, and so removed only that new context's empty
session: the caller's session kept its connection open."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from bench.harness import dispose
from core.extensions import db, redis_connection


def test_inside_the_apps_context_the_callers_own_connection_is_given_back(app: Any) -> None:
    with app.app_context():
        connection = db.session.connection()
        db.session.execute(text("SELECT 1"))
        redis = redis_connection()
        redis.ping()

        dispose(app)

        assert connection.closed
        assert not db.session.registry.has()  # the caller's session itself is gone, not only a second one
        assert "iuran_redis" not in app.extensions and redis_connection() is not redis  # a later use makes its own


def test_outside_any_context_it_pushes_one_and_gives_back_the_same(app: Any) -> None:
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        pool = engine.pool
        assert isinstance(pool, QueuePool) and pool.checkedin() == 1

    dispose(app)

    assert engine.pool is not pool and pool.checkedin() == 0  # the pooled connection was closed
    assert "iuran_redis" not in app.extensions
