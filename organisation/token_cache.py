"""A verified API token kept for a few seconds per process, so a burst of requests checks it once.

What is kept is the user's row as the token's one indexed query returned it (with the rule that he may still log
in: an active account, an active Perisai) and the token's expiry. A hit is checked against the expiry on every
request (a token past ``expires_at`` is refused at once, whatever the cache holds). Anything this process writes
to a staff account, an agent or a token (an ORM flush, or an ORM UPDATE/DELETE through a session) empties the
cache at once, and again when that write commits (a request that read the old row between the flush and the commit
keeps nothing); a change made by another process (another web worker, a worker job, a command) is seen within
TOKEN_CACHE_SECONDS at the most (core/settings.py; 0 turns the cache off).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any, cast

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from core.extensions import DbSession, database_name
from organisation.models import Agent, ApiToken, StaffUser

_WATCHED = (StaffUser, Agent, ApiToken)
_MAPPER = inspect(StaffUser)  # what decides whether a token may be used
_lock = threading.Lock()
_entries: dict[tuple[str, str], tuple[float, int, datetime, dict[str, Any]]] = {}
clock = time.monotonic  # seconds; a test may step it
_generation = 0  # bumped by every local write to a watched table; an entry of an older generation is stale
_STALE_AT_COMMIT = "token_cache_stale_at_commit"  # session.info: this transaction wrote a watched table


def cached_user(session: DbSession, digest: str, now: datetime) -> StaffUser | None:
    """The user of a token verified within the last TOKEN_CACHE_SECONDS, attached to ``session`` without a
    query; None when nothing valid is kept (the caller asks the database)."""
    entry = _entries.get((_database(session), digest))
    if entry is None:
        return None
    deadline, asked_at, expires_at, values = entry
    if deadline <= clock() or asked_at != _generation or expires_at <= now:
        return None
    held = session.identity_map.get(_MAPPER.identity_key_from_primary_key((values["id"],)))
    if held is not None:  # the session has the row already: what it holds is as fresh as what we kept
        return cast(StaffUser, held)
    user = StaffUser(**values)
    make_transient_to_detached(user)  # as if loaded: nothing to write
    session.add(user)  # attached as it is (merge would copy it into a second instance)
    return user


def generation() -> int:
    """Taken before the database is asked: a write in between makes what it answered stale at once."""
    return _generation


def keep(session: DbSession, digest: str, user: StaffUser, expires_at: datetime, seconds: float, asked_at: int) -> None:
    """Keep a user the database verified (when the cache was at generation ``asked_at``) for ``seconds``."""
    if seconds <= 0:
        return
    values = {attr.key: getattr(user, attr.key) for attr in inspect(StaffUser).column_attrs}
    with _lock:
        if len(_entries) > 10_000:  # tokens of a day's staff fit many times; more is a flood: start again
            _entries.clear()
        _entries[(_database(session), digest)] = (clock() + seconds, asked_at, expires_at, values)


def forget_all() -> None:
    """Empty the cache (a local write to a staff account, an agent or a token; tests)."""
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def _database(session: DbSession) -> str:
    return database_name(session)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: Any) -> None:
    for instance in (*session.dirty, *session.deleted):  # a new row cannot be behind a token verified before
        if isinstance(instance, _WATCHED):
            _written(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _on_orm_execute(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ in _WATCHED for m in state.all_mappers):
        _written(state.session)


def _written(session: Session) -> None:
    """A watched row written: forget now, and again at the commit. Another request of this process may check a
    token between the two and read the row as it was committed before; what it keeps then is stale too."""
    session.info[_STALE_AT_COMMIT] = True
    forget_all()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_STALE_AT_COMMIT, False):
        forget_all()
