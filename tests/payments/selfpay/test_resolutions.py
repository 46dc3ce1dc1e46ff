"""Finance resolves a member's own payment that went to review (POST /webhook-events/<id>/resolution with an
outcome): the member's charge page, signed in or from the pay link, then says what happened in plain words (paid,
with the receipt; refund on its way; not paid) instead of 'being checked'."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.extensions import db
from payments.autodebit.models import WebhookEvent
from payments.selfpay.models import SelfCharge
from tests.payments.selfpay import test_pay_links
from tests.payments.selfpay.conftest import deliver, process, queued_bodies
from tests.payments.selfpay.test_pay_links import charges, csrf
from tests.payments.selfpay.test_paying import open_charge, payments

in_arrears = test_pay_links.in_arrears  # the fixture: a member 3 months in arrears and his arrears notice's link

CHECKING = "Sedang diperiksa kantor cabang"  # 'Being checked by the branch', as the member reads it


def pay_late(app: Any, client: Any, sandbox: Any, charge: SelfCharge) -> int:
    """The charge expires, then the bank's transfer arrives after all: the callback goes to review. Its id."""
    sandbox.expire(charge.order_id)
    deliver(client, queued_bodies(sandbox))
    process(app)
    sandbox.pay(charge.order_id, late=True)
    deliver(client, queued_bodies(sandbox))
    process(app)
    with app.app_context():
        event_id: int = db.session.scalars(select(WebhookEvent.id).where(WebhookEvent.state == "review")).one()
        assert db.session.get(SelfCharge, charge.id).status == "review"
    return event_id


def resolve(client: Any, finance: Any, event_id: int, **body: Any) -> Any:
    return client.post(
        f"/api/v1/webhook-events/{event_id}/resolution",
        json={"note": "dicek dengan mutasi rekening"} | body,
        headers=finance.headers,
    )


@pytest.fixture
def in_review(pinned_app: Any, client: Any, enrol: Any, sign_in: Any, sandbox: Any) -> dict[str, Any]:
    """A member signed in at /peserta in this client whose 1-month VA was paid after it expired: in review."""
    member = enrol()
    sign_in(client, member["kpj"])
    open_charge(client, months=1)
    [charge] = charges(pinned_app)
    page = f"/peserta/bayar/{charge.id}"
    event_id = pay_late(pinned_app, client, sandbox, charge)
    assert CHECKING in client.get(page).get_data(as_text=True)
    return member | {"charge": charge, "event_id": event_id, "page": page}


def test_settled_books_the_money_and_the_page_shows_the_receipt(pinned_app, client, world, in_review):
    charge = in_review["charge"]
    answer = resolve(client, world["finance"], in_review["event_id"], outcome="settled")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["state"] == "resolved"

    page = client.get(in_review["page"]).get_data(as_text=True)
    assert CHECKING not in page and 'data-status="settled"' in page
    assert "Lunas. Terima kasih." in page and 'id="receipt-link"' in page and "/r/" in page
    assert payments(pinned_app) == [("virtual_account", charge.amount_idr, "settled")]
    home = client.get("/peserta/").get_data(as_text=True)
    listed = home[home.index('id="charges"') :]
    listed = listed[: listed.index("</ul>")]
    assert CHECKING not in listed and "Lunas" in listed  # his list of charges says it too

    again = resolve(client, world["finance"], in_review["event_id"], outcome="settled")  # a retry books nothing
    assert again.status_code == 200 and len(payments(pinned_app)) == 1
    with pinned_app.app_context():
        [audited] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "self_charge.resolved")).all()
        settled = db.session.get(SelfCharge, charge.id)
        assert (settled.status, settled.payment_id is not None) == ("settled", True)
    assert audited.actor_user_id == world["finance"].id and audited.details["outcome"] == "settled"
    assert audited.details["before"]["status"] == "review" and audited.details["after"]["status"] == "settled"


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        ("refunded", "Kantor cabang sedang mengembalikan uang ini kepada Anda"),
        ("rejected", "Tidak dibayar: kantor cabang tidak menemukan pembayaran"),
    ],
)
def test_refunded_and_rejected_say_so_in_plain_words_and_book_nothing(
    pinned_app, client, world, in_review, outcome, words
):
    answer = resolve(client, world["finance"], in_review["event_id"], outcome=outcome)
    assert answer.status_code == 200, answer.get_json()
    page = client.get(in_review["page"]).get_data(as_text=True)
    assert CHECKING not in page and f'data-status="{outcome}"' in page and words in page
    assert 'id="receipt-link"' not in page and payments(pinned_app) == []
    english = client.get(in_review["page"] + "?lang=en").get_data(as_text=True)
    assert ("returning this money" if outcome == "refunded" else "Not paid") in english


