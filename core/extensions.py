"""The app's extensions, created once and bound in ``create_app``."""

from __future__ import annotations

import sqlite3
import time
import weakref
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from flask import current_app
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import ARRAY, BigInteger, ColumnElement, Date, Integer, MetaData, any_, bindparam, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.types import TypeDecorator

from core.months import Month

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    Model = Base  # what db.Model is, in terms mypy can follow
    DbSession: TypeAlias = Session | scoped_session[Any]
else:
    Model = db.Model
    DbSession = Session
migrate = Migrate()
api = Api()


class MonthType(TypeDecorator[Month]):
    """Stores a :class:`Month` as the date of its first day, so SQL can compare and group it."""

    impl = Date
    cache_ok = True

    def process_bind_param(self, value: Month | None, dialect: Any) -> date | None:
        return None if value is None else value.first_day()

    def process_result_value(self, value: date | str | None, dialect: Any) -> Month | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite through raw SQL
            value = date.fromisoformat(value)
        return Month.of(value)


BigInt = BigInteger().with_variant(Integer(), "sqlite")  # BIGINT on PostgreSQL; SQLite's INTEGER is 64-bit already


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: WAL, a busy timeout, foreign keys, and transactions that SQLAlchemy begins itself."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_immediate_on_sqlite(connection: Any) -> None:
    """Take SQLite's write lock at BEGIN: a deferred BEGIN loses read-modify-write updates."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def redis_connection() -> Redis:
    """The app's Redis connection (one client per app; redis-py pools connections itself).

    Its timeouts are short and it does not retry: on the request path Redis only throttles and wakes
    workers, and a hung Redis must not hold an answer whose transaction has committed.
    """
    client = current_app.extensions.get("iuran_redis")
    if client is None:
        timeout = current_app.config["REDIS_SOCKET_TIMEOUT"]
        made = Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        # Threads of one web worker may get here at once: one client wins, for all of them. (A client replaced
        # after another thread took it would be collected and close its pool's sockets under that thread's
        # pipeline: "Bad file descriptor", a 500.)
        client = current_app.extensions.setdefault("iuran_redis", made)
        if client is not made:
            made.close()
    return cast(Redis, client)


_REDIS_PAUSE_SECONDS = 5.0


def redis_reachable() -> bool:
    """False for a few seconds after a Redis call of this app failed: callers fall back without waiting."""
    return time.monotonic() >= current_app.extensions.get("iuran_redis_down_until", 0.0)


def redis_failed() -> None:
    """Note that a Redis call just failed (timed out, refused): :func:`redis_reachable` is False for a while."""
    current_app.extensions["iuran_redis_down_until"] = time.monotonic() + _REDIS_PAUSE_SECONDS


_database_names: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def database_name(session: DbSession) -> str:
    """The URL of the database behind ``session``, as a key of per-process caches: made once per engine (``str``
    of a URL quotes each part again, on every request that looks something up)."""
    engine = session.get_bind().engine
    name = _database_names.get(engine)
    if name is None:
        name = _database_names[engine] = str(engine.url)
    return name


def among(session: DbSession, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter, so a batch's statement is short
    and its text the same for every batch (an IN of 500 parameters is a new statement text psycopg parses anew)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool], column == any_(bindparam(None, values, type_=ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(values))
