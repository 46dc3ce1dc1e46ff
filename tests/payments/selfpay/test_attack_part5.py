"""Outsider's attack on issue 16 part 5: finance's resolution of a callback in review (bad notes, wrong callers),
and settlement-report lines naming SP- orders that do not exist or are another branch's."""

# ruff: noqa: F811 (the shared fixtures are imported, then named as parameters)
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from core.extensions import db
from payments.autodebit import providers
from payments.autodebit.models import SettlementLine, WebhookEvent
from payments.ledger.models import Payment
from payments.selfpay.charges import EXPIRY_GRACE_MINUTES
from payments.selfpay.models import SelfCharge
from payments.selfpay.services import expire_unanswered_charges
from tests.factories import NOW, nik_for
from tests.payments.autodebit.test_settlements import HEADER, line, upload
from tests.payments.selfpay.conftest import CSRF, deliver, process, queued_bodies
from tests.payments.selfpay.test_double_click import _same_browser
from tests.payments.selfpay.test_finance_sees_it import ptk_finance, self_paid  # noqa: F401 (fixtures)
from tests.payments.selfpay.test_paying import open_charge


def _event_in_review(app: Any) -> int:
    with app.app_context():
        return db.session.scalars(select(WebhookEvent.id).where(WebhookEvent.state == "review")).one()


@pytest.mark.parametrize("note", ["   ", "\t\n\t", "  .  "])
def test_a_resolution_saying_nothing_is_refused_naming_the_note(pinned_app, client, world, self_paid, note):
    """A note of blanks passes Length(min=3) but says nothing of what finance did: the audit trail is empty."""
    self_paid(late=True)
    url = f"/api/v1/webhook-events/{_event_in_review(pinned_app)}/resolution"

    answer = client.post(url, json={"note": note}, headers=world["finance"].headers)

    assert answer.status_code == 422, answer.get_json()
    assert "note" in answer.get_json()["errors"]["json"]
    with pinned_app.app_context():
        assert db.session.scalars(select(WebhookEvent.state).where(WebhookEvent.state == "review")).all() == ["review"]
        assert db.session.scalars(select(WebhookEvent.state).where(WebhookEvent.state == "resolved")).all() == []


def test_a_resolution_with_a_huge_note_nul_or_by_the_wrong_people_changes_nothing(
    pinned_app,
    client,
    world,
    self_paid,
    make_staff,
):
    self_paid(late=True)
    url = f"/api/v1/webhook-events/{_event_in_review(pinned_app)}/resolution"
    finance = world["finance"].headers
    ptk_supervisor = make_staff("supervisor", world["ptk"], "supervisor.ptk")

    huge = client.post(url, json={"note": "x" * 100_000}, headers=finance)
    nul = client.post(url, json={"note": "refunded\x00 to him"}, headers=finance)
    not_text = client.post(url, json={"note": ["refunded"]}, headers=finance)
    extra = client.post(url, json={"note": "refunded", "state": "received"}, headers=finance)
    by_agent = client.post(url, json={"note": "refunded"}, headers=world["agent"].headers)
    by_supervisor = client.post(url, json={"note": "refunded"}, headers=world["supervisor"].headers)
    by_other = client.post(url, json={"note": "refunded"}, headers=ptk_supervisor.headers)
    anonymous = client.post(url, json={"note": "refunded"})
    unknown = client.post("/api/v1/webhook-events/2147483647/resolution", json={"note": "refunded"}, headers=finance)
    beyond = client.post("/api/v1/webhook-events/99999999999999/resolution", json={"note": "refunded"}, headers=finance)

    assert huge.status_code == 422 and "note" in huge.get_json()["errors"]["json"]
    assert nul.status_code == 400
    assert not_text.status_code == 422 and "note" in not_text.get_json()["errors"]["json"]
    assert extra.status_code == 422 and "state" in extra.get_json()["errors"]["json"]
    assert (by_agent.status_code, by_supervisor.status_code, by_other.status_code) == (403, 403, 403)
    assert anonymous.status_code == 401
    assert unknown.status_code == 404 and beyond.status_code in (400, 404)
    with pinned_app.app_context():
        assert db.session.scalars(select(WebhookEvent.state).where(WebhookEvent.state == "review")).all() == ["review"]
        assert db.session.scalars(select(WebhookEvent.state).where(WebhookEvent.state == "resolved")).all() == []


