"""Text enquiries: a member texts ``CEK <KPJ>`` (or his NIK) to the branch's number; the answer (his standing, the
months owed and their amount, paid-through month, and a pay link) goes by text to the phone ON RECORD for that
member, whoever asked.

The webhook only stores the text (:func:`store_text`, once per gateway message id) and wakes a worker, so its answer
does the same work, and takes the same time, whether the KPJ exists or not. The worker (:func:`answer_waiting_texts`)
looks the member up and answers each stored text once. Answers cost money, so they are limited: a member gets at
most ``ANSWERS_PER_MEMBER_PER_DAY`` a day (a stranger cannot flood his phone), and in any 24 hours one sending phone
gets at most ``Limits.per_sender`` answered (over every KPJ it asks about) and one gateway ``Limits.per_gateway`` in
all (CEK_ANSWERS_PER_SENDER, CEK_ANSWERS_PER_GATEWAY); past a limit the text is kept as 'limited', nothing sent.
Stored texts go after INBOUND_TEXTS_KEEP_DAYS (:func:`purge_inbound_texts`)."""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext, ngettext
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError

from collection.members.models import Member
from collection.members.paylinks import LinkSigner
from collection.members.position import MemberPosition, member_position
from core import audit
from core.clock import local_today
from core.extensions import DbSession
from core.i18n import label, month_label, rupiah
from core.outbox import OutboxMessage, queue_message
from organisation.models import Branch
from payments.selfpay.models import InboundText

log = logging.getLogger(__name__)

ANSWERS_PER_MEMBER_PER_DAY = 3  # answers a member's phone gets a day (his branch's day), however many ask
ANSWER_KIND = "cek_answer"
RECEIVED = "received"  # stored by the webhook, waiting for the worker
LIMIT_WINDOW = timedelta(hours=24)  # the senders' and the gateways' answers are counted over this much time
PURGE_BATCH = 1000  # inbound texts deleted per statement and transaction
_ENQUIRY = re.compile(r"\s*CEK\s*(?:(?:KPJ|NIK)\s*[:.]?)?\s*([0-9][0-9 .\-]*[0-9])\s*", re.IGNORECASE)


def enquired_number(text: str) -> str | None:
    """The KPJ (11 digits) or NIK (16) of a ``CEK`` text, any case and spacing (``cek 1234 5678 901``, ``CEK KPJ:
    12345678901``); else None."""
    found = _ENQUIRY.fullmatch(text)
    if found is None:
        return None
    digits = "".join(ch for ch in found.group(1) if ch.isdigit())
    return digits if digits.isascii() and len(digits) in (11, 16) else None


def answer_text(member: Member, position: MemberPosition, link: str | None) -> str:
    """The answer, in the member's language (Bahasa Indonesia: outside a page's request, and forced by the
    webhook)."""
    standing = position.standing
    status = label("member_status", standing.status)
    paid = month_label(standing.paid_through)
    if position.starts_new_period and position.choices:
        choice = position.choices[0]
        text = gettext(
            "BPJS Ketenagakerjaan: KPJ %(kpj)s, status %(status)s, paid through %(paid)s. A payment of %(amount)s "
            "starts new cover from %(month)s.",
            kpj=member.kpj,
            status=status,
            paid=paid,
            amount=rupiah(choice.amount_idr),
            month=month_label(choice.first),
        )
    elif standing.months_in_arrears:
        text = ngettext(
            "BPJS Ketenagakerjaan: KPJ %(kpj)s, status %(status)s, paid through %(paid)s. Owed: %(num)s month, "
            "%(amount)s.",
            "BPJS Ketenagakerjaan: KPJ %(kpj)s, status %(status)s, paid through %(paid)s. Owed: %(num)s months, "
            "%(amount)s.",
            standing.months_in_arrears,
            kpj=member.kpj,
            status=status,
            paid=paid,
            amount=rupiah(standing.arrears_idr),
        )
    else:
        due = position.open_dues[0].amount_idr if position.open_dues else 0
        text = gettext(
            "BPJS Ketenagakerjaan: KPJ %(kpj)s, status %(status)s, paid through %(paid)s. Next: %(month)s, %(amount)s.",
            kpj=member.kpj,
            status=status,
            paid=paid,
            month=month_label(position.next_due_month),
            amount=rupiah(due),
        )
    if link is None:
        return text
    return text + " " + gettext("Pay online: %(link)s", link=link)


@dataclass(frozen=True)
class Limits:
    """Answers allowed in any ``LIMIT_WINDOW``: to the enquiries of one sending phone, and of one gateway in all."""

    per_sender: int
    per_gateway: int


def limits_of(config: Mapping[str, Any]) -> Limits:
    """The limits of an app's config (CEK_ANSWERS_PER_SENDER, CEK_ANSWERS_PER_GATEWAY)."""
    return Limits(int(config["CEK_ANSWERS_PER_SENDER"]), int(config["CEK_ANSWERS_PER_GATEWAY"]))


