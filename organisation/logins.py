"""Password logins and web sessions: one throttle, one timing and one audit for /agen, /keuangan and the API.

A web session is a row of ``web_sessions``; the signed cookie carries only a random id, whose SHA-256 is
stored. Logging out revokes the row, so a cookie copied before the logout stops working at once, and
:func:`end_sessions_of` ends every session and API token of a user (a stolen phone, a disabled account).
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask_babel import gettext
from sqlalchemy import CursorResult, delete, or_, select, update
from werkzeug.security import check_password_hash

from core import audit, ratelimit
from core.errors import TooManyRequests, Unauthorized
from core.extensions import DbSession
from core.refusals import record_refusal
from organisation.models import Agent, ApiToken, StaffUser, WebSession
from organisation.services import DUMMY_PASSWORD_HASH, may_log_in, sha256_hex, user_for_credential


class LoginThrottled(TooManyRequests):
    """Too many tries for this username from this address, or too many failures from this address."""


def check_password_login(
    session: DbSession,
    username: str,
    password: str,
    remote_addr: str | None,
    config: dict[str, Any],
    app: str,
) -> StaffUser:
    """The active user behind a username and password, or :class:`LoginThrottled` / :class:`Unauthorized`.

    Three throttles count refusals: per network and username (a success resets it), per network whatever the
    username (one address guessing across many usernames), and per username whatever the network (many
    addresses guessing one password). An unknown username is checked against a dummy hash, so it answers in
    the time a real one does; an agent no longer active is refused like a wrong password. Refusals are audited
    in aggregate per address (core/refusals.py: the 1st, 10th, 100th… of a window, each with its count).
    """
    username = username.strip().lower()[:64]
    action = "auth.token" if app == "api" else "auth.web_login"
    window = config["LOGIN_WINDOW_SECONDS"]
    network = address_network(remote_addr)
    pair = f"login:{network}:{username}"
    address = f"login-failures:{network}"
    account = f"login-failures-user:{username}"
    # Counted before the password is checked (a check takes a scrypt's time: parallel tries must not all get
    # past a check-then-count), and given back where the try does not count: a success (but for the pair's
    # count, which a success resets) and a database outage.
    keys: list[tuple[str, int]] = [
        (pair, config["LOGIN_ATTEMPTS"]),
        (address, config["LOGIN_FAILURES_PER_ADDRESS"]),
        (account, config["LOGIN_FAILURES_PER_USERNAME"]),
    ]
    over = [key for key, limit in keys if ratelimit.hit(key, window) > limit]
    if over:
        record_refusal(session, f"{action}_throttled", network, window, "staff_user", username=username, app=app)
        session.commit()
        wait = max(ratelimit.seconds_left(key, window) for key in over)  # until every limit it hit lets go
        raise LoginThrottled(
            gettext("Too many attempts from here: wait %(minutes)s minutes.", minutes=math.ceil(wait / 60)),
            retry_after=wait,
        )
    try:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        password_ok = check_password_hash(user.password_hash if user else DUMMY_PASSWORD_HASH, password)
        allowed = user is not None and session.scalar(
            select(StaffUser.id)
            .outerjoin(Agent, Agent.user_id == StaffUser.id)
            .where(StaffUser.id == user.id, may_log_in())
        )
    except Exception:
        for key, _ in keys:
            ratelimit.give_back(key, window)
        raise
    if user is None or not password_ok or not allowed:
        record_refusal(session, f"{action}_refused", network, window, "staff_user", username=username, app=app)
        session.commit()
        raise Unauthorized(gettext("Wrong username or password."))

    ratelimit.reset(pair)
    for key in (address, account):
        ratelimit.give_back(key, window)
    return user


def address_network(remote_addr: str | None) -> str:
    """The network a client's address stands for in the throttles: an IPv4 address itself, an IPv6 address's
    /64 (one home line or phone holds a whole /64, and could step through it)."""
    try:
        parsed = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return str(remote_addr)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def start_web_session(session: DbSession, user: StaffUser, app: str, now: datetime, lifetime_seconds: int) -> str:
    """Store a new web session for ``user`` and return its id for the signed cookie (the caller commits)."""
    sid = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            user_id=user.id,
            sid_sha256=sha256_hex(sid),
            app=app,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime_seconds),
        )
    )
    audit.record(session, "auth.web_login", "staff_user", user.id, user.id, app=app)
    return sid


def user_for_web_session(session: DbSession, sid: object, now: datetime) -> StaffUser | None:
    """The active user of a live (not revoked, not expired) web session, or None (one indexed query)."""
    if not isinstance(sid, str) or not sid:
        return None
    return user_for_credential(session, WebSession.sid_sha256, sha256_hex(sid), now)


def end_web_session(session: DbSession, sid: object, now: datetime) -> None:
    """Revoke one web session (logout); a copy of its cookie is refused from now on. The caller commits."""
    if not isinstance(sid, str) or not sid:
        return
    user_id = session.scalar(
        update(WebSession)
        .where(WebSession.sid_sha256 == sha256_hex(sid), WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(WebSession.user_id)
    )
    if user_id is not None:
        audit.record(session, "auth.web_logout", "staff_user", user_id, user_id)


def end_sessions_of(session: DbSession, user_id: int, actor_user_id: int | None, now: datetime) -> int:
    """Revoke every web session and API token of a user at once; how many were live. The caller commits."""
    ended = 0
    for model in (WebSession, ApiToken):
        result = session.execute(
            update(model).where(model.user_id == user_id, model.revoked_at.is_(None)).values(revoked_at=now)
        )
        ended += cast(CursorResult[Any], result).rowcount
    audit.record(session, "auth.sessions_ended", "staff_user", user_id, actor_user_id, ended=ended)
    return ended


SESSION_ROWS_KEPT_DAYS = 30  # an ended session's row stays this long, for a look at who was logged in when


def purge_web_sessions(session: DbSession, now: datetime) -> int:
    """Delete the rows of web sessions that ended (expired or revoked) over SESSION_ROWS_KEPT_DAYS ago; how
    many. Who logged in and out stays in the audit log. Commits."""
    before = now - timedelta(days=SESSION_ROWS_KEPT_DAYS)
    result = session.execute(
        delete(WebSession).where(or_(WebSession.expires_at < before, WebSession.revoked_at < before))
    )
    session.commit()
    return cast(CursorResult[Any], result).rowcount


def safe_next(target: str, prefix: str) -> str | None:
    """``target`` if it is a path inside ``prefix`` on this site, else None.

    Refuses another host (``//evil``, ``/\\evil``), a scheme, and control characters: a CR or LF would
    split the Location header, and the login that had just succeeded would answer 500.
    """
    if not target.startswith(prefix) or any(ord(c) < 0x20 or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix):
        return None
    return target
