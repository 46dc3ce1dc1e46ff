"""The fixtures give each test real, separate servers: PostgreSQL, SQLite, Redis and an `rq worker`."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import inspect, text

from tests import servers
from workers import jobs
from workers.queues import ALL, DEFAULT, queue

written_probe_on: list[str] = []


def test_postgres_server_is_a_real_postgresql(postgres_server: str) -> None:
    with psycopg.connect(servers.libpq_conninfo(postgres_server)) as conn:
        row = conn.execute("SELECT version()").fetchone()
    assert row is not None
    assert "PostgreSQL" in row[0]


def test_every_test_database_is_migrated(session: Any) -> None:
    assert "alembic_version" in inspect(session.connection()).get_table_names()
    assert session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def test_a_row_written_in_one_test_database(session: Any, database_url: str) -> None:
    session.execute(text("CREATE TABLE probe (token VARCHAR(20))"))
    session.execute(text("INSERT INTO probe VALUES ('left behind')"))
    session.commit()
    assert session.execute(text("SELECT token FROM probe")).scalar_one() == "left behind"
    written_probe_on.append(database_url.split(":", 1)[0])


def test_is_absent_from_the_next_test_database(session: Any, database_url: str) -> None:
    assert database_url.split(":", 1)[0] in written_probe_on, "the writing test must run first"
    assert "probe" not in inspect(session.connection()).get_table_names()


@pytest.mark.postgresql_only
def test_postgresql_only_tests_get_postgresql(session: Any) -> None:
    assert "PostgreSQL" in session.execute(text("SELECT version()")).scalar_one()


@pytest.mark.sqlite_only
def test_sqlite_only_tests_get_sqlite(session: Any) -> None:
    assert session.execute(text("SELECT sqlite_version()")).scalar_one()


def test_redis_answers_ping(redis_url: str) -> None:
    with Redis.from_url(redis_url) as client:
        assert client.ping()
        client.set("iuran:probe", "left behind")


def test_each_test_starts_with_an_empty_redis_database(redis_url: str) -> None:
    with Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0


def test_a_real_rq_worker_runs_a_job_enqueued_by_the_test(redis_url: str, rq_burst: Any) -> None:
    with Redis.from_url(redis_url) as connection:
        job = Queue(DEFAULT, connection=connection).enqueue(jobs.echo, {"nik": "3174012345678901"})
        rq_burst(DEFAULT)
        job.refresh()
        assert job.get_status() == "finished"
        assert job.return_value() == {"nik": "3174012345678901"}


@pytest.mark.sqlite_only
def test_app_queues_use_the_apps_redis(app: Any, redis_url: str) -> None:
    with app.app_context():
        names = [queue(name).name for name in ALL]
        queue(DEFAULT).enqueue(jobs.heartbeat)
    assert names == ["high", "default", "low"]
    with Redis.from_url(redis_url) as connection:
        assert Queue(DEFAULT, connection=connection).count == 1
