"""Staff accounts and tokens: create users, check passwords, issue and resolve API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.security import generate_password_hash

from core import audit
from core.errors import field_error
from core.extensions import DbSession
from organisation import token_cache
from organisation.models import Agent, AgentStatus, ApiToken, Branch, Role, StaffUser, Wadah

# Checked against when the username is unknown, so both failures take the same time.
DUMMY_PASSWORD_HASH = generate_password_hash("not-a-real-password")


def hash_password(password: str) -> str:
    """A scrypt hash (werkzeug's default KDF) with a random salt."""
    return generate_password_hash(password)


def create_user(
    session: DbSession,
    username: str,
    password: str,
    full_name: str,
    role: Role,
    branch_id: int | None,
) -> StaffUser:
    """Add a staff account to the session (the caller commits)."""
    if len(password) < 8:
        raise field_error("password", gettext("Password must have at least 8 characters."))
    user = StaffUser(
        username=username.strip().lower(),
        password_hash=hash_password(password),
        full_name=full_name,
        role=role,
        branch_id=branch_id,
    )
    session.add(user)
    return user


def create_agent(session: DbSession, user: StaffUser, wadah: Wadah, code: str, member_id: int | None = None) -> Agent:
    """Make a staff account of role ``agent`` into a Perisai of the Wadah's branch."""
    if user.role != Role.AGENT:
        raise field_error("role", gettext("Only an account with role 'agent' can be a Perisai."))
    agent = Agent(user=user, branch_id=wadah.branch_id, wadah=wadah, code=code, member_id=member_id)
    session.add(agent)
    return agent


def sha256_hex(secret: str) -> str:
    """What is stored of a token or session id: its SHA-256, so a database leak leaks no credential."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: DbSession, user: StaffUser, now: datetime, ttl: timedelta) -> tuple[str, ApiToken]:
    """Store a new bearer token's digest for a user whose password was checked, and return the token."""
    token = secrets.token_urlsafe(32)
    api_token = ApiToken(user_id=user.id, token_sha256=sha256_hex(token), created_at=now, expires_at=now + ttl)
    session.add(api_token)
    audit.record(session, "auth.token_issued", "staff_user", user.id, user.id)
    session.commit()
    return token, api_token


def may_log_in() -> ColumnElement[bool]:
    """Who may use a login: an active account, and for an agent an active Perisai (not deactivated after 3
    months without a transaction, not terminated for fraud: domain.md §5). Needs ``agents`` outer-joined."""
    return and_(StaffUser.is_active.is_(True), or_(Agent.id.is_(None), Agent.status == AgentStatus.ACTIVE))


def user_for_token(session: DbSession, token: str, now: datetime, cache_seconds: float = 0) -> StaffUser | None:
    """The user a bearer token belongs to, or None if it is unknown, expired or revoked or its user may no
    longer log in (one indexed query; none for a token verified in the last ``cache_seconds``: token_cache.py)."""
    digest = sha256_hex(token)
    if cache_seconds > 0:
        user = token_cache.cached_user(session, digest, now)
        if user is not None:
            return user
    asked_at = token_cache.generation()
    row = session.execute(_live(select(StaffUser, ApiToken.expires_at), ApiToken.token_sha256, digest, now)).first()
    if row is None:
        return None
    token_cache.keep(session, digest, row[0], row[1], cache_seconds, asked_at)
    return cast(StaffUser, row[0])


def user_for_credential(
    session: DbSession, digest_column: InstrumentedAttribute[str], digest: str, now: datetime
) -> StaffUser | None:
    """The user of a live credential (an API token, a web session: a row with ``user_id``, ``expires_at`` and
    ``revoked_at``) found by its digest, if that user may still log in (one indexed query)."""
    return session.scalar(_live(select(StaffUser), digest_column, digest, now))


def _live(query: Any, digest_column: InstrumentedAttribute[str], digest: str, now: datetime) -> Any:
    credential = digest_column.class_
    return (
        query.join(credential, credential.user_id == StaffUser.id)
        .outerjoin(Agent, Agent.user_id == StaffUser.id)
        .where(
            digest_column == digest,
            credential.revoked_at.is_(None),
            credential.expires_at > now,
            may_log_in(),
        )
    )


def agent_of(session: DbSession, user: StaffUser) -> Agent | None:
    """The Perisai row behind an agent's login."""
    return session.scalar(select(Agent).where(Agent.user_id == user.id))


def branch_or_404(session: DbSession, branch_id: int) -> Branch:
    """A branch by id, or a 422 naming ``branch_id`` (an unknown branch is a bad field, not a bad URL)."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise field_error(
            "branch_id", gettext("There is no branch %(id)s: see GET /api/v1/branches for the list.", id=branch_id)
        )

    return branch
