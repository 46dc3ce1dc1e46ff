"""A member on a 360-pixel phone: signs in with the code texted to him, pays 3 months by virtual account in the
sandbox (which calls the app back over real HTTP), and sees his receipt."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from core.extensions import db
from payments.ledger.models import Payment
from payments.selfpay.models import SelfCharge
from tests.agents.field.conftest import CHROMIUM
from tests.payments.selfpay.conftest import BORN, last_code, process

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def test_a_member_signs_in_on_his_phone_pays_three_months_by_va_and_sees_the_receipt(
    pinned_app: Any, phone: Any, live_server: str, enrol: Any, sandbox: Any
) -> None:
    member = enrol()
    sandbox.configure(webhook_url=f"{live_server}/webhooks/midtrans")

    phone.goto("/peserta/masuk")
    phone.fill("input[name=identifier]", member["kpj"])
    phone.fill("input[name=birth_date]", BORN)
    phone.click("#ask-code button")
    phone.wait_for_url("**/peserta/kode")
    phone.fill("input[name=code]", last_code(pinned_app))
    phone.click("#check-code button")
    phone.wait_for_url("**/peserta/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone

    phone.click("#pay-link")
    phone.check("input[name=months][value='3']")
    phone.check("input[name=method][value=va]")
    phone.click("#pay-button")
    va_number = phone.inner_text("#va-number").strip()
    assert va_number.isdigit()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    order_id = sandbox.charges()[0]["order_id"]
    sandbox.pay(order_id)
    outbox = sandbox.deliver_all()  # over HTTP to the app's signed webhook path
    assert outbox["delivered"] == 2 and outbox["failed"] == 0
    assert process(pinned_app) == 2

    phone.reload()
    assert phone.inner_text("#charge-status") == "Lunas"
    phone.goto("/peserta/")
    receipt = phone.locator("#receipts a").first
    assert "/r/" in (receipt.get_attribute("href") or "")
    with pinned_app.app_context():
        paid = db.session.scalars(select(Payment)).one()
    assert (paid.channel, paid.status) == ("virtual_account", "settled")
    phone.goto(urlsplit(receipt.get_attribute("href") or "").path)  # the link names PUBLIC_BASE_URL's host
    assert paid.amount_idr and phone.locator("body").inner_text().count("Rp") >= 1


def test_a_qris_charge_fits_the_phone(pinned_app: Any, phone: Any, enrol: Any, sandbox: Any) -> None:
    member = enrol()
    phone.goto("/peserta/masuk")
    phone.fill("input[name=identifier]", member["kpj"])
    phone.fill("input[name=birth_date]", BORN)
    phone.click("#ask-code button")
    phone.fill("input[name=code]", last_code(pinned_app))
    phone.click("#check-code button")
    phone.goto("/peserta/bayar")
    phone.check("input[name=method][value=qris]")
    phone.click("#pay-button")

    shown = phone.inner_text("#qr-string").replace("\n", "")
    with pinned_app.app_context():
        assert shown == db.session.scalars(select(SelfCharge.qr_string)).one()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
