"""Text enquiries: a member texts ``CEK <KPJ>`` (or his NIK) to the branch's number; the answer (his standing, the
months owed and their amount, paid-through month, and a pay link) goes by text to the phone ON RECORD for that
member, whoever asked. The gateway gets the same answer for every text, so nothing tells a sender whether a KPJ
exists, and a member gets at most ``ANSWERS_PER_MEMBER_PER_DAY`` answers a day, so a stranger cannot flood his phone.
Each gateway message is handled once (``inbound_texts``' unique message id)."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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

ANSWERS_PER_MEMBER_PER_DAY = 3  # answers a member's phone gets a day (his branch's day), however many ask
ANSWER_KIND = "cek_answer"
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
        text = gettext(
            "BPJS Ketenagakerjaan: KPJ %(kpj)s, status %(status)s, paid through %(paid)s. Owed: %(months)s months, "
            "%(amount)s.",
            kpj=member.kpj,
            status=status,
            paid=paid,
            months=standing.months_in_arrears,
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


def _store(session: DbSession, provider: str, message_id: str, sender: str, body: str, now: datetime) -> int | None:
    """The new row's id, or None when this gateway message was stored before (a redelivery)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return session.scalar(
        insert(InboundText)
        .values(
            provider=provider,
            message_id=message_id,
            sender=sender[:32],
            body=body[:320],
            outcome="ignored",
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["provider", "message_id"])
        .returning(InboundText.id)
    )


def take_text(
    session: DbSession, provider: str, message_id: str, sender: str, body: str, now: datetime, links: LinkSigner
) -> bool:
    """Handle one inbound text once; True when an answer was queued (the caller then schedules the outbox; the
    gateway's answer does not depend on it)."""
    row_id = _store(session, provider, message_id, sender, body, now)
    if row_id is None:
        session.commit()
        return False
    number = enquired_number(body)
    member = None
    if number is not None:
        column = Member.kpj if len(number) == 11 else Member.nik
        member = session.scalar(select(Member).where(column == number).with_for_update())
    if member is None or not member.phone:
        session.commit()
        return False
    row = session.get(InboundText, row_id)
    assert row is not None
    row.member_id = member.id
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
        session.commit()
        return False
    position = member_position(session, member, today)
    choice = position.choices[0] if position.choices else None
    link = links.link(member.id, choice.first, choice.months, now, phone=member.phone) if choice is not None else None
    queued = queue_message(
        session, ANSWER_KIND, member.phone, answer_text(member, position, link), dedupe_key=f"{prefix}{(sent or 0) + 1}"
    )
    row.outcome = "answered" if queued else "limited"
    audit.record(session, "member.enquiry_answered", "member", member.id, None, provider=provider, queued=queued)
    session.commit()
    return queued
