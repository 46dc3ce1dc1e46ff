"""Is this process ready to serve? The database, its migrations, Redis, a worker and the cron scheduler.

Each check answers ``{"ok": bool, …}`` with numbers and names of migrations only: no host, no address, no
error text (which can name a host), only the error's type.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

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
T = TypeVar("T")


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


def within_timeout(name: str, read: Callable[[], T], timeout_ms: int) -> T:
    """``read()`` in a thread of its own, waited for ``timeout_ms`` at most (DatabaseTimeout after it); its error
    raised here. Call inside an app context; ``read`` runs outside it (pass it what it needs, e.g. the engine).

    statement_timeout is the server's own: a server that is frozen (SIGSTOP, a stalled disk, a full listen backlog)
    never answers, and a connection waits on it for ever. The caller answers anyway; the thread left waiting is the
    only one of this process for ``name`` (a call finding it still there answers at once), so probes and scrapes
    cannot pile up threads and pool connections on a hung database.
    """
    busy = current_app.extensions.setdefault(f"iuran_waiting:{name}", threading.Lock())
    if not busy.acquire(blocking=False):
        raise DatabaseTimeout("the previous check is still waiting on the database")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = read()
        except Exception as error:
            outcome["error"] = error
        finally:
            busy.release()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join(timeout_ms / 1000)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise DatabaseTimeout(f"no answer within {timeout_ms} ms")
    return cast(T, outcome["value"])


def check_database() -> tuple[dict[str, Any], dict[str, Any]]:
    """The database answers ``SELECT 1`` within DATABASE_TIMEOUT_MS, and its migrations are at the head."""
    try:
        engine = db.engine
        current, ms = within_timeout("readyz-database", lambda: _read_database(engine), DATABASE_TIMEOUT_MS)
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
