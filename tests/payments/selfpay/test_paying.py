"""A member pays himself by virtual account or QRIS: the sandbox opens the charge and calls back through the signed
webhook path; the callback settles it through the ledger exactly once, with a receipt and a text; expired,
duplicated, reordered and late callbacks change nothing they should not, and money never goes missing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import segno
from sqlalchemy import select

from core.extensions import db
from core.months import Month
from core.outbox import OutboxMessage
from organisation.models import Branch
from payments.autodebit.models import Mandate, WebhookEvent
from payments.autodebit.providers import payment_charge_body, payment_instructions
from payments.autodebit.signatures import midtrans_signature
from payments.finance.reports import collections_by_channel
from payments.ledger.models import Payment
from payments.selfpay.models import SelfCharge
from tests.factories import NOW
from tests.payments.selfpay.conftest import CSRF, deliver, process, queued_bodies
from tests.test_indonesian_pages import ENGLISH, RAW_CODE, Text


def open_charge(client: Any, months: int = 1, method: str = "va") -> Any:
    answer = client.post("/peserta/bayar", data={"months": str(months), "method": method, "csrf_token": CSRF})
    assert answer.status_code == 303 and "/peserta/bayar/" in answer.headers["Location"], answer.data[:300]
    return answer


def charges(app: Any) -> list[SelfCharge]:
    with app.app_context():
        found = list(db.session.scalars(select(SelfCharge).order_by(SelfCharge.id)))
        db.session.expunge_all()
        return found


def payments(app: Any) -> list[tuple[str, int, str]]:
    with app.app_context():
        return [(p.channel, p.amount_idr, p.status) for p in db.session.scalars(select(Payment).order_by(Payment.id))]


def events(app: Any) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(e.state, e.note) for e in db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]


@pytest.fixture
def member(pinned_app: Any, client: Any, enrol: Any, sign_in: Any, sandbox: Any) -> dict[str, Any]:
    """A member signed in at /peserta in this client, with the sandbox as the provider."""
    body = enrol()
    sign_in(client, body["kpj"])
    return body


def test_a_virtual_account_paid_in_the_sandbox_settles_through_a_real_worker(
    pinned_app, client, member, sandbox, rq_burst
):
    choice = client.get("/peserta/bayar").get_data(as_text=True)
    assert 'name="months" value="1"' in choice and 'name="months" value="3"' in choice  # the counter's choices

    page = client.get(open_charge(client, months=3).headers["Location"]).get_data(as_text=True)
    [charge] = charges(pinned_app)
    assert charge.status == "pending" and charge.va_number and charge.va_number in page
    assert charge.months == 3 and charge.amount_idr > 0 and charge.order_id == f"SP-{charge.id}"
    assert "Menunggu pembayaran" in page and "Bayar sebelum" in page

    sandbox.pay(charge.order_id)
    answers = deliver(client, queued_bodies(sandbox))  # pending, then settlement
    assert [a.status_code for a in answers] == [200, 200]
    assert payments(pinned_app) == []  # stored: the worker settles it
    rq_burst("high")

    assert payments(pinned_app) == [("virtual_account", charge.amount_idr, "settled")]
    [settled] = charges(pinned_app)
    assert settled.status == "settled" and settled.payment_id is not None
    with pinned_app.app_context():
        receipt_text = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.kind == "receipt")).one()
    assert f"Rp{charge.amount_idr:,}".replace(",", ".") in receipt_text and "/r/" in receipt_text
    home = client.get("/peserta/").get_data(as_text=True)
    assert "/r/" in home and "Virtual account" in home  # the receipt with its verification link, and its channel
    assert "Lunas" in client.get(f"/peserta/bayar/{charge.id}").get_data(as_text=True)


def test_a_qris_charge_shows_its_code_and_settles_once_however_often_it_is_called_back(
    pinned_app, client, member, sandbox
):
    page = client.get(open_charge(client, method="qris").headers["Location"]).get_data(as_text=True)
    [charge] = charges(pinned_app)
    assert charge.qr_string and charge.qr_string in page.replace("<wbr>", "") and charge.va_number is None
    drawn = re.search(
        r'<figure id="qr-code"><svg width="(\d+)" height="(\d+)" class="qris">.*?</svg></figure>', page, re.S
    )
    assert drawn is not None, "the QR code is drawn on the server"
    assert int(drawn.group(1)) <= 264 and drawn.group(1) == drawn.group(2)
    code = segno.make(charge.qr_string, error="m", micro=False, boost_error=False)
    assert drawn.group(0).count("<path") == 1 and code.version >= 5  # the whole QRIS string, not a short one

    sandbox.pay(charge.order_id)
    pending, settlement = queued_bodies(sandbox)
    answers = deliver(client, [settlement, settlement, pending, settlement])  # duplicated and out of order
    process(pinned_app)
    deliver(client, [settlement])  # a late redelivery after processing
    process(pinned_app)

    assert [a.get_json()["duplicate"] for a in answers] == [False, True, False, True]
    assert payments(pinned_app) == [("qris", charge.amount_idr, "settled")]
    assert [s for s, _ in events(pinned_app)] == ["processed", "ignored"]  # the late pending changes nothing
    with pinned_app.app_context():  # the collections-by-channel report counts it under its own channel
        branch = db.session.get(Branch, member["branch_id"])
        [month] = collections_by_channel(db.session, branch, Month(2026, 11), Month(2026, 11))
    assert (month.qris_idr, month.total_idr, month.payments) == (charge.amount_idr, charge.amount_idr, 1)


def test_asking_twice_for_the_same_months_returns_the_open_charge(pinned_app, client, member, sandbox):
    first = open_charge(client).headers["Location"]
    second = open_charge(client).headers["Location"]
    assert first == second and len(charges(pinned_app)) == 1


def test_an_expired_charge_changes_nothing_and_a_late_payment_on_it_goes_to_review(pinned_app, client, member, sandbox):
    open_charge(client)
    [charge] = charges(pinned_app)
    sandbox.expire(charge.order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)
    assert charges(pinned_app)[0].status == "expired" and payments(pinned_app) == []
    assert "Kedaluwarsa" in client.get(f"/peserta/bayar/{charge.id}").get_data(as_text=True)

    sandbox.pay(charge.order_id, late=True)  # the bank's transfer arrives after all
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    assert payments(pinned_app) == []
    assert charges(pinned_app)[0].status == "review"
    assert events(pinned_app)[-1] == ("review", "paid after the charge was expired")


def test_two_open_charges_for_the_same_months_cannot_both_settle(pinned_app, client, member, sandbox):
    open_charge(client, method="va")
    open_charge(client, method="qris")
    va, qris = charges(pinned_app)
    assert (va.first_month, va.months) == (qris.first_month, qris.months)
    sandbox.pay(va.order_id)
    sandbox.pay(qris.order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    assert payments(pinned_app) == [("virtual_account", va.amount_idr, "settled")]
    assert [c.status for c in charges(pinned_app)] == ["settled", "review"]
    assert ("review", "its months were paid meanwhile: refund or apply by hand") in events(pinned_app)


def test_a_callback_with_another_amount_goes_to_review(pinned_app, client, member, sandbox):
    open_charge(client)
    [charge] = charges(pinned_app)
    sandbox.pay(charge.order_id)
    _, settlement = queued_bodies(sandbox)
    body = json.loads(settlement)
    body["gross_amount"] = f"{charge.amount_idr + 1}.00"
    body["signature_key"] = midtrans_signature(
        body["order_id"], body["status_code"], body["gross_amount"], "SB-Mid-server-dev-only"
    )
    deliver(client, [json.dumps(body).encode()])
    process(pinned_app)
    assert payments(pinned_app) == [] and charges(pinned_app)[0].status == "review"


def test_a_member_cannot_open_another_members_charge(pinned_app, client, enrol, sign_in, sandbox):
    first = enrol()
    second = enrol(nik=first["nik"][:-4] + "0002", phone="0812-3456-7891")
    sign_in(client, first["kpj"])
    open_charge(client)
    [charge] = charges(pinned_app)

    other = pinned_app.test_client()
    sign_in(other, second["kpj"])
    assert other.get(f"/peserta/bayar/{charge.id}").status_code == 404
    assert first["kpj"] not in other.get("/peserta/").get_data(as_text=True)


def test_the_member_pauses_and_cancels_his_own_auto_debit(pinned_app, client, member, world, enrol, sign_in):
    mandate = client.post(
        "/api/v1/mandates",
        json={"member_id": member["id"], "provider": "midtrans", "account": "1234567890", "months_per_debit": 1},
        headers=world["agent"].headers | {"Idempotency-Key": "selfpay-mandate-1"},
    )
    assert mandate.status_code in (200, 201), mandate.get_json()
    mandate_id = mandate.get_json()["id"]
    with pinned_app.app_context():
        db.session.get(Mandate, mandate_id).status = "active"
        db.session.commit()

    stranger = enrol(nik=member["nik"][:-4] + "0003", phone="0812-3456-7893")
    other = pinned_app.test_client()
    sign_in(other, stranger["kpj"])
    other.post("/peserta/autodebet", data={"mandate_id": mandate_id, "action": "cancel", "csrf_token": CSRF})
    with pinned_app.app_context():
        assert db.session.get(Mandate, mandate_id).status == "active"  # another member's mandate is not his

    client.post("/peserta/autodebet", data={"mandate_id": mandate_id, "action": "pause", "csrf_token": CSRF})
    resumed = client.post("/peserta/autodebet", data={"mandate_id": mandate_id, "action": "resume", "csrf_token": CSRF})
    with pinned_app.app_context():
        assert db.session.get(Mandate, mandate_id).status == "paused"  # resuming stays with the agent
    assert resumed.status_code == 303
    client.post("/peserta/autodebet", data={"mandate_id": mandate_id, "action": "cancel", "csrf_token": CSRF})
    with pinned_app.app_context():
        assert db.session.get(Mandate, mandate_id).status == "cancelled"


def test_the_charge_requests_and_answers_have_midtrans_core_api_shapes():
    va = payment_charge_body("SP-1", 25_200, "bank_transfer", "bni", 1440, NOW)
    assert va["bank_transfer"] == {"bank": "bni"} and va["transaction_details"] == {
        "order_id": "SP-1",
        "gross_amount": 25_200,
    }
    assert va["custom_expiry"] == {"order_time": "2026-11-22 09:00:00 +0700", "expiry_duration": 1440, "unit": "minute"}
    answer = payment_instructions(
        201,
        {
            "status_code": "201",
            "transaction_id": "t-1",
            "va_numbers": [{"bank": "bni", "va_number": "9880000001"}],
            "expiry_time": "2026-11-23 09:00:00",
        },
    )
    assert (answer.accepted, answer.va_bank, answer.va_number) == (True, "bni", "9880000001")
    assert answer.expires_at is not None and answer.expires_at.isoformat() == "2026-11-23T02:00:00"
    qris = payment_instructions(
        201,
        {
            "status_code": "201",
            "qr_string": "00020101",
            "actions": [{"name": "generate-qr-code", "method": "GET", "url": "https://x/qr-code"}],
        },
    )
    assert (qris.qr_string, qris.qr_url) == ("00020101", "https://x/qr-code")
    refused = payment_instructions(400, {"status_code": "400", "status_message": "bad bank"})
    assert (refused.accepted, refused.reason) == (False, "bad bank")


@pytest.mark.sqlite_only
def test_every_page_of_the_member_reads_in_indonesian(pinned_app, client, member, sandbox):
    open_charge(client, method="va")
    open_charge(client, months=3, method="qris")
    va, qris = charges(pinned_app)
    sandbox.expire(qris.order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)
    english = {}
    for path in ("/peserta/", "/peserta/bayar", f"/peserta/bayar/{va.id}", f"/peserta/bayar/{qris.id}"):
        text = Text()
        text.feed(client.get(path).get_data(as_text=True))
        found = [p for p in text.pieces if (ENGLISH.search(p) or RAW_CODE.fullmatch(p)) and p != "Test agent"]
        if found:
            english[path] = found
    for path in ("/peserta/masuk", "/peserta/kode"):
        text = Text()
        text.feed(pinned_app.test_client().get(path, follow_redirects=True).get_data(as_text=True))
        english.update(
            {path: [p for p in text.pieces if ENGLISH.search(p)]} if any(map(ENGLISH.search, text.pieces)) else {}
        )
    assert english == {}
