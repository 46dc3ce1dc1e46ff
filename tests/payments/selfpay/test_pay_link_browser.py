"""A member three months in arrears, on a 360-pixel phone: the nightly job texts him his arrears with a pay link; he
opens it (no code), pays the 3 months by virtual account in the sandbox (which calls the app back over real HTTP),
and sees his receipt. His agent's visit list drops him, and finance's collections-by-channel report counts the
virtual account."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from collection.members.models import Member
from core.extensions import db
from payments.ledger.models import Payment
from payments.ledger.services import add_visit
from tests.agents.field.conftest import CHROMIUM
from tests.payments.selfpay.conftest import process
from tests.payments.selfpay.test_pay_links import LATER, link_in, reconcile_as_the_job_does, texts

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def test_a_member_in_arrears_opens_the_link_in_his_text_pays_three_months_by_va_and_sees_the_receipt(
    pinned_app: Any, phone: Any, live_server: str, enrol: Any, sandbox: Any, monkeypatch: Any, world: Any
) -> None:
    member = enrol(name="suyanto hadi", sector="other")
    with pinned_app.app_context():  # his auto-debit failed: he is on his agent's visit list
        add_visit(db.session, db.session.get(Member, member["id"]), "debit_failed", 1, "auto-debit failed")
        db.session.commit()
    api = pinned_app.test_client()
    assert [v["member_id"] for v in api.get("/api/v1/visits", headers=world["agent"].headers).get_json()] == [
        member["id"]
    ]
    reconcile_as_the_job_does(pinned_app, monkeypatch, LATER)  # the nightly job writes his arrears notice
    pinned_app.config["CLOCK"] = lambda: LATER + timedelta(hours=3)  # he reads it that morning
    sandbox.configure(webhook_url=f"{live_server}/webhooks/midtrans")
    [(recipient, body)] = texts(pinned_app, "standing_arrears_1")
    assert recipient.endswith(member["phone"].replace("-", "")[-9:])  # to his phone

    phone.goto(link_in(body))  # the link from the text, on this test's server
    assert phone.inner_text("#masked-name") == "Su*** Ha***"
    assert phone.inner_text("#link-months") == "Nov 2026 – Jan 2027"
    amount = phone.inner_text("#link-amount")
    assert amount.startswith("Rp")
    assert member["kpj"] not in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone

    phone.check("input[name=method][value=va]")
    phone.click("#pay-button")
    va_number = phone.inner_text("#va-number").strip()
    assert va_number.isdigit()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    [charge] = sandbox.charges()
    sandbox.pay(charge["order_id"])
    outbox = sandbox.deliver_all()  # over HTTP to the app's signed webhook path
    assert outbox["delivered"] == 2 and outbox["failed"] == 0
    assert process(pinned_app) == 2

    phone.reload()
    assert phone.inner_text("#charge-status") == "Lunas"
    receipt = phone.get_attribute("#receipt-link", "href") or ""
    assert "/r/" in receipt
    with pinned_app.app_context():
        paid = db.session.scalars(select(Payment)).one()
    assert (paid.channel, paid.status, paid.member_id) == ("virtual_account", "settled", member["id"])
    assert f"{paid.amount_idr:,}".replace(",", ".") in amount  # what the link showed is what he paid
    phone.goto(urlsplit(receipt).path)  # the link names PUBLIC_BASE_URL's host
    assert phone.locator("body").inner_text().count("Rp") >= 1

    assert api.get("/api/v1/visits", headers=world["agent"].headers).get_json() == []  # off his agent's list
    report = api.get(
        f"/api/v1/branches/{member['branch_id']}/reports/collections-by-channel",
        query_string={"from": str(paid.paid_on)[:7], "to": str(paid.paid_on)[:7]},
        headers=world["finance"].headers,
    )
    assert report.status_code == 200, report.get_json()
    [month] = report.get_json()
    assert (month["virtual_account_idr"], month["cash_idr"], month["payments"]) == (paid.amount_idr, 0, 1)
