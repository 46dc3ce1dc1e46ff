"""The sandbox provider: its API, and the notifications it posts to a real HTTP receiver, good and bad."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from payments.autodebit.sandbox import Sandbox, SandboxConfig, config_from_args, create_sandbox

KEY = "SB-Mid-server-test"
SECRET = "sandbox-test-secret"
AUTH = (KEY, "")


@dataclass
class Receiver:
    """A webhook endpoint on a real socket that records what it is sent and answers ``status``."""

    url: str = ""
    status: int = 200
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        incoming = Request(environ)
        with self.lock:
            self.received.append((incoming.get_data(), dict(incoming.headers)))
        return Response("{}", status=self.status, mimetype="application/json")(environ, start_response)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for body, _ in self.received]

    def statuses(self) -> list[tuple[str, str]]:
        return [(b["order_id"], b["transaction_status"]) for b in self.bodies()]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recorder = Receiver()
    server = make_server("127.0.0.1", 0, recorder, threaded=True)
    recorder.url = f"http://127.0.0.1:{server.server_port}/api/v1/webhooks/sandbox"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def make_sandbox(receiver: Receiver) -> Iterator[Callable[..., tuple[FlaskClient, Sandbox]]]:
    """Build a sandbox calling the receiver back, delivering only when told (unless auto_deliver=True)."""
    made: list[Sandbox] = []

    def make(**overrides: Any) -> tuple[FlaskClient, Sandbox]:
        settings: dict[str, Any] = {"webhook_url": receiver.url, "server_key": KEY, "auto_deliver": False}
        clock = overrides.pop("clock", None)
        app = create_sandbox(SandboxConfig(**(settings | overrides)), clock=clock)
        made.append(app.extensions["sandbox"])
        return app.test_client(), app.extensions["sandbox"]

    yield make
    for sandbox in made:
        sandbox.stop()


def mandate(client: FlaskClient, account: str = "8800112233", customer_ref: str = "KPJ-1") -> str:
    response = client.post(
        "/v1/mandates", json={"customer_ref": customer_ref, "account": account, "months_per_debit": 1}, auth=AUTH
    )
    assert response.status_code == 201, response.json
    return str(response.json["mandate_ref"])


def charge(client: FlaskClient, order_id: str, mandate_ref: str, amount: int = 16_800) -> Any:
    return client.post(
        "/v2/charge", json={"order_id": order_id, "gross_amount": amount, "mandate_ref": mandate_ref}, auth=AUTH
    )


def expected_signature(body: dict[str, Any], key: str = KEY) -> str:
    text = body["order_id"] + body["status_code"] + body["gross_amount"] + key
    return hashlib.sha512(text.encode()).hexdigest()


def test_api_calls_need_the_server_key_as_basic_auth_username(make_sandbox: Any) -> None:
    client, _ = make_sandbox()
    body = {"customer_ref": "KPJ-1", "account": "8800112233", "months_per_debit": 1}

    anonymous = client.post("/v1/mandates", json=body)
    wrong_key = client.post("/v1/mandates", json=body, auth=("SB-Mid-server-other", ""))
    bearer = client.post("/v1/mandates", json=body, headers={"Authorization": f"Bearer {KEY}"})
    right_key = client.post("/v1/mandates", json=body, auth=AUTH)
    home = client.get("/")

    assert [anonymous.status_code, wrong_key.status_code, bearer.status_code] == [401, 401, 401]
    assert anonymous.json["status_code"] == "401" and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert right_key.status_code == 201
    assert home.status_code == 200 and home.json["sandbox"] is True and "SANDBOX" in home.json["message"]
    for response in (anonymous, right_key, home, client.get("/nowhere", auth=AUTH)):
        assert response.headers["X-Sandbox"] == "true"


def test_a_mandate_is_active_until_cancelled_and_then_cannot_be_charged(make_sandbox: Any) -> None:
    client, _ = make_sandbox()
    ref = mandate(client)

    cancelled = client.post(f"/v1/mandates/{ref}/cancel", auth=AUTH)
    refused = charge(client, "ORD-1", ref)
    unknown = charge(client, "ORD-2", "SBX-M-nope")
    cancel_unknown = client.post("/v1/mandates/SBX-M-nope/cancel", auth=AUTH)

    assert ref.startswith("SBX-M-")
    assert cancelled.status_code == 200 and cancelled.json == {"mandate_ref": ref, "status": "cancelled"}
    assert refused.status_code == 409 and "cancelled" in refused.json["status_message"]
    assert unknown.status_code == 404 and cancel_unknown.status_code == 404


def test_a_mandate_on_a_pending_account_awaits_authorisation_and_cannot_be_charged(make_sandbox: Any) -> None:
    client, _ = make_sandbox()
    created = client.post(
        "/v1/mandates", json={"customer_ref": "KPJ-1", "account": "PENDING-01", "months_per_debit": 3}, auth=AUTH
    )

    assert created.status_code == 201 and created.json["status"] == "pending_authorisation"
    assert charge(client, "ORD-1", created.json["mandate_ref"]).status_code == 409


def test_a_malformed_request_is_refused_with_a_400(make_sandbox: Any) -> None:
    client, _ = make_sandbox()
    ref = mandate(client)

    texts = client.post(
        "/v2/charge", json={"order_id": "ORD-1", "gross_amount": "16800", "mandate_ref": ref}, auth=AUTH
    )
    zero = charge(client, "ORD-2", ref, amount=0)
    not_json = client.post("/v1/mandates", data="customer_ref=KPJ-1", auth=AUTH)

    assert [texts.status_code, zero.status_code, not_json.status_code] == [400, 400, 400]
    assert "gross_amount" in texts.json["status_message"]


def test_a_charge_is_pending_then_settles_and_both_notifications_carry_the_midtrans_signature(
    make_sandbox: Any, receiver: Receiver
) -> None:
    client, sandbox = make_sandbox()
    ref = mandate(client)

    response = charge(client, "ORD-1", ref)
    queued = client.get("/v1/_sandbox/outbox", auth=AUTH).json
    delivered = client.post("/v1/_sandbox/deliver", auth=AUTH).json

    assert response.status_code == 201
    assert response.json["status_code"] == "201" and response.json["transaction_status"] == "pending"
    assert response.json["order_id"] == "ORD-1" and response.json["gross_amount"] == "16800.00"
    assert response.json["payment_type"] == "auto_debit"
    assert queued == {"pending": 2, "delivered": 0, "failed": 0}
    assert delivered == {"pending": 0, "delivered": 2, "failed": 0}
    pending, settlement = receiver.bodies()
    assert (pending["transaction_status"], pending["status_code"]) == ("pending", "201")
    assert (settlement["transaction_status"], settlement["status_code"]) == ("settlement", "200")
    for body in (pending, settlement):
        assert body["signature_key"] == expected_signature(body)
        assert body["transaction_id"] == response.json["transaction_id"]
        assert body["gross_amount"] == "16800.00" and body["payment_type"] == "auto_debit"
        assert (body["merchant_id"], body["currency"], body["fraud_status"]) == ("SANDBOX", "IDR", "accept")
        datetime.strptime(body["transaction_time"], "%Y-%m-%d %H:%M:%S")
    assert "settlement_time" not in pending and settlement["settlement_time"] >= settlement["transaction_time"]
    for _, headers in receiver.received:
        assert headers["Content-Type"] == "application/json" and headers["X-Sandbox"] == "true"
    assert sandbox.charges()[0]["transaction_status"] == "settlement"


def test_notification_times_are_in_jakarta_time_like_midtrans(make_sandbox: Any, receiver: Receiver) -> None:
    client, sandbox = make_sandbox(clock=lambda: datetime(2026, 3, 14, 20, 30, 5, tzinfo=UTC))
    charge(client, "ORD-1", mandate(client))
    sandbox.deliver_all()

    assert {b["transaction_time"] for b in receiver.bodies()} == {"2026-03-15 03:30:05"}


def test_a_repeated_order_id_is_refused_as_midtrans_does(make_sandbox: Any) -> None:
    client, sandbox = make_sandbox()
    ref = mandate(client)

    first = charge(client, "ORD-1", ref)
    again = charge(client, "ORD-1", ref)

    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json == {"status_code": "406", "status_message": "duplicate order_id"}
    assert len(sandbox.charges()) == 1 and sandbox.outbox()["pending"] == 2


def test_a_fail_mandate_is_denied_for_insufficient_funds_on_its_first_charge_only(
    make_sandbox: Any, receiver: Receiver
) -> None:
    client, sandbox = make_sandbox()
    ref = mandate(client)
    sandbox.configure(fail_mandates=frozenset({ref}))  # the ref exists only once the sandbox made it

    charge(client, "ORD-1", ref)
    charge(client, "ORD-2", ref)
    sandbox.deliver_all()

    finals = [b for b in receiver.bodies() if b["transaction_status"] != "pending"]
    assert [(b["order_id"], b["transaction_status"], b["status_code"]) for b in finals] == [
        ("ORD-1", "deny", "202"),
        ("ORD-2", "settlement", "200"),
    ]
    assert finals[0]["status_message"] == "insufficient_funds"
    assert all(b["signature_key"] == expected_signature(b) for b in finals)


def test_fail_mandates_also_match_a_customer_ref_or_account_known_before_the_mandate_exists(
    make_sandbox: Any,
) -> None:
    client, sandbox = make_sandbox(fail_mandates=frozenset({"KPJ-7"}), always_fail_mandates=frozenset({"0000"}))
    by_customer = mandate(client, customer_ref="KPJ-7")
    by_account = mandate(client, account="0000", customer_ref="KPJ-8")

    for order_id, ref in [("A-1", by_customer), ("A-2", by_customer), ("B-1", by_account), ("B-2", by_account)]:
        charge(client, order_id, ref)

    outcomes = {c["order_id"]: c["transaction_status"] for c in sandbox.charges()}
    assert outcomes == {"A-1": "deny", "A-2": "settlement", "B-1": "deny", "B-2": "deny"}


def test_the_fail_rate_draw_is_seeded_per_order_id(make_sandbox: Any) -> None:
    client, sandbox = make_sandbox(fail_rate=0.5, seed=42)
    ref = mandate(client)
    order_ids = [f"ORD-{n}" for n in range(20)]

    for order_id in order_ids:
        charge(client, order_id, ref)

    denied = {c["order_id"] for c in sandbox.charges() if c["transaction_status"] == "deny"}
    assert denied == {o for o in order_ids if random.Random(f"42:{o}").random() < 0.5}
    assert 0 < len(denied) < 20


def test_with_duplicates_every_notification_is_sent_twice(make_sandbox: Any, receiver: Receiver) -> None:
    client, sandbox = make_sandbox(duplicates=True)
    ref = mandate(client)
    charge(client, "ORD-1", ref)
    charge(client, "ORD-2", ref)

    counts = sandbox.deliver_all()

    assert counts == {"pending": 0, "delivered": 8, "failed": 0}
    statuses = receiver.statuses()
    assert sorted(statuses) == sorted(2 * [(o, s) for o in ("ORD-1", "ORD-2") for s in ("pending", "settlement")])
    bodies = sorted(body for body, _ in receiver.received)
    assert bodies[0::2] == bodies[1::2]  # a duplicate is the same bytes, like a provider's redelivery


def test_with_reorder_some_pending_notifications_arrive_after_their_settlement(
    make_sandbox: Any, receiver: Receiver
) -> None:
    def run(seed: int) -> list[tuple[str, str]]:
        receiver.received.clear()
        client, sandbox = make_sandbox(reorder=True, seed=seed)
        ref = mandate(client)
        for n in range(20):
            charge(client, f"ORD-{n}", ref)
        assert sandbox.deliver_all() == {"pending": 0, "delivered": 40, "failed": 0}
        return receiver.statuses()

    arrived = run(seed=7)

    late = [
        o for o, s in arrived if s == "pending" and arrived.index((o, "settlement")) < arrived.index((o, "pending"))
    ]
    assert late, "no pending arrived after its settlement"
    assert [o for o, _ in arrived] != sorted((o for o, _ in arrived), key=lambda o: int(o.split("-")[1]))
    assert run(seed=7) == arrived  # the same seed shuffles the same way


def test_the_signed_scheme_puts_a_fresh_hmac_of_the_raw_body_in_x_signature(
    make_sandbox: Any, receiver: Receiver
) -> None:
    client, sandbox = make_sandbox(scheme="signed", secret=SECRET, server_key="sandbox-api-key")
    ref = client.post(
        "/v1/mandates",
        json={"customer_ref": "KPJ-1", "account": "8800112233", "months_per_debit": 1},
        auth=("sandbox-api-key", ""),
    ).json["mandate_ref"]
    client.post(
        "/v2/charge",
        json={"order_id": "ORD-1", "gross_amount": 16_800, "mandate_ref": ref},
        auth=("sandbox-api-key", ""),
    )

    sandbox.deliver_all()

    assert len(receiver.received) == 2
    for raw, headers in receiver.received:
        parts = dict(item.split("=", 1) for item in headers["X-Signature"].split(","))
        signed = parts["t"].encode() + b"." + raw
        assert parts["v1"] == hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert abs(time.time() - int(parts["t"])) < 60
        assert "signature_key" not in json.loads(raw)
        assert json.loads(raw)["gross_amount"] == "16800.00"


def test_a_signed_sandbox_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        SandboxConfig(webhook_url="http://127.0.0.1:1/", server_key=KEY, scheme="signed")


def test_a_settled_charge_can_be_refunded_once_and_the_refund_is_notified(
    make_sandbox: Any, receiver: Receiver
) -> None:
    client, sandbox = make_sandbox(always_fail_mandates=frozenset({"0000"}))
    ref = mandate(client)
    charge(client, "ORD-1", ref)
    charge(client, "ORD-2", mandate(client, account="0000"))
    sandbox.deliver_all()
    receiver.received.clear()

    refunded = client.post("/v1/refunds", json={"order_id": "ORD-1"}, auth=AUTH)
    again = client.post("/v1/refunds", json={"order_id": "ORD-1"}, auth=AUTH)
    denied = client.post("/v1/refunds", json={"order_id": "ORD-2"}, auth=AUTH)
    unknown = client.post("/v1/refunds", json={"order_id": "ORD-9"}, auth=AUTH)
    sandbox.deliver_all()

    assert refunded.status_code == 200 and refunded.json["transaction_status"] == "refund"
    assert [again.status_code, denied.status_code, unknown.status_code] == [409, 409, 404]
    (notice,) = receiver.bodies()
    assert (notice["order_id"], notice["transaction_status"], notice["status_code"]) == ("ORD-1", "refund", "200")
    assert notice["gross_amount"] == "16800.00" and notice["signature_key"] == expected_signature(notice)


def test_the_settlement_report_lists_settled_charges_including_refunded_ones(make_sandbox: Any) -> None:
    client, sandbox = make_sandbox(
        always_fail_mandates=frozenset({"0000"}), clock=lambda: datetime(2026, 3, 14, 20, 0, tzinfo=UTC)
    )
    ref = mandate(client)
    charge(client, "ORD-1", ref, amount=16_800)
    charge(client, "ORD-2", ref, amount=8_400)
    charge(client, "ORD-3", mandate(client, account="0000"))
    client.post("/v1/refunds", json={"order_id": "ORD-2"}, auth=AUTH)

    report = client.get("/v1/settlements.csv", auth=AUTH)
    that_day = client.get("/v1/settlements.csv?date=2026-03-15", auth=AUTH)  # 20:00 UTC is 03:00 WIB next day
    day_before = client.get("/v1/settlements.csv?date=2026-03-14", auth=AUTH)
    bad_date = client.get("/v1/settlements.csv?date=15-03-2026", auth=AUTH)

    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report.text)))
    transaction_ids = {c["order_id"]: c["transaction_id"] for c in sandbox.charges()}
    assert rows == [
        {
            "order_id": "ORD-1",
            "transaction_id": transaction_ids["ORD-1"],
            "gross_amount": "16800",
            "settlement_time": "2026-03-15 03:00:00",
        },
        {
            "order_id": "ORD-2",
            "transaction_id": transaction_ids["ORD-2"],
            "gross_amount": "8400",
            "settlement_time": "2026-03-15 03:00:00",
        },
    ]
    assert that_day.text == report.text
    assert day_before.text == "order_id,transaction_id,gross_amount,settlement_time\n"
    assert bad_date.status_code == 400


def test_a_webhook_answering_500_is_retried_three_times_then_counted_as_failed(
    make_sandbox: Any, receiver: Receiver
) -> None:
    receiver.status = 500
    client, sandbox = make_sandbox()
    charge(client, "ORD-1", mandate(client))

    counts = sandbox.deliver_all()

    assert counts == {"pending": 0, "delivered": 0, "failed": 2}
    assert len(receiver.received) == 8  # each of the two notifications: the first try and three retries
    failures = sandbox.failed_deliveries()
    assert [(f["transaction_status"], f["attempts"], f["http_status"]) for f in failures] == [
        ("pending", 4, 500),
        ("settlement", 4, 500),
    ]


def test_an_unreachable_webhook_is_counted_as_failed(make_sandbox: Any) -> None:
    client, sandbox = make_sandbox(webhook_url="http://127.0.0.1:9/nobody-listens")
    charge(client, "ORD-1", mandate(client))

    assert sandbox.deliver_all() == {"pending": 0, "delivered": 0, "failed": 2}
    assert all(f["attempts"] == 4 and f["error"] for f in sandbox.failed_deliveries())


def test_with_auto_deliver_a_background_thread_sends_notifications_after_a_delay(
    make_sandbox: Any, receiver: Receiver
) -> None:
    client, sandbox = make_sandbox(auto_deliver=True, max_delay_ms=30)
    charge(client, "ORD-1", mandate(client))

    deadline = time.monotonic() + 10
    while sandbox.outbox()["delivered"] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)

    assert sandbox.outbox() == {"pending": 0, "delivered": 2, "failed": 0}
    assert receiver.statuses() == [("ORD-1", "pending"), ("ORD-1", "settlement")]


def test_it_talks_http_on_a_real_socket_as_a_provider_client_would(make_sandbox: Any) -> None:
    _, sandbox = make_sandbox()
    app = create_sandbox(sandbox.config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    token = base64.b64encode(f"{KEY}:".encode()).decode()

    def post(path: str, body: dict[str, Any], auth: str = token) -> tuple[int, dict[str, Any], str]:
        outgoing = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(outgoing, timeout=5) as response:
                return response.status, json.loads(response.read()), response.headers["X-Sandbox"]
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read()), error.headers["X-Sandbox"]

    try:
        created = post("/v1/mandates", {"customer_ref": "KPJ-1", "account": "8800112233", "months_per_debit": 1})
        charged = post(
            "/v2/charge", {"order_id": "ORD-1", "gross_amount": 16_800, "mandate_ref": created[1]["mandate_ref"]}
        )
        unauthorised = post("/v2/charge", {"order_id": "ORD-2"}, auth=base64.b64encode(b"wrong:").decode())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    assert (created[0], created[1]["status"], created[2]) == (201, "active", "true")
    assert (charged[0], charged[1]["transaction_status"]) == (201, "pending")
    assert (unauthorised[0], unauthorised[2]) == (401, "true")


def test_the_command_line_builds_the_config() -> None:
    argv = "--webhook-url http://127.0.0.1:5000/api/v1/webhooks/sandbox --server-key k --scheme signed --secret s"
    argv += " --fail-rate 0.1 --duplicates --reorder --max-delay-ms 200 --seed 3"
    argv += " --fail-mandate KPJ-7 --always-fail-mandate 0000"

    host, port, config = config_from_args(argv.split())

    assert (host, port) == ("127.0.0.1", 5077)
    assert config == SandboxConfig(
        webhook_url="http://127.0.0.1:5000/api/v1/webhooks/sandbox",
        server_key="k",
        scheme="signed",
        secret="s",
        fail_rate=0.1,
        fail_mandates=frozenset({"KPJ-7"}),
        always_fail_mandates=frozenset({"0000"}),
        duplicates=True,
        reorder=True,
        max_delay_ms=200,
        seed=3,
        auto_deliver=True,
    )