def store_text(session: DbSession, provider: str, message_id: str, sender: str, body: str, now: datetime) -> bool:
    """Keep one inbound text, to be answered by a worker; False when this gateway message was stored before (a
    redelivery). Reads nothing else: the same work for every text."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row_id = session.scalar(
        insert(InboundText)
        .values(
            provider=provider,
            message_id=message_id,
            sender=sender[:32],
            body=body[:320],
            outcome=RECEIVED,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["provider", "message_id"])
        .returning(InboundText.id)
    )
    session.commit()
    return row_id is not None


def answer_waiting_texts(session: DbSession, links: LinkSigner, limits: Limits, now: datetime) -> int:
    """Answer every stored text still waiting, oldest first, each in its own transaction; how many were answered
    (texts queued). Safe to run any number of times, and at once: a text is claimed under its row lock (skipped by
    the others on PostgreSQL) and its outcome written with the answer, so it is answered once."""
    answered = 0
    while True:
        row = session.scalar(
            select(InboundText)
            .where(InboundText.outcome == RECEIVED)
            .order_by(InboundText.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if row is None:
            session.commit()
            return answered
        row_id = row.id
        try:
            answered += _answer(session, row, links, limits, now)
            session.commit()
        except (OperationalError, InterfaceError):  # the database went away: the text waits for the next run
            session.rollback()
            raise
        except Exception:  # a text that cannot be answered must not hold back those after it, run after run
            session.rollback()
            log.exception("could not answer inbound text %s; marked ignored", row_id)
            session.execute(update(InboundText).where(InboundText.id == row_id).values(outcome="ignored"))
            session.commit()


def _one_gateway_and_sender_at_a_time(session: DbSession, provider: str, sender: str) -> None:
    """Count and answer one text of a gateway, and one of a sender, at a time, so two workers never both take the
    last answer the gateway or a sender has left (a phone may text two gateways of the branch): a transaction's
    advisory locks on PostgreSQL, the gateway's first; SQLite's BEGIN IMMEDIATE already serialises every writer."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"iuran:cek:{provider}".encode()))))
        session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"iuran:cek:sender:{sender}".encode()))))


def _answered_since(session: DbSession, since: datetime, *where: Any) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundText)
            .where(InboundText.outcome == "answered", InboundText.received_at >= since, *where)
        )
        or 0
    )


def _answer(session: DbSession, row: InboundText, links: LinkSigner, limits: Limits, now: datetime) -> bool:
    """Decide one claimed text's outcome and queue its answer (caller commits); True when an answer was queued."""
    _one_gateway_and_sender_at_a_time(session, row.provider, row.sender)  # before the member's: the same order always
    number = enquired_number(row.body)
    member = None
    if number is not None:
        column = Member.kpj if len(number) == 11 else Member.nik
        member = session.scalar(select(Member).where(column == number).with_for_update())
    if member is None or not member.phone:
        row.outcome = "ignored"
        return False
    row.member_id = member.id
    # The 24 hours before the text was received, not before now: a backlog answered after the workers were down
    # counts the answers of its own day, rather than none (its texts all older than a day) and every text answered.
    since = min(row.received_at, now) - LIMIT_WINDOW
    if (
        _answered_since(session, since, InboundText.sender == row.sender) >= limits.per_sender
        or _answered_since(session, since, InboundText.provider == row.provider) >= limits.per_gateway
    ):
        row.outcome = "limited"
        return False
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    prefix = f"cek:{member.id}:{today:%Y%m%d}:"
    # The member's row is locked till commit: two enquiries at once count one after the other; the dedupe key is
    # the final guard.
    sent = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix))
    )
    if (sent or 0) >= ANSWERS_PER_MEMBER_PER_DAY:
        row.outcome = "limited"
        return False
    position = member_position(session, member, today)
    choice = position.choices[0] if position.choices else None
    link = links.link(member.id, choice.first, choice.months, now, phone=member.phone) if choice is not None else None
    queued = queue_message(
        session, ANSWER_KIND, member.phone, answer_text(member, position, link), dedupe_key=f"{prefix}{(sent or 0) + 1}"
    )
    row.outcome = "answered" if queued else "limited"
    audit.record(session, "member.enquiry_answered", "member", member.id, None, provider=row.provider, queued=queued)
    return queued


def purge_inbound_texts(session: DbSession, now: datetime, keep_days: int, batch: int = PURGE_BATCH) -> int:
    """Delete the inbound texts older than ``keep_days`` days (never those the limits still count, nor one still
    waiting for its answer), ``batch`` rows per statement and transaction; how many went. Safe to re-run."""
    cutoff = now - max(timedelta(days=keep_days), LIMIT_WINDOW)
    purged = 0
    while True:
        ids = list(
            session.scalars(
                select(InboundText.id)
                .where(InboundText.received_at < cutoff, InboundText.outcome != RECEIVED)
                .order_by(InboundText.id)
                .limit(batch)
            )
        )
        if not ids:
            session.commit()
            return purged
        session.execute(delete(InboundText).where(InboundText.id.in_(ids)))
        session.commit()
        purged += len(ids)
