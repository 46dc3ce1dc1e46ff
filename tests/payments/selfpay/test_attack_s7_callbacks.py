"""Attacks on the callbacks of members' own charges (SP- orders): forged and replayed notifications book nothing."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from collection.members.models import PaymentAllocation
from core.extensions import db
from payments.autodebit.models import WebhookEvent
from payments.autodebit.signatures import midtrans_signature
from payments.ledger.models import Payment
from payments.selfpay.models import SelfCharge
from tests.payments.selfpay.conftest import CSRF, SERVER_KEY, deliver, process, queued_bodies

# --- callbacks of members' own charges ---------------------------------------------------------------------------


def _self_charges(app: Any) -> list[tuple[str, int | None]]:
    with app.app_context():
        return [(c.status, c.payment_id) for c in db.session.scalars(select(SelfCharge).order_by(SelfCharge.id))]


def _booked(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Payment))


def _open_va(client: Any) -> None:
    answer = client.post("/peserta/bayar", data={"months": "1", "method": "va", "csrf_token": CSRF})
    assert answer.status_code == 303 and "/peserta/bayar/" in answer.headers["Location"]


def test_a_replayed_pending_notification_edited_to_settlement_books_nothing(
    pinned_app, client, enrol, sign_in, sandbox
):
    """The signature covers order_id, status_code and gross_amount, not transaction_status: a pending notification
    (status_code 201, signed by the provider) with its status edited to "settlement" keeps a valid signature."""
    member = enrol()
    sign_in(client, member["kpj"])
    _open_va(client)
    with pinned_app.app_context():
        charge = db.session.scalars(select(SelfCharge)).one()
        order_id, amount = charge.order_id, charge.amount_idr
    gross = f"{amount}.00"
    forged = {
        "order_id": order_id,
        "transaction_status": "settlement",
        "status_code": "201",  # what the provider signed: a pending notification
        "gross_amount": gross,
        "transaction_id": "replayed-1",
        "signature_key": midtrans_signature(order_id, "201", gross, SERVER_KEY),
    }

    [answer] = deliver(client, [json.dumps(forged).encode()])
    process(pinned_app)

    assert _booked(pinned_app) == 0
    assert _self_charges(pinned_app)[0][0] != "settled"
    assert 400 <= answer.status_code < 500
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_a_callback_with_a_wrong_signature_is_refused_and_stored_nowhere(pinned_app, client, enrol, sign_in, sandbox):
    member = enrol()
    sign_in(client, member["kpj"])
    _open_va(client)
    with pinned_app.app_context():
        charge = db.session.scalars(select(SelfCharge)).one()
        order_id, gross = charge.order_id, f"{charge.amount_idr}.00"
    forged = {
        "order_id": order_id,
        "transaction_status": "settlement",
        "status_code": "200",
        "gross_amount": gross,
        "transaction_id": "forged-1",
        "signature_key": midtrans_signature(order_id, "200", gross, "not-the-server-key"),
    }

    [answer] = deliver(client, [json.dumps(forged).encode()])
    process(pinned_app)

    assert answer.status_code == 401
    assert _booked(pinned_app) == 0 and _self_charges(pinned_app)[0][0] == "pending"
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


@pytest.mark.postgresql_only
def test_a_settlement_racing_the_agents_cash_for_the_same_month_books_each_month_once(
    pinned_app, client, world, enrol, sign_in, sandbox
):
    member = enrol()
    sign_in(client, member["kpj"])
    _open_va(client)
    with pinned_app.app_context():
        order_id = db.session.scalars(select(SelfCharge.order_id)).one()
    sandbox.pay(order_id)
    assert {a.status_code for a in deliver(client, queued_bodies(sandbox))} == {200}
    agent = pinned_app.test_client()
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    cash: list[Any] = []
    threads = [
        threading.Thread(target=lambda: process(pinned_app)),
        threading.Thread(
            target=lambda: cash.append(
                agent.post("/api/v1/contributions", json={"member_id": member["id"], "months": 1}, headers=headers)
            )
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert cash[0].status_code == 201, cash[0].get_json()
    with pinned_app.app_context():
        status = db.session.scalars(select(SelfCharge.status)).one()
        months = db.session.scalars(
            select(PaymentAllocation.month).where(
                PaymentAllocation.member_id == member["id"], ~PaymentAllocation.reversed
            )
        ).all()
        channels = sorted(db.session.scalars(select(Payment.channel)).all())
        states = db.session.scalars(select(WebhookEvent.state)).all()
    assert len(months) == len(set(months))
    assert "received" not in states and ("review" in states) == (status == "review")
    assert channels == (["cash", "virtual_account"] if status == "settled" else ["cash"])


# --- the member's forms without their token ----------------------------------------------------------------------


def test_the_members_forms_without_their_token_change_nothing(pinned_app, client, enrol, sign_in, sandbox):
    member = enrol()
    sign_in(client, member["kpj"])

    answers = [
        client.post("/peserta/bayar", data={"months": "1", "method": "va"}),
        client.post("/peserta/autodebet", data={"mandate_id": "1", "action": "cancel"}),
        client.post("/peserta/keluar", data={}),
        client.post("/peserta/bayar", data={"months": "1", "method": "va", "csrf_token": "forged"}),
    ]

    assert all(400 <= a.status_code < 500 for a in answers), [a.status_code for a in answers]
    assert _self_charges(pinned_app) == []
    assert client.get("/peserta/").status_code == 200  # still signed in: the forged sign-out did nothing
