"""Is this process ready to serve? The database, its migrations, Redis, a worker and the cron scheduler.

Each check answers ``{"ok": bool, …}`` with numbers and names of migrations only: no host, no address, no
error text (which can name a host), only the error's type.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Any, cast

from alembic.script import ScriptDirectory
from flask import current_app
from redis import Redis
from rq import Worker
from rq.cron import CronScheduler
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.extensions import db, redis_connection
from core.settings import ROOT

HEARTBEAT_WITHIN_SECONDS = 120  # a worker beats every worker_ttl/… (about 30 s); cron on each loop
DATABASE_TIMEOUT_MS = 2000


@cache
def migration_heads() -> tuple[str, ...]:
    """The head revisions of migrations/ (read once per process)."""
    return tuple(sorted(ScriptDirectory(str(ROOT / "migrations")).get_heads()))


def _failed(error: Exception) -> dict[str, Any]:
    return {"ok": False, "error": type(error).__name__}


class DatabaseTimeout(Exception):
    """The database did not answer within the check's time (a frozen server, a full backlog)."""


def _read_database(engine: Engine) -> tuple[tuple[str, ...], float]:
    started = time.perf_counter()
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_MS}")
        connection.execute(text("SELECT 1"))
        current = tuple(sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()))
    return current, round((time.perf_counter() - started) * 1000, 1)


def _read_database_within_timeout(engine: Engine) -> tuple[tuple[str, ...], float]:
    """:func:`_read_database` in a thread of its own, waited for DATABASE_TIMEOUT_MS at most.

    statement_timeout is the server's own: a server that is frozen (SIGSTOP, a stalled disk, a full listen backlog)
    never answers, and a connection waits on it for ever. The probe answers anyway; the thread left waiting is the
    only one of this process (a probe finding it still there answers at once), so probes cannot pile up threads
    and pool connections on a hung database.
    """
    busy = current_app.extensions.setdefault("iuran_readyz_database", threading.Lock())
    if not busy.acquire(blocking=False):
        raise DatabaseTimeout("the previous check is still waiting on the database")
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            outcome["value"] = _read_database(engine)
        except Exception as error:
            outcome["error"] = error
        finally:
            busy.release()

    thread = threading.Thread(target=read, name="readyz-database", daemon=True)
    thread.start()
    thread.join(DATABASE_TIMEOUT_MS / 1000)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise DatabaseTimeout(f"no answer within {DATABASE_TIMEOUT_MS} ms")
    return cast(tuple[tuple[str, ...], float], outcome["value"])


def check_database() -> tuple[dict[str, Any], dict[str, Any]]:
    """The database answers ``SELECT 1`` within DATABASE_TIMEOUT_MS, and its migrations are at the head."""
    try:
        current, ms = _read_database_within_timeout(db.engine)
    except Exception as error:  # unreachable, timed out, or never migrated: not ready, whatever the cause
        return _failed(error), {"ok": False}
    database = {"ok": True, "ms": ms}
    heads = migration_heads()
    migrations = {"ok": current == heads, "current": ",".join(current) or None, "head": ",".join(heads)}
    return database, migrations


def check_redis() -> dict[str, Any]:
    """Redis answers PING within REDIS_SOCKET_TIMEOUT."""
    try:
        redis_connection().ping()
    except Exception as error:
        return _failed(error)
    return {"ok": True}


def _age(seconds_ago: list[float]) -> dict[str, Any]:
    freshest = min(seconds_ago) if seconds_ago else None
    return {
        "ok": freshest is not None and freshest <= HEARTBEAT_WITHIN_SECONDS,
        "count": len(seconds_ago),
        "last_heartbeat_seconds_ago": None if freshest is None else round(freshest, 1),
    }


def check_workers(connection: Redis) -> dict[str, Any]:
    """Some ``rq worker`` has sent its heartbeat within HEARTBEAT_WITHIN_SECONDS."""
    try:
        now = time.time()
        beats = [now - w.last_heartbeat.timestamp() for w in Worker.all(connection=connection) if w.last_heartbeat]
    except Exception as error:
        return _failed(error)
    return _age(beats)


def check_cron(connection: Redis) -> dict[str, Any]:
    """Some ``rq cron`` scheduler has sent its heartbeat within HEARTBEAT_WITHIN_SECONDS."""
    try:
        now = time.time()
        beats = []
        for scheduler in CronScheduler.all(connection, cleanup=False):
            last = scheduler.last_heartbeat
            if last is not None:
                beats.append(now - last.timestamp())
    except Exception as error:
        return _failed(error)
    return _age(beats)


def readiness() -> tuple[bool, dict[str, Any]]:
    """Whether the app is ready, and each check's answer (inside an app context).

    The worker and cron checks count only when READY_REQUIRES_WORKER / READY_REQUIRES_CRON are on (the default);
    off, they are still reported, marked ``"required": false``.
    """
    database, migrations = check_database()
    checks: dict[str, dict[str, Any]] = {"database": database, "migrations": migrations, "redis": check_redis()}
    config = current_app.config
    for name, check, setting in (
        ("worker", check_workers, "READY_REQUIRES_WORKER"),
        ("cron", check_cron, "READY_REQUIRES_CRON"),
    ):
        checks[name] = check(redis_connection()) if checks["redis"]["ok"] else {"ok": False}
        checks[name]["required"] = bool(config.get(setting, True))
    ready = all(check["ok"] for check in checks.values() if check.get("required", True))
    return ready, checks