def test_settlement_lines_naming_unknown_or_another_branchs_sp_orders_are_not_kept_by_this_branch(
    pinned_app,
    client,
    world,
    self_paid,
    ptk_finance,
):
    ours, ours_idr = self_paid("va")
    theirs, theirs_idr = self_paid("va", as_="ptk_agent", regency="6171")
    body = (
        HEADER
        + line(ours, str(ours_idr))
        + line(theirs, str(theirs_idr))
        + line("SP-999999", "8400")
        + line("SP-", "8400")
        + line("SP-1%' OR '1'='1", "8400")
    )

    report = client.post(
        "/api/v1/settlements/midtrans", data=body, content_type="text/csv", headers=world["finance"].headers
    )

    assert report.status_code in (200, 201, 422), report.get_json()
    if report.status_code != 422:
        got = report.get_json()
        assert got["matched"] == 1 and got["not_this_branch"] == 1
        with pinned_app.app_context():
            stored = db.session.execute(select(SettlementLine.order_id, SettlementLine.branch_id)).all()
        assert (theirs, world["ptk"]) not in stored and all(b in (world["pkp"], None) for _, b in stored)
    other = upload(client, ptk_finance, HEADER + line(theirs, str(theirs_idr))).get_json()
    assert other["matched"] == 1 and other["new_lines"] == 1


@pytest.mark.postgresql_only
def test_four_clicks_at_once_open_one_charge(pinned_app, client, enrol, sign_in, sandbox, monkeypatch):
    """Three or four clicks (a member tapping on a slow phone) while the first is still at the provider."""
    member = enrol()
    sign_in(client, member["kpj"])
    browsers = [client] + [pinned_app.test_client() for _ in range(3)]
    for browser in browsers[1:]:
        _same_browser(client, browser)
    real = providers.MidtransProvider.charge_payment
    slow = threading.Event()

    def slow_provider(self: Any, *args: Any, **kwargs: Any) -> Any:
        slow.wait(timeout=1.5)  # the others queue on the member's lock, then find the charge being opened
        return real(self, *args, **kwargs)

    monkeypatch.setattr(providers.MidtransProvider, "charge_payment", slow_provider)
    answers: list[Any] = [None] * 4
    start = threading.Barrier(4)

    def click(i: int, browser: Any) -> None:
        start.wait()
        answers[i] = browser.post("/peserta/bayar", data={"months": "1", "method": "va", "csrf_token": CSRF})

    threads = [threading.Thread(target=click, args=(i, b)) for i, b in enumerate(browsers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [a.status_code for a in answers] == [303] * 4
    with pinned_app.app_context():
        found = db.session.execute(select(SelfCharge.id, SelfCharge.status)).all()
    assert len(found) == 1, found
    assert {a.headers["Location"] for a in answers} == {f"/peserta/bayar/{found[0][0]}"}
    assert found[0][1] == "pending"


@pytest.mark.postgresql_only
def test_the_expiry_job_racing_late_settlements_never_loses_nor_doubles_the_money(pinned_app, enrol, sign_in, sandbox):
    """Members' charges past their deadline; their settlements arrive and are applied while the expiry job runs in
    another session. Each paid charge ends booked once, or in review with its callback: never 'processed' with
    nothing booked, never two payments."""
    orders = []
    for n in range(8):
        browser = pinned_app.test_client()
        member = enrol(nik=nik_for(serial=60 + n))
        sign_in(browser, member["kpj"])
        open_charge(browser, months=1)
        orders.append(browser)
    queued_bodies(sandbox)
    with pinned_app.app_context():
        order_ids = list(db.session.scalars(select(SelfCharge.order_id).order_by(SelfCharge.id)))
        db.session.execute(update(SelfCharge).values(created_at=NOW - timedelta(days=1), expires_at=NOW))
        db.session.commit()
    later = NOW + timedelta(minutes=EXPIRY_GRACE_MINUTES + 1)  # past every deadline and the grace
    for order_id in order_ids:
        sandbox.pay(order_id, late=True)
    bodies = queued_bodies(sandbox)
    start = threading.Barrier(3)
    errors: list[BaseException] = []
    expired: list[int] = []

    def expire() -> None:
        try:
            with pinned_app.app_context():
                start.wait()
                for _ in range(40):
                    expired.append(expire_unanswered_charges(db.session, later, batch=2))
        except BaseException as error:
            errors.append(error)

    def callbacks() -> None:
        try:
            client = pinned_app.test_client()
            start.wait()
            for body in bodies:
                deliver(client, [body])
        except BaseException as error:
            errors.append(error)

    def apply() -> None:
        try:
            start.wait()
            for _ in range(10):
                process(pinned_app)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=f) for f in (expire, callbacks, apply)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    process(pinned_app)  # whatever the racing run left received

    assert errors == []
    with pinned_app.app_context():
        for order_id in order_ids:
            charge = db.session.scalars(select(SelfCharge).where(SelfCharge.order_id == order_id)).one()
            payments = db.session.scalars(select(Payment).where(Payment.member_id == charge.member_id)).all()
            events = db.session.execute(
                select(WebhookEvent.state, WebhookEvent.note).where(WebhookEvent.order_id == order_id)
            ).all()
            assert [s for s, _ in events if s == "received"] == []
            if charge.status == "settled":
                assert len(payments) == 1 and charge.payment_id == payments[0].id, (order_id, events)
            else:
                assert charge.status == "review" and payments == [], (order_id, charge.status, events)
                assert ("review", "paid after the charge was expired") in events, (order_id, events)
