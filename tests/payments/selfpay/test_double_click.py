"""A double click on "pay" while the first charge is still being opened at the provider opens one charge: the
member's row lock orders the two requests, and the second returns the first's charge."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from payments.autodebit import providers
from payments.selfpay.models import SelfCharge
from tests.payments.selfpay.conftest import CSRF


def _same_browser(source: Any, target: Any) -> None:
    """The second request comes from the same browser: the same signed session cookie (the member's token)."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


@pytest.mark.postgresql_only
def test_two_clicks_at_once_open_one_charge_for_the_months(pinned_app, client, enrol, sign_in, sandbox, monkeypatch):
    member = enrol()
    sign_in(client, member["kpj"])
    other = pinned_app.test_client()
    _same_browser(client, other)

    # Both requests must be inside the window between the first's commit and the provider's answer: whoever
    # reaches the provider waits there for the other (which, fixed, never comes: it returns the open charge).
    arrived = threading.Barrier(2)
    real = providers.MidtransProvider.charge_payment

    def slow_provider(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            arrived.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return real(self, *args, **kwargs)

    monkeypatch.setattr(providers.MidtransProvider, "charge_payment", slow_provider)
    answers: list[Any] = [None, None]

    def click(i: int, browser: Any) -> None:
        answers[i] = browser.post("/peserta/bayar", data={"months": "1", "method": "va", "csrf_token": CSRF})

    threads = [threading.Thread(target=click, args=(i, b)) for i, b in enumerate((client, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [a.status_code for a in answers] == [303, 303]
    with pinned_app.app_context():
        found = db.session.execute(select(SelfCharge.id, SelfCharge.status)).all()
    assert len(found) == 1, found
    [(charge_id, status)] = found
    assert status == "pending"
    assert {a.headers["Location"] for a in answers} == {f"/peserta/bayar/{charge_id}"}


def test_a_charge_still_being_opened_says_so_and_offers_a_reload(pinned_app, client, enrol, sign_in, sandbox):
    member = enrol()
    sign_in(client, member["kpj"])
    assert client.post("/peserta/bayar", data={"months": "1", "method": "va", "csrf_token": CSRF}).status_code == 303
    with pinned_app.app_context():
        charge = db.session.scalars(select(SelfCharge)).one()
        charge.status = "created"  # as the second click sees it while the first is at the provider
        db.session.commit()
        charge_id = charge.id

    page = client.get(f"/peserta/bayar/{charge_id}?lang=en").get_data(as_text=True)

    assert "being opened at the bank" in page and "could not be opened" not in page
