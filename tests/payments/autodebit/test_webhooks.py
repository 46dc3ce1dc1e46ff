"""Provider callbacks over HTTP: stored once, processed in batches, never fooled, never moved backwards."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from core.outbox import OutboxMessage
from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate, WebhookEvent
from payments.autodebit.providers import configured_providers
from payments.autodebit.sandbox import SandboxConfig, create_sandbox
from payments.autodebit.services import process_webhook_events, run_debits
from payments.autodebit.signatures import midtrans_signature, sign_generic
from payments.ledger.models import Payment, Receipt
from tests.factories import NOW, sent_debit

SERVER_KEY = "SB-Mid-server-dev-only"  # settings' development default
SANDBOX_SECRET = "sandbox-dev-secret"
STATUS_CODES = {"settlement": "200", "pending": "201", "deny": "202", "expire": "407", "refund": "200"}


def midtrans(order_id: str, status: str, amount: int, transaction_id: str = "trx-1", key: str = SERVER_KEY) -> bytes:
    gross = f"{amount}.00"
    body = {
        "order_id": order_id,
        "transaction_status": status,
        "status_code": STATUS_CODES[status],
        "gross_amount": gross,
        "transaction_id": transaction_id,
        "status_message": "insufficient_funds" if status == "deny" else "ok",
        "payment_type": "auto_debit",
        "signature_key": midtrans_signature(order_id, STATUS_CODES[status], gross, key),
    }
    return json.dumps(body).encode()


@pytest.fixture
def debit(pinned_app: Any, enrol: Any) -> dict[str, Any]:
    """An active Midtrans mandate for a member and a sent debit for November 2026 (Rp8.400)."""
    member = enrol()
    _, request_id, order_id = sent_debit(pinned_app, member["id"], "SBX-M-1")
    return {"member": member, "request_id": request_id, "order_id": order_id}


@pytest.fixture
def provider(pinned_app: Any) -> Any:
    """The local sandbox speaking Midtrans's scheme, over real HTTP; the app's 'midtrans' provider points at it."""
    import threading

    from werkzeug.serving import make_server

    sandbox_app = create_sandbox(
        SandboxConfig(webhook_url="http://127.0.0.1:9/unused", server_key=SERVER_KEY, auto_deliver=False)
    )
    server = make_server("127.0.0.1", 0, sandbox_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pinned_app.config["PAYMENT_PROVIDERS"]["midtrans"]["base_url"] = f"http://127.0.0.1:{server.server_port}"
    yield sandbox_app.extensions["sandbox"]
    server.shutdown()


def settled_at_provider(sandbox: Any, order_id: str, amount: int) -> None:
    reference = sandbox.create_mandate("member", "1234567890", 1)["mandate_ref"]
    sandbox.charge(order_id, amount, reference)


def post(client: Any, body: bytes, provider: str = "midtrans", headers: dict[str, str] | None = None) -> Any:
    return client.post(
        f"/webhooks/{provider}", data=body, headers={"Content-Type": "application/json"} | (headers or {})
    )


def process(app: Any) -> int:
    with app.app_context():
        return process_webhook_events(
            db.session, configured_providers(app.config), app.config["CLOCK"](), app.config["PUBLIC_BASE_URL"]
        )


def state(app: Any) -> dict[str, Any]:
    with app.app_context():
        return {
            "events": [(e.state, e.note) for e in db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))],
            "payments": [(p.channel, p.amount_idr, p.status) for p in db.session.scalars(select(Payment))],
            "attempts": [
                (a.order_id, a.status) for a in db.session.scalars(select(DebitAttempt).order_by(DebitAttempt.id))
            ],
            "requests": [(r.status, r.next_attempt_on) for r in db.session.scalars(select(DebitRequest))],
        }


def test_a_settled_debit_becomes_a_payment_allocated_like_cash_with_a_receipt(pinned_app, client, world, debit):
    response = post(client, midtrans(debit["order_id"], "settlement", 8_400))

    assert response.status_code == 200 and response.get_json() == {"received": True, "duplicate": False}
    assert state(pinned_app)["payments"] == []  # stored, not yet processed: the worker does that
    assert process(pinned_app) == 1
    after = state(pinned_app)
    assert after["payments"] == [("auto_debit", 8_400, "settled")]
    assert after["requests"][0][0] == "settled"
    member = client.get(f"/api/v1/members/{debit['member']['id']}", headers=world["agent"].headers).get_json()
    assert member["paid_through"] == "2026-11"
    with pinned_app.app_context():
        text = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "receipt")).one().body
        code = db.session.scalars(select(Receipt.verification_code)).one()
    assert text.endswith(f"Cek: {pinned_app.config['PUBLIC_BASE_URL']}/r/{code}")
    assert pinned_app.config["PUBLIC_BASE_URL"].startswith("http://")  # the development default has a host


def test_a_duplicate_delivery_is_a_no_op(pinned_app, client, debit):
    body = midtrans(debit["order_id"], "settlement", 8_400)

    first, second = post(client, body), post(client, body)
    process(pinned_app)
    third = post(client, body)
    process(pinned_app)

    assert [r.get_json()["duplicate"] for r in (first, second, third)] == [False, True, True]
    assert len(state(pinned_app)["events"]) == 1
    assert len(state(pinned_app)["payments"]) == 1


def test_an_older_event_arriving_late_does_not_move_the_state_back(pinned_app, client, debit):
    post(client, midtrans(debit["order_id"], "settlement", 8_400))
    post(client, midtrans(debit["order_id"], "pending", 8_400))

    process(pinned_app)

    after = state(pinned_app)
    assert after["attempts"] == [(debit["order_id"], "settled")]
    assert [s for s, _ in after["events"]] == ["processed", "ignored"]


@pytest.mark.parametrize(
    "body_change",
    [
        lambda b: b.replace(b'"gross_amount": "8400.00"', b'"gross_amount": "84000.00"'),
        lambda b: b.replace(b'"status_code": "200"', b'"status_code": "201"'),
        lambda b: b.replace(b'"order_id": "IUR-', b'"order_id": "IUR-9'),
    ],
)
def test_a_forged_callback_is_a_401_logged_and_never_stored(pinned_app, client, debit, body_change):
    forged = body_change(midtrans(debit["order_id"], "settlement", 8_400))

    response = post(client, forged)

    assert response.status_code == 401
    assert state(pinned_app)["events"] == []
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "webhook.refused")) == 1


def test_a_callback_signed_with_another_key_is_refused(pinned_app, client, debit):
    assert post(client, midtrans(debit["order_id"], "settlement", 8_400, key="stolen-key")).status_code == 401


def test_generic_signed_callbacks_need_a_fresh_valid_header(pinned_app, client, debit):
    body = midtrans(debit["order_id"], "settlement", 8_400)
    now = int(time.time())

    fresh = post(client, body, "sandbox", {"X-Signature": sign_generic(SANDBOX_SECRET, body, now)})
    stale = post(client, body, "sandbox", {"X-Signature": sign_generic(SANDBOX_SECRET, body, now - 600)})
    unsigned = post(client, body, "sandbox")

    assert (fresh.status_code, stale.status_code, unsigned.status_code) == (200, 401, 401)


def test_an_unknown_provider_is_a_404_and_a_malformed_body_a_400(client, debit):
    assert post(client, b"{}", "paypal").status_code == 404
    body = json.dumps(
        {
            "order_id": "x",
            "status_code": "200",
            "gross_amount": "1.50",
            "signature_key": midtrans_signature("x", "200", "1.50", SERVER_KEY),
        }
    ).encode()
    assert post(client, body).status_code == 400


def test_an_unknown_order_goes_to_the_admins_review_queue(pinned_app, client, world, debit):
    post(client, midtrans("IUR-999-1", "settlement", 8_400))
    process(pinned_app)

    queue = client.get("/api/v1/webhook-events/review", headers=world["admin"].headers).get_json()

    assert [e["order_id"] for e in queue] == ["IUR-999-1"]
    assert "unknown order_id" in queue[0]["note"]
    # It names no order of any branch: a branch's finance does not see it (its raw body may be anyone's).
    assert client.get("/api/v1/webhook-events/review", headers=world["finance"].headers).get_json() == []
    assert client.get("/api/v1/webhook-events/review", headers=world["agent"].headers).status_code == 403


def test_an_amount_that_differs_from_the_charge_is_reviewed_not_booked(pinned_app, client, debit):
    post(client, midtrans(debit["order_id"], "settlement", 16_800))
    process(pinned_app)

    after = state(pinned_app)
    assert after["payments"] == []
    assert after["events"][0][0] == "review" and "16800" in after["events"][0][1]


def test_a_refund_reverses_the_payment_and_reopens_its_months(pinned_app, client, world, debit, provider):
    settled_at_provider(provider, debit["order_id"], 8_400)
    provider.refund(debit["order_id"])
    post(client, midtrans(debit["order_id"], "settlement", 8_400))
    process(pinned_app)
    post(client, midtrans(debit["order_id"], "refund", 8_400))
    process(pinned_app)

    after = state(pinned_app)
    assert after["payments"] == [("auto_debit", 8_400, "reversed")]
    assert after["requests"][0][0] == "reversed"
    member = client.get(f"/api/v1/members/{debit['member']['id']}", headers=world["agent"].headers).get_json()
    assert member["paid_through"] is None


def test_insufficient_funds_is_retried_and_a_final_failure_puts_the_member_on_the_visit_list(
    pinned_app, client, world, debit
):

    post(client, midtrans(debit["order_id"], "deny", 8_400))
    process(pinned_app)
    assert state(pinned_app)["requests"] == [("retry", NOW.date() + timedelta(days=2))]
    assert client.get("/api/v1/visits", headers=world["agent"].headers).get_json() == []

    for attempt_no in (2, 3, 4):  # three retries fail too: the schedule is spent
        with pinned_app.app_context():
            request = db.session.get(DebitRequest, debit["request_id"])
            request.attempts, request.status = attempt_no, "sent"
            order_id = f"IUR-{request.id}-{attempt_no}"
            db.session.add(
                DebitAttempt(
                    debit_request_id=request.id,
                    order_id=order_id,
                    attempt_no=attempt_no,
                    amount_idr=8_400,
                    status="pending",
                )
            )
            db.session.commit()
        post(client, midtrans(order_id, "deny", 8_400, transaction_id=f"trx-{attempt_no}"))
        process(pinned_app)

    assert state(pinned_app)["requests"] == [("failed", None)]
    visits = client.get("/api/v1/visits", headers=world["agent"].headers).get_json()
    assert [(v["member_id"], v["reason"]) for v in visits] == [(debit["member"]["id"], "debit_failed")]


def test_a_real_worker_processes_stored_callbacks(pinned_app, client, debit, rq_burst):
    post(client, midtrans(debit["order_id"], "settlement", 8_400))

    rq_burst()

    assert state(pinned_app)["payments"] == [("auto_debit", 8_400, "settled")]


def test_a_refund_the_provider_does_not_confirm_is_reviewed_and_the_payment_stands(pinned_app, client, debit, provider):
    # Midtrans does not sign transaction_status, and refund shares status code 200 with settlement:
    # a captured settlement callback re-sent as "refund" carries a valid signature_key.
    settled_at_provider(provider, debit["order_id"], 8_400)
    post(client, midtrans(debit["order_id"], "settlement", 8_400))
    process(pinned_app)

    forged = midtrans(debit["order_id"], "settlement", 8_400).replace(b'"settlement"', b'"refund"')
    assert post(client, forged).status_code == 200  # the signature cannot tell
    process(pinned_app)

    after = state(pinned_app)
    assert after["payments"] == [("auto_debit", 8_400, "settled")]
    assert after["events"][-1][0] == "review" and "says the order is settled" in after["events"][-1][1]


def test_a_refund_is_reviewed_when_the_provider_cannot_be_asked(pinned_app, client, debit):
    pinned_app.config["PAYMENT_PROVIDERS"]["midtrans"]["base_url"] = "http://127.0.0.1:9"
    post(client, midtrans(debit["order_id"], "settlement", 8_400))
    process(pinned_app)
    post(client, midtrans(debit["order_id"], "refund", 8_400))
    process(pinned_app)

    assert state(pinned_app)["payments"] == [("auto_debit", 8_400, "settled")]
    assert state(pinned_app)["events"][-1][0] == "review"


def test_a_mandate_the_provider_no_longer_knows_fails_and_the_agent_visits(pinned_app, client, world, enrol, provider):
    member = enrol()
    with pinned_app.app_context():
        db.session.add(
            Mandate(
                member_id=member["id"],
                provider="midtrans",
                provider_ref="SBX-M-forgotten",
                account_label="****1",
                status="active",
            )
        )
        db.session.commit()
        result = run_debits(db.session, configured_providers(pinned_app.config), NOW)
        assert (result.created, result.refused) == (1, 1)
        assert db.session.scalar(select(Mandate.status)) == "failed"

    visits = client.get("/api/v1/visits", headers=world["agent"].headers).get_json()
    assert [v["reason"] for v in visits] == ["mandate_failed"]
