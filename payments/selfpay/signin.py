"""Signing a member in at /peserta: a one-time code by text, then a half-hour session of his own.

No answer tells a stranger whether a KPJ or NIK exists: the code request does the same work and gives the same
answer either way (a row is written, with no member and no text when there is none), and every refusal of a code
is the same words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import delete, or_, select

from collection.members.models import Member
from core import audit, ratelimit
from core.errors import DomainError, TooManyRequests, Unauthorized, field_error
from core.extensions import DbSession
from core.outbox import queue_message
from payments.selfpay.codes import (
    CODE_LIFETIME,
    CODES_PER_ADDRESS,
    CODES_PER_IDENTIFIER,
    SESSION_LIFETIME,
    TRIES_PER_ADDRESS,
    TRIES_PER_IDENTIFIER,
    clean_identifier,
    code_text,
    code_usable,
    digest,
    identifier_kind,
    new_code,
    new_token,
    same_digest,
)
from payments.selfpay.models import MemberCode, MemberSession

CODE_REFUSED = "code_refused"  # the one reason for every refused code: wrong, expired, used, spent, unknown


@dataclass(frozen=True)
class Secret:
    """The app's secret key: codes and tokens are kept as digests keyed with it."""

    key: str


def _limited(key: str, limit: tuple[int, int]) -> None:
    count, window = limit
    if not ratelimit.allow(key, count, window):
        raise TooManyRequests(
            gettext("Too many attempts: wait a while and try again."),
            retry_after=ratelimit.seconds_left(key, window),
            reason="throttled",
        )


def request_code(
    session: DbSession, secret: Secret, identifier: str, birth_date: date | None, address: str, now: datetime
) -> str:
    """Send a code to the phone of the member with this KPJ or NIK and birth date, if there is one; return the
    challenge token the browser keeps, the same kind of answer whether or not there is."""
    kind = identifier_kind(identifier)
    if kind is None:
        raise field_error("identifier", gettext("Write your KPJ (11 digits) or NIK (16 digits)."))
    if birth_date is None:
        raise field_error("birth_date", gettext("Write your birth date."))
    number = clean_identifier(identifier)
    _limited(f"peserta:codes:address:{address}", CODES_PER_ADDRESS)
    tag = digest(secret.key, "identifier", number)
    _limited(f"peserta:codes:id:{tag}", CODES_PER_IDENTIFIER)
    member = session.scalar(select(Member).where(Member.kpj == number if kind == "kpj" else Member.nik == number))
    known = member is not None and member.birth_date == birth_date and bool(member.phone)
    code = new_code()  # made either way: the same work for a stranger's guess as for a member
    # The challenge carries the KPJ's or NIK's keyed digest, so its tries are counted per identifier for a stranger's
    # guess as for a member (a count per member would answer a 429 for a real KPJ and birth date only).
    token = f"{tag[:32]}.{new_token()}"
    row = MemberCode(
        challenge_digest=digest(secret.key, "challenge", token),
        member_id=member.id if known and member is not None else None,
        code_digest=digest(secret.key, "code", code),
        expires_at=now + CODE_LIFETIME,
        created_at=now,
    )
    session.add(row)
    if known and member is not None:
        queue_message(session, "member_code", member.phone, code_text(code))
    # Every request is in the audit log, a stranger's too (no member named): who asks for codes, from where.
    audit.record(session, "member.code_requested", "member", row.member_id, None, address=address, sent=known)
    session.commit()
    return token


def verify_code(session: DbSession, secret: Secret, challenge: str, code: str, address: str, now: datetime) -> str:
    """The member's new session token, once the code of his challenge is right; one refusal for every wrong case."""
    _limited(f"peserta:tries:address:{address}", TRIES_PER_ADDRESS)
    refused = Unauthorized(gettext("That code is wrong or has expired: ask for a new code."), reason=CODE_REFUSED)
    if not challenge:
        raise refused
    # Locked till this answer commits: the same code sent twice at once opens one session, and wrong codes sent at
    # once are each counted against the code's tries.
    row = session.scalar(
        select(MemberCode)
        .where(MemberCode.challenge_digest == digest(secret.key, "challenge", challenge))
        .with_for_update()
    )
    if row is None or not code_usable(row.expires_at, row.used_at, row.attempts, now):
        raise refused
    row.attempts += 1
    try:  # the row matched the whole token, so its identifier's tag is the one request_code wrote
        _limited(f"peserta:tries:id:{challenge.partition('.')[0]}", TRIES_PER_IDENTIFIER)
    except DomainError:
        session.commit()
        raise
    right = same_digest(row.code_digest, digest(secret.key, "code", code.strip()))
    if not right or row.member_id is None:
        session.commit()
        raise refused
    row.used_at = now
    token = new_token()
    session.add(
        MemberSession(
            token_digest=digest(secret.key, "session", token),
            member_id=row.member_id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    audit.record(session, "member.signed_in", "member", row.member_id, None, address=address)
    session.commit()
    return token


def member_of_session(session: DbSession, secret: Secret, token: str | None, now: datetime) -> Member | None:
    """The member of a live session token, or None (none, expired, ended)."""
    if not token:
        return None
    found = session.scalar(
        select(MemberSession).where(
            MemberSession.token_digest == digest(secret.key, "session", token),
            MemberSession.ended_at.is_(None),
            MemberSession.expires_at > now,
        )
    )
    return session.get(Member, found.member_id) if found is not None else None


def end_session(session: DbSession, secret: Secret, token: str | None, now: datetime) -> None:
    """Sign the member out: his token stops working at once."""
    if token:
        found = session.scalar(
            select(MemberSession).where(MemberSession.token_digest == digest(secret.key, "session", token))
        )
        if found is not None and found.ended_at is None:
            found.ended_at = now
            session.commit()


def purge_spent(session: DbSession, now: datetime) -> int:
    """Forget codes and sessions that can no longer be used."""
    spent = session.execute(delete(MemberCode).where(MemberCode.expires_at < now))
    ended = session.execute(
        delete(MemberSession).where(or_(MemberSession.expires_at < now, MemberSession.ended_at.is_not(None)))
    )
    session.commit()
    return int(getattr(spent, "rowcount", 0)) + int(getattr(ended, "rowcount", 0))