def test_a_member_charge_under_review_needs_an_outcome(pinned_app, client, world, in_review):
    for body in ({}, {"outcome": "paid"}, {"outcome": None}):
        answer = resolve(client, world["finance"], in_review["event_id"], **body)
        assert answer.status_code == 422, (body, answer.get_json())
        assert "outcome" in answer.get_json()["errors"]["json"], body
    with pinned_app.app_context():
        assert db.session.get(WebhookEvent, in_review["event_id"]).state == "review"  # nothing half-written
        assert db.session.get(SelfCharge, in_review["charge"].id).status == "review"
    assert CHECKING in client.get(in_review["page"]).get_data(as_text=True)


def test_the_pay_link_page_shows_the_resolution_too(pinned_app, client, world, in_arrears, sandbox):
    opened = client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)})
    assert opened.status_code == 303
    charge_page = opened.headers["Location"]
    [charge] = charges(pinned_app)
    event_id = pay_late(pinned_app, client, sandbox, charge)
    assert CHECKING in client.get(charge_page).get_data(as_text=True)

    assert resolve(client, world["finance"], event_id, outcome="settled").status_code == 200
    page = client.get(charge_page)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and CHECKING not in body
    assert 'id="receipt-link"' in body and "/r/" in body
    assert payments(pinned_app) == [("virtual_account", charge.amount_idr, "settled")]


def test_a_payment_on_the_ledger_is_reversed_before_its_charge_is_refunded(pinned_app, client, world, in_review):
    """A charge settled and then questioned (a refund or chargeback callback) keeps its payment until finance
    reverses it: refunding the charge first is a 409, and the ledger and the page never disagree."""
    charge = in_review["charge"]
    assert resolve(client, world["finance"], in_review["event_id"], outcome="settled").status_code == 200
    with pinned_app.app_context():  # a later callback questions it (as a chargeback goes to review)
        row = db.session.get(SelfCharge, charge.id)
        row.status = "review"
        event = db.session.get(WebhookEvent, in_review["event_id"])
        event.state, event.note = "review", "chargeback for a charge that is settled"
        db.session.commit()
    refused = resolve(client, world["finance"], in_review["event_id"], outcome="refunded", note="dikembalikan")
    assert refused.status_code == 409 and refused.get_json()["reason"] == "payment_on_ledger"
    kept = resolve(client, world["finance"], in_review["event_id"], outcome="settled", note="tetap dibukukan")
    assert kept.status_code == 200 and len(payments(pinned_app)) == 1  # settled again, not booked twice
    assert 'id="receipt-link"' in client.get(in_review["page"]).get_data(as_text=True)


def test_a_reversed_payment_is_not_settled_again_without_money_on_the_ledger(pinned_app, client, world, in_review):
    """A charge settled, then questioned (a chargeback), whose payment a supervisor then reversed: 'settled' would
    have the page say paid, with the receipt of a reversed payment, while the ledger holds nothing. It is refused
    (409) and the charge stays in review, for refunded or rejected."""
    charge = in_review["charge"]
    assert resolve(client, world["finance"], in_review["event_id"], outcome="settled").status_code == 200
    with pinned_app.app_context():  # a later callback questions it (as a chargeback goes to review)
        row = db.session.get(SelfCharge, charge.id)
        row.status = "review"
        payment_id = row.payment_id
        event = db.session.get(WebhookEvent, in_review["event_id"])
        event.state, event.note = "review", "chargeback for a charge that is settled"
        db.session.commit()
    reversed_ = client.post(
        f"/api/v1/contributions/{payment_id}/reversal",
        json={"reason": "chargeback dari bank"},
        headers=world["supervisor"].headers,
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    assert payments(pinned_app) == [("virtual_account", charge.amount_idr, "reversed")]

    settled = resolve(client, world["finance"], in_review["event_id"], outcome="settled", note="tetap dibukukan")
    assert settled.status_code == 409, settled.get_json()
    with pinned_app.app_context():
        assert db.session.get(SelfCharge, charge.id).status == "review"
        assert db.session.get(WebhookEvent, in_review["event_id"]).state == "review"  # nothing half-written
    assert payments(pinned_app) == [("virtual_account", charge.amount_idr, "reversed")]
    page = client.get(in_review["page"]).get_data(as_text=True)
    assert "Lunas. Terima kasih." not in page
    assert resolve(client, world["finance"], in_review["event_id"], outcome="refunded").status_code == 200
