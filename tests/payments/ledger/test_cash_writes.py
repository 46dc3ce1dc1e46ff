"""Cash recorded in three statements writes what book_payment (the ORM path auto-debit and sponsors share) writes."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.position import member_position
from core.audit import AuditEvent
from core.clock import local_today
from core.extensions import db
from core.outbox import OutboxMessage
from organisation.models import Branch
from payments.ledger.models import Channel, Payment, Receipt
from payments.ledger.services import book_payment
from tests.factories import NOW, nik_for


def written(member_id: int) -> dict[str, Any]:
    """Everything a payment wrote for a member, with its ids, keys and random codes left out."""
    payment = db.session.scalars(select(Payment).where(Payment.member_id == member_id)).one()
    receipt = db.session.scalars(select(Receipt).where(Receipt.payment_id == payment.id)).one()
    member = db.session.get_one(Member, member_id)

    def plain(text: str) -> str:
        text = text.replace(receipt.number, "<number>").replace(receipt.verification_code, "<code>")
        return text.replace(f"payment {payment.id}", "payment <id>")

    [text] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.body.contains(receipt.number))).all()
    [audit] = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "contribution.recorded")
        .where(AuditEvent.entity_id == str(payment.id))
    ).all()
    return {
        "payment": (
            payment.channel,
            payment.amount_idr,
            payment.credit_idr,
            payment.paid_on,
            payment.status,
            payment.agent_id,
            payment.recorded_by_user_id,
            payment.recorded_at,
            payment.reversed_at,
            payment.sponsor_payment_id,
        ),
        "allocations": [
            (a.month, a.amount_idr, a.reversed)
            for a in db.session.scalars(
                select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id).order_by("month")
            )
        ],
        "receipt": (
            receipt.number.replace(f"{payment.id:08d}", "<id>"),
            receipt.issued_at,
            len(receipt.verification_code),
        ),
        "text": (text.kind, text.recipient, plain(text.body), text.dedupe_key, text.sent_at, text.attempts),
        "audit": (
            audit.actor_user_id,
            audit.entity_type,
            audit.ip,
            audit.device,
            plain(str(audit.details | {"member_id": 0})),
        ),
        "member": (member.status, member.paid_through, member.first_month, member.period_started_on),
        "changes": [
            (c.from_status, c.to_status, c.changed_on, plain(c.cause))
            for c in db.session.scalars(
                select(MemberStatusChange).where(MemberStatusChange.member_id == member_id).order_by("id")
            )
        ],
        "periods": [
            (p.started_on, p.first_month, p.ended_on, p.end_cause)
            for p in db.session.scalars(
                select(MembershipPeriod).where(MembershipPeriod.member_id == member_id).order_by("started_on")
            )
        ],
    }


@pytest.mark.parametrize("days_later", [0, 62, 150], ids=["current", "in_arrears", "lapsed"])
def test_the_api_writes_what_book_payment_writes(pinned_app, client, world, enrol, days_later):
    now = NOW + timedelta(days=days_later)
    by_api, by_orm = enrol(sector="other"), enrol(sector="other", nik=nik_for(serial=2))
    pinned_app.config["CLOCK"] = lambda: now
    agent = world["agent"]

    with pinned_app.test_request_context(
        headers={"User-Agent": "pytest"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    ):  # the device the API call names too
        member = db.session.get_one(Member, by_orm["id"])
        branch = db.session.get_one(Branch, member.branch_id)
        today = local_today(branch.timezone, now)
        position = member_position(db.session, member, today)
        choice = position.choices[0]  # in arrears the arrears come first
        book_payment(
            db.session,
            member,
            branch,
            position,
            amount_idr=choice.amount_idr,
            channel=Channel.CASH,
            paid_on=today,
            idempotency_key=str(uuid.uuid4()),
            fingerprint_="x",
            agent_id=agent.agent_id,
            actor_id=agent.id,
            today=today,
            now=now,
            public_base_url=pinned_app.config["PUBLIC_BASE_URL"],
        )
        db.session.commit()
    response = client.post(
        "/api/v1/contributions",
        json={"member_id": by_api["id"], "months": choice.months},
        headers=agent.headers | {"Idempotency-Key": str(uuid.uuid4()), "User-Agent": "pytest"},
    )
    assert response.status_code == 201, response.get_json()
    with pinned_app.app_context():
        api, orm = written(by_api["id"]), written(by_orm["id"])

    assert re.fullmatch(r"PKP-\d{6}-<id>", api["receipt"][0]), api["receipt"]
    if days_later == 150:
        assert len(api["periods"]) == 2 and api["changes"], api  # the case this test is for: a new period
    for part in api:
        assert api[part] == orm[part], part
