"""Abuse limits: refused logins and forged callbacks limited per address and audited in aggregate; every 429 the
app sends carries Retry-After."""

from __future__ import annotations

import functools
import itertools
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.extensions import db
from core.refusals import is_recorded
from payments.autodebit.signatures import midtrans_signature
from tests.factories import PASSWORD, sent_debit

PROVIDER = {"REMOTE_ADDR": "203.0.113.7"}  # the provider's own address
FORGER = {"REMOTE_ADDR": "198.51.100.9"}


def counts(app: Any, action: str) -> list[int]:
    """The ``count`` of each audit row of ``action``, in order."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [row.details["count"] for row in rows]


def csrf(client: Any, path: str) -> str:
    match = re.search(rb'name="csrf_token" value="([^"]+)"', client.get(path).data)
    assert match, path
    return match.group(1).decode()


def web_login(client: Any, path: str, username: str, password: str = PASSWORD) -> Any:
    return client.post(path, data={"csrf_token": csrf(client, path), "username": username, "password": password})


def callback(order_id: str, key: str = "SB-Mid-server-dev-only") -> bytes:
    gross = "8400.00"
    body = {
        "order_id": order_id,
        "transaction_status": "settlement",
        "status_code": "200",
        "gross_amount": gross,
        "transaction_id": "trx-1",
        "status_message": "ok",
        "payment_type": "auto_debit",
        "signature_key": midtrans_signature(order_id, "200", gross, key),
    }
    return json.dumps(body).encode()


def post_callback(client: Any, body: bytes, environ: dict[str, str]) -> Any:
    return client.post(
        "/webhooks/midtrans", data=body, headers={"Content-Type": "application/json"}, environ_base=environ
    )


@pytest.mark.parametrize(
    ("count", "recorded"),
    [(0, False), (1, True), (2, False), (9, False), (10, True), (11, False), (20, False), (100, True),
     (1000, True), (1010, False), (100_000, True)],
)  # fmt: skip
def test_a_refusal_is_audited_the_first_time_and_at_each_power_of_ten(count, recorded):
    assert is_recorded(count) is recorded


def test_a_flood_of_forged_callbacks_writes_a_few_audit_rows_and_is_held_off_with_retry_after(
    pinned_app, client, enrol
):
    pinned_app.config["WEBHOOK_REFUSALS_PER_ADDRESS"] = 30
    member = enrol()
    _, _, order_id = sent_debit(pinned_app, member["id"], "SBX-M-1")
    forged = callback(order_id, key="a-guess")

    answers = [post_callback(client, forged, FORGER) for _ in range(120)]

    assert [a.status_code for a in answers] == [401] * 30 + [429] * 90
    assert {a.headers.get("Retry-After") for a in answers[30:]} == {"900"}
    assert answers[-1].get_json()["code"] == 429
    assert counts(pinned_app, "webhook.refused") == [1, 10, 100]  # 3 rows for 120 refusals
    genuine = post_callback(client, callback(order_id), PROVIDER)  # the provider, from its own address
    assert genuine.status_code == 200 and genuine.get_json()["duplicate"] is False


def test_a_flood_of_refused_logins_writes_a_few_audit_rows(app, client, world):
    limit = app.config["LOGIN_FAILURES_PER_ADDRESS"]
    answers = []
    for number in range(limit + 15):  # one address guessing across usernames
        answers.append(client.post("/api/v1/auth/token", json={"username": f"guess.{number}", "password": "x"}))

    assert [a.status_code for a in answers] == [401] * limit + [429] * 15
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers[limit:])
    assert counts(app, "auth.token_refused") == [1, 10]
    assert counts(app, "auth.token_throttled") == [1, 10]
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.token_refused")).first()
        assert row is not None and row.details["window_seconds"] == app.config["LOGIN_WINDOW_SECONDS"]
        assert row.details["address"] == "127.0.0.1"


def _throttle(send: Any) -> Any:
    """Send until the answer is a 429 (at most 40 tries); that answer."""
    for _ in range(40):
        answer = send()
        if answer.status_code == 429:
            return answer
    raise AssertionError("never throttled")


def test_every_429_the_app_sends_carries_retry_after(pinned_app, world, enrol):
    pinned_app.config["WEBHOOK_REFUSALS_PER_ADDRESS"] = 2
    pinned_app.config["RECEIPT_LOOKUPS_PER_MINUTE"] = 2
    answers: dict[str, Any] = {}
    addresses = itertools.count(1)

    def fresh() -> Any:  # each throttle from its own address, so one does not trip another
        browser = pinned_app.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"192.0.2.{next(addresses)}"
        return browser

    api = fresh()
    answers["POST /api/v1/auth/token"] = _throttle(
        lambda: api.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": "wrong"})
    )
    for path, username in (("/agen/masuk", "agent.pkp"), ("/keuangan/masuk", "finance.pkp"), ("/admin/masuk", "admin")):
        answers[f"POST {path}"] = _throttle(functools.partial(web_login, fresh(), path, username, "wrong"))
    finance = fresh()
    assert web_login(finance, "/keuangan/masuk", "finance.pkp").status_code in (302, 303)
    answers["POST /akun/kata-sandi"] = _throttle(
        lambda: finance.post(
            "/akun/kata-sandi",
            data={
                "csrf_token": csrf(finance, "/akun/kata-sandi"),
                "current_password": "wrong",
                "new_password": "a new password 1",
                "repeat_password": "a new password 1",
            },
        )
    )
    reader = fresh()
    answers["GET /r/<code>"] = _throttle(lambda: reader.get("/r/AAAAAAAAAA"))
    forger = fresh()
    answers["POST /webhooks/<provider>"] = _throttle(
        lambda: forger.post("/webhooks/midtrans", data=callback("IUR-1-1", key="a-guess"))
    )

    missing = [route for route, answer in answers.items() if not answer.headers.get("Retry-After", "").isdecimal()]
    assert missing == []
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in answers.values())


def _shorten_windows(app: Any, pattern: str, seconds: int) -> int:
    """Make the running rate-limit windows matching ``pattern`` end in ``seconds`` (as if time had passed)."""
    from redis import Redis

    with Redis.from_url(app.config["REDIS_URL"]) as redis:
        names = list(redis.scan_iter(f"iuran:ratelimit:{pattern}"))
        for name in names:
            redis.expire(name, seconds)
    return len(names)


def test_retry_after_is_the_time_left_in_the_window_not_the_whole_window(pinned_app, client, enrol, world):
    """A client told to wait 900 s when the window ends in 100 s waits 800 s too long (a provider's retries, an
    agent's login)."""
    pinned_app.config["WEBHOOK_REFUSALS_PER_ADDRESS"] = 3
    member = enrol()
    _, _, order_id = sent_debit(pinned_app, member["id"], "SBX-M-2")
    for _ in range(3):
        post_callback(client, callback(order_id, key="a-guess"), FORGER)
    assert _shorten_windows(pinned_app, "refusals:webhook*", 100) >= 1
    held = post_callback(client, callback(order_id, key="a-guess"), FORGER)

    limit = pinned_app.config["LOGIN_FAILURES_PER_ADDRESS"]
    for number in range(limit):
        client.post("/api/v1/auth/token", json={"username": f"guess.{number}", "password": "x"})
    assert _shorten_windows(pinned_app, "login-failures:*", 130) == 1
    throttled = client.post("/api/v1/auth/token", json={"username": "guess.x", "password": "x"})

    assert held.status_code == 429 and 98 <= int(held.headers["Retry-After"]) <= 100
    assert "send again in" in held.get_json()["message"]
    assert throttled.status_code == 429 and 128 <= int(throttled.headers["Retry-After"]) <= 130
    assert "wait 3 minutes" in throttled.get_json()["message"]  # 130 s, rounded up to whole minutes
