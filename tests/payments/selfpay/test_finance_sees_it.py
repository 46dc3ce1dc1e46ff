"""Issue 16 part 5, finance's side of a member's own payment: its callbacks in review are seen by finance of the
member's branch (not another branch's), and the provider's settlement report and payouts match VA and QRIS
charges (SP-…) like the auto-debits' orders."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.extensions import db
from payments.autodebit.models import SettlementLine, WebhookEvent
from payments.finance.models import StatementLine
from payments.selfpay.models import SelfCharge
from tests.factories import NOW, nik_for
from tests.payments.autodebit.test_settlements import HEADER, line, upload
from tests.payments.finance.test_batches import upload as upload_statement
from tests.payments.selfpay.conftest import deliver, process, queued_bodies
from tests.payments.selfpay.test_paying import open_charge

TODAY = NOW.date()


@pytest.fixture
def ptk_finance(make_staff: Any, world: dict[str, Any]) -> Any:
    return make_staff("branch_finance", world["ptk"], "finance.ptk")


@pytest.fixture
def self_paid(pinned_app: Any, enrol: Any, sign_in: Any, sandbox: Any) -> Any:
    """A member of the agent's branch (or Pontianak's) opens a charge and pays it; ``late``: after it expired,
    so the money goes to review. Returns the charge's order id and amount."""
    serials = iter(range(1, 50))

    def make(method: str = "va", late: bool = False, as_: str = "agent", regency: str = "1971") -> tuple[str, int]:
        member = enrol(as_=as_, nik=nik_for(regency, serial=next(serials)))
        browser = pinned_app.test_client()
        sign_in(browser, member["kpj"])
        open_charge(browser, months=1, method=method)
        with pinned_app.app_context():
            charge = db.session.scalars(select(SelfCharge).where(SelfCharge.member_id == member["id"])).one()
            order_id, amount = charge.order_id, charge.amount_idr
        if late:
            sandbox.expire(order_id)
            deliver(browser, queued_bodies(sandbox))
            process(pinned_app)
            sandbox.pay(order_id, late=True)
        else:
            sandbox.pay(order_id)
        deliver(browser, queued_bodies(sandbox))
        process(pinned_app)
        with pinned_app.app_context():
            assert db.session.scalars(select(SelfCharge.status).where(SelfCharge.order_id == order_id)).one() == (
                "review" if late else "settled"
            )
        return order_id, amount

    return make


def _review_queue(client: Any, staff: Any) -> list[str]:
    answer = client.get("/api/v1/webhook-events/review", headers=staff.headers)
    assert answer.status_code == 200
    return [e["order_id"] for e in answer.get_json()]


def test_finance_of_the_members_branch_sees_his_charges_callbacks_in_review(
    pinned_app, client, world, self_paid, ptk_finance
):
    ours, _ = self_paid(late=True)
    theirs, _ = self_paid(late=True, as_="ptk_agent", regency="6171")

    assert _review_queue(client, world["finance"]) == [ours]
    assert _review_queue(client, ptk_finance) == [theirs]
    assert _review_queue(client, world["admin"]) == [ours, theirs]


def test_the_settlement_report_matches_virtual_account_and_qris_charges(
    pinned_app, client, world, self_paid, ptk_finance
):
    va, va_idr = self_paid("va")
    qris, qris_idr = self_paid("qris")
    late, late_idr = self_paid("va", late=True)  # the provider settled it, our ledger did not book it
    unreported, _ = self_paid("qris")
    body = HEADER + line(va, f"{va_idr}.00") + line(qris, str(qris_idr)) + line(late, str(late_idr))

    report = upload(client, world["finance"], body).get_json()

    assert (report["lines"], report["new_lines"], report["matched"], report["unknown_order"]) == (3, 3, 2, 0)
    assert [m["order_id"] for m in report["missing_in_ours"]] == [late]
    assert [m["order_id"] for m in report["missing_in_report"]] == [unreported]
    assert report["amount_mismatch"] == []
    with pinned_app.app_context():
        stored = db.session.execute(select(SettlementLine.order_id, SettlementLine.branch_id)).all()
    assert sorted(stored) == sorted((o, world["pkp"]) for o in (va, qris, late))

    other = upload(client, ptk_finance, body).get_json()  # another branch's finance stores none of them
    assert (other["not_this_branch"], other["new_lines"], other["missing_in_report"]) == (3, 0, [])


def test_a_providers_payout_of_self_payments_matches_the_bank_credit(pinned_app, client, world, self_paid):
    va, va_idr = self_paid("va")
    qris, qris_idr = self_paid("qris")
    upload(client, world["finance"], HEADER + line(va, str(va_idr)) + line(qris, str(qris_idr)))
    text = (
        "date,description,reference,amount\n"
        f"{TODAY},BIAYA ADMIN,,-5000\n"
        f"2026-11-23,MIDTRANS PAYOUT 22NOV,,{va_idr + qris_idr}\n"
        "2026-11-24,BIAYA ADMIN,,-5000\n"
    )

    report = upload_statement(client, world["finance"], world["pkp"], text).get_json()

    assert report["matched"] == {"settlement": 1}, report
    with pinned_app.app_context():
        credit = db.session.scalar(select(StatementLine.id).where(StatementLine.amount_idr > 0))
        banked = db.session.scalars(select(SettlementLine.statement_line_id)).all()
    assert banked == [credit, credit]


def test_finance_of_the_members_branch_resolves_a_late_payment_and_another_branch_cannot(
    pinned_app, client, world, self_paid, ptk_finance
):
    order_id, _ = self_paid(late=True)
    with pinned_app.app_context():
        event_id = db.session.scalars(select(WebhookEvent.id).where(WebhookEvent.state == "review")).one()
    url = f"/api/v1/webhook-events/{event_id}/resolution"
    note = {"note": "dikembalikan ke rekening anggota", "outcome": "refunded"}

    assert client.post(url, json=note, headers=ptk_finance.headers).status_code == 404
    assert client.post(url, json={"note": ""}, headers=world["finance"].headers).status_code == 422
    assert _review_queue(client, world["finance"]) == [order_id]
    resolved = client.post(url, json=note, headers=world["finance"].headers)
    again = client.post(url, json=note, headers=world["finance"].headers)  # a retry
    other = client.post(url, json={"note": "diterapkan manual", "outcome": "settled"}, headers=world["finance"].headers)

    assert resolved.status_code == 200 and resolved.get_json()["state"] == "resolved"
    assert again.status_code == 200 and other.status_code == 409
    assert _review_queue(client, world["finance"]) == [] and _review_queue(client, world["admin"]) == []
    with pinned_app.app_context():
        [audited] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook_event.resolved")).all()
    assert audited.actor_user_id == world["finance"].id and audited.details["order_id"] == order_id
    assert audited.details["before"] == {"state": "review", "note": "paid after the charge was expired"}
