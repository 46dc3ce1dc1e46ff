"""/healthz and /readyz: alive whatever else is down; ready only with the database at the head of its migrations,
Redis, a worker's and the cron scheduler's heartbeats (those two can be switched off)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from typing import Any

import flask_migrate
import pytest
from rq import Queue, Worker
from rq.cron import CronScheduler
from sqlalchemy import text

from app import create_app
from core.extensions import db, redis_connection
from core.health import migration_heads
from tests import servers


def test_healthz_answers_with_the_database_and_redis_gone(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/iuran.db",
            "REDIS_URL": f"unix://{tmp_path}/no-redis.sock",
            "SECRET_KEY": "test",
        }
    )
    client = app.test_client()

    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["redis"]["ok"] is False
    assert str(tmp_path) not in ready.get_data(as_text=True)


def test_without_a_worker_and_cron_it_is_not_ready_unless_told_they_are_not_needed(app):
    client = app.test_client()

    waiting = client.get("/readyz")
    assert waiting.status_code == 503
    checks = waiting.get_json()["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert checks["migrations"] == {"ok": True, "current": migration_heads()[0], "head": migration_heads()[0]}
    assert checks["worker"] == {"ok": False, "count": 0, "last_heartbeat_seconds_ago": None, "required": True}
    assert checks["cron"]["ok"] is False

    app.config.update(READY_REQUIRES_WORKER=False, READY_REQUIRES_CRON=False)
    web_only = client.get("/readyz")
    assert web_only.status_code == 200
    assert web_only.get_json()["status"] == "ok"
    assert web_only.get_json()["checks"]["worker"]["required"] is False


def _register_worker_and_cron(app: Any) -> tuple[Worker, CronScheduler]:
    """A worker and a cron scheduler registered in Redis as `rq worker` and `rq cron` register themselves."""
    with app.app_context():
        connection = redis_connection()
        worker = Worker([Queue("default", connection=connection)], connection=connection)
        worker.register_birth()
        worker.heartbeat()
        scheduler = CronScheduler(connection)
        scheduler.register_birth()
        scheduler.heartbeat()
    return worker, scheduler


def test_with_a_worker_and_cron_beating_it_is_ready_and_names_no_host(app):
    worker, scheduler = _register_worker_and_cron(app)

    ready = app.test_client().get("/readyz")

    assert ready.status_code == 200, ready.get_json()
    checks = ready.get_json()["checks"]
    assert checks["worker"]["ok"] and checks["worker"]["count"] == 1
    assert 0 <= checks["worker"]["last_heartbeat_seconds_ago"] < 60
    assert checks["cron"]["ok"] and checks["cron"]["count"] == 1
    body = ready.get_data(as_text=True)
    assert socket.gethostname() not in body and worker.name not in body and scheduler.name not in body
    assert app.config["SQLALCHEMY_DATABASE_URI"] not in body and app.config["REDIS_URL"] not in body


def test_a_worker_silent_for_more_than_two_minutes_is_not_enough(app):
    worker, _ = _register_worker_and_cron(app)
    with app.app_context():
        redis_connection().hset(worker.key, "last_heartbeat", "2020-01-01T00:00:00.000000Z")

    ready = app.test_client().get("/readyz")

    assert ready.status_code == 503
    assert ready.get_json()["checks"]["worker"]["ok"] is False
    assert ready.get_json()["checks"]["worker"]["last_heartbeat_seconds_ago"] > 120


def test_a_database_behind_its_migrations_is_not_ready(app):
    _register_worker_and_cron(app)
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0016_older'"))
        db.session.commit()

    ready = app.test_client().get("/readyz")

    assert ready.status_code == 503
    migrations = ready.get_json()["checks"]["migrations"]
    assert migrations == {"ok": False, "current": "0016_older", "head": migration_heads()[0]}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_checks_need_no_login(app, path):
    assert app.test_client().get(path).status_code in (200, 503)


def _server_processes(cluster: servers.PostgresCluster) -> list[int]:
    """The postmaster of a private cluster and every backend it forked."""
    with open(os.path.join(cluster.data_dir, "postmaster.pid")) as handle:
        postmaster = int(handle.readline())
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    return [postmaster, *map(int, children)]


def test_readyz_answers_while_the_database_is_frozen(redis_url, instance_path):
    """A frozen PostgreSQL (SIGSTOP: it accepts connections and never answers) left /readyz waiting for ever, its
    statement_timeout being the server's own: the load balancer's probe hung instead of taking the host out."""
    cluster = servers.start_postgres()
    frozen: list[int] = []
    app = None
    try:
        url = servers.create_database(cluster.url, "readyz_frozen")
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SECRET_KEY": "t"})
        client = app.test_client()
        assert client.get("/readyz").get_json()["checks"]["database"]["ok"] is False  # reached: no migrations yet
        frozen = _server_processes(cluster)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        answers: list[Any] = []

        def probe_twice() -> None:
            for _ in range(2):  # the second finds the first's check still waiting on the database
                answers.append(client.get("/readyz"))

        probing = threading.Thread(target=probe_twice, daemon=True)
        probing.start()
        probing.join(timeout=60)  # a bound, not a timing: before the fix the probe never answered

        assert not probing.is_alive(), "/readyz still waiting on the frozen database"
        assert [answer.status_code for answer in answers] == [503, 503]
        assert [answer.get_json()["checks"]["database"] for answer in answers] == [
            {"ok": False, "error": "DatabaseTimeout"}
        ] * 2
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        for left in [thread for thread in threading.enumerate() if thread.name == "readyz-database"]:
            left.join(timeout=30)  # the check left waiting gets its answer now, and gives its connection back
        if app is not None:
            with app.app_context():
                db.engine.dispose()  # no open connection left for the garbage collector to find in a later test
        cluster.stop()


def test_a_metrics_scrape_answers_while_the_database_is_frozen(redis_url, instance_path):
    """/metrics read the database with no wait of its own: with PostgreSQL frozen, a scrape hung until Prometheus
    gave up on it, holding a web thread (a known gap). Now it answers, the database source marked down."""
    cluster = servers.start_postgres()
    frozen: list[int] = []
    app = None
    try:
        url = servers.create_database(cluster.url, "metrics_frozen")
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SECRET_KEY": "t"})
        app.config["METRICS_CACHE_SECONDS"] = 0
        with app.app_context():
            flask_migrate.upgrade()
            db.engine.dispose()
        client = app.test_client()
        assert 'iuran_metrics_source_up{source="database"} 1.0' in client.get("/metrics").get_data(as_text=True)
        frozen = _server_processes(cluster)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        answers: list[Any] = []
        scraping = threading.Thread(target=lambda: answers.append(client.get("/metrics")), daemon=True)
        scraping.start()
        scraping.join(timeout=60)  # a bound, not a timing: before the fix the scrape never answered

        assert not scraping.is_alive(), "/metrics still waiting on the frozen database"
        assert answers[0].status_code == 200
        assert 'iuran_metrics_source_up{source="database"} 0.0' in answers[0].get_data(as_text=True)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        for left in [thread for thread in threading.enumerate() if thread.name == "metrics-database"]:
            left.join(timeout=30)
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        cluster.stop()
