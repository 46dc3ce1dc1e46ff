"""The HTTP gateway sender against a stand-in gateway (tests/gateway.py) that fails, throttles, hangs and refuses."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from core.outbox import (
    MAX_ATTEMPTS,
    OutboxMessage,
    OutgoingText,
    SendFailed,
    deliver_pending,
    queue_message,
    retry_delay,
)
from core.senders import BACKOFF_SECONDS, DEFAULT_BODY, HttpSender, configured_sender
from tests.factories import NOW
from tests.gateway import StandInGateway

CREATED = datetime(2026, 11, 22, 8, 30)


class Waits:
    """The sender's sleep: records each wait, and waits it."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def gateway() -> Iterator[StandInGateway]:
    """The stand-in; a test sets its ``plans`` (how it answers each recipient's first tries) first."""
    with StandInGateway(hang_seconds=1.5).running() as running:
        yield running


def text(number: int, recipient: str = "+6281234567890", body: str = "Kwitansi R-1") -> OutgoingText:
    return OutgoingText(number, recipient, body, CREATED)


def test_a_text_is_posted_as_json_filled_after_parsing_with_its_idempotency_key_and_bearer_token(gateway):
    sender = HttpSender(gateway.url, token="s3cret")
    tricky = 'Iuran "Maret" diterima.\nCek: https://x/r/AB12 \\ {recipient} ", "to": "+620000000000'

    sender.send(text(7, body=tricky))

    (received,) = gateway.requests
    assert received.payload == {"to": "+6281234567890", "text": tricky, "reference": "7"}
    assert received.headers["authorization"] == "Bearer s3cret"
    assert received.headers["idempotency-key"] == "iuran-7-20261122083000"
    assert received.headers["content-type"] == "application/json"


def test_a_user_and_password_go_as_basic_auth_and_the_template_is_the_settings(gateway):
    template = '{"messages": [{"destination": "{recipient}", "content": {"text": "{body}"}}], "ref": "m-{message_id}"}'
    sender = HttpSender(gateway.url, template, user="iuran", password="pa:ss")

    sender.send(text(3))

    (received,) = gateway.requests
    assert received.headers["authorization"] == "Basic " + base64.b64encode(b"iuran:pa:ss").decode()
    assert received.payload["messages"] == [{"destination": "+6281234567890", "content": {"text": "Kwitansi R-1"}}]
    assert received.payload["ref"] == "m-3"


@pytest.mark.parametrize(
    ("url", "body", "fault"),
    [
        ("ftp://gateway", DEFAULT_BODY, "OUTBOX_GATEWAY_URL"),
        ("", DEFAULT_BODY, "OUTBOX_GATEWAY_URL"),
        ("https://gateway", "{to: {recipient}}", "is not JSON"),
        ("https://gateway", '{"to": "{recipient}"}', "must hold {recipient} and {body}"),
    ],
)
def test_wrong_gateway_settings_are_refused_naming_the_setting(url, body, fault):
    config = {
        "OUTBOX_SENDER": "http",
        "OUTBOX_GATEWAY_URL": url,
        "OUTBOX_GATEWAY_BODY": body,
        "OUTBOX_GATEWAY_TOKEN": "",
        "OUTBOX_GATEWAY_USER": "",
        "OUTBOX_GATEWAY_PASSWORD": "",
        "OUTBOX_GATEWAY_TIMEOUT_SECONDS": 10.0,
        "OUTBOX_GATEWAY_RETRIES": 3,
        "OUTBOX_CLAIM_SECONDS": 120,
    }
    with pytest.raises(ValueError, match=fault):
        configured_sender(config)
    with pytest.raises(ValueError, match="OUTBOX_SENDER='sms' is not a sender"):
        configured_sender({**config, "OUTBOX_SENDER": "sms"})


def test_a_gateway_error_is_tried_again_with_exponential_backoff_and_jitter(gateway):
    gateway.plans = {"+6281111111111": ["500", "500"]}
    waits = Waits()
    jitters = iter([0.0, 1.0])
    sender = HttpSender(gateway.url, sleep=waits, jitter=lambda: next(jitters))

    sender.send(text(1, "+6281111111111"))

    tries = gateway.by_key()["iuran-1-20261122083000"]
    assert [t.answer for t in tries] == [500, 500, 200]
    # half of 0.5·2^n s, plus the jitter's share of the other half: 0.25 s (jitter 0), then 1.0 s (jitter 1)
    assert waits.seconds == [BACKOFF_SECONDS / 2, BACKOFF_SECONDS * 2]
    assert tries[1].at - tries[0].at >= waits.seconds[0]
    assert tries[2].at - tries[1].at >= waits.seconds[1]
    assert len(gateway.delivered) == 1


def test_a_429_waits_its_retry_after_and_a_long_one_is_left_to_a_later_delivery(gateway):
    gateway.plans = {"+6281111111111": ["429:1"], "+6282222222222": ["429:600"]}
    waits = Waits()
    sender = HttpSender(gateway.url, sleep=waits)

    sender.send(text(1, "+6281111111111"))
    with pytest.raises(SendFailed) as failed:
        sender.send(text(2, "+6282222222222"))

    assert waits.seconds == [1.0]
    assert gateway.raw_per_recipient() == {"+6281111111111": 2, "+6282222222222": 1}
    assert not failed.value.permanent and failed.value.retry_after == 600
    assert str(failed.value).startswith("gateway answered 429")


def test_a_text_the_gateway_took_before_the_sender_timed_out_is_deduplicated_by_its_key(gateway):
    gateway.plans = {"+6281111111111": ["hang"]}
    sender = HttpSender(gateway.url, timeout=0.5, sleep=Waits())

    sender.send(text(1, "+6281111111111"))

    (tries,) = gateway.by_key().values()
    assert len(tries) == 2  # the sender sent it twice (the first answer came too late) …
    assert len(gateway.delivered) == 1  # … and the gateway delivered it once
    assert json.loads(json.dumps(tries[0].payload)) == tries[1].payload


def test_a_malformed_recipient_is_refused_for_good_without_trying_again(gateway):
    sender = HttpSender(gateway.url, sleep=Waits())

    with pytest.raises(SendFailed) as failed:
        sender.send(text(1, "0812-ABC"))

    assert failed.value.permanent
    assert "gateway answered 400" in str(failed.value) and "invalid recipient" in str(failed.value)
    assert len(gateway.requests) == 1


def test_wrong_credentials_are_not_the_texts_fault_and_are_not_retried_at_once(gateway):
    gateway.token = "right"
    sender = HttpSender(gateway.url, token="wrong", sleep=Waits())

    with pytest.raises(SendFailed) as failed:
        sender.send(text(1))

    assert not failed.value.permanent  # the text waits for a later delivery, once the settings are fixed
    assert "401" in str(failed.value) and "OUTBOX_GATEWAY_URL" in str(failed.value)
    assert len(gateway.requests) == 1


def test_a_gateway_nobody_answers_at_is_tried_retries_plus_one_times():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits = Waits()
    sender = HttpSender(f"http://127.0.0.1:{port}/messages", retries=2, sleep=waits)

    with pytest.raises(SendFailed) as failed:
        sender.send(text(1))

    assert not failed.value.permanent and str(failed.value).startswith("gateway unreachable")
    assert len(waits.seconds) == 2


def test_a_gateway_that_took_the_text_but_never_finishes_its_answer_gets_it_once():
    """A gateway that answers 200 and then trickles or never ends its body (a huge one, a stalled proxy): reading
    the body timed out, the text counted as not sent, and it was posted again at each retry, a second SMS each."""
    posts: list[bytes] = []
    held: list[socket.socket] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def answer_and_stall() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            while len(body) < length:
                body += connection.recv(65536)
            posts.append(body)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"
            )
            held.append(connection)  # the rest of the body never comes, and the connection stays open

    thread = threading.Thread(target=answer_and_stall, daemon=True)
    thread.start()
    try:
        sender = HttpSender(f"http://127.0.0.1:{server.getsockname()[1]}/m", timeout=0.5, retries=2, sleep=Waits())
        sender.send(text(1))
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()

    assert len(posts) == 1


def test_retries_stop_before_the_claim_on_the_text_would_run_out(gateway):
    gateway.plans = {"+6281111111111": ["500"] * 10}
    waits = Waits()
    sender = HttpSender(gateway.url, timeout=1.0, retries=5, budget_seconds=2.0, sleep=waits)

    with pytest.raises(SendFailed):
        sender.send(text(1, "+6281111111111"))

    assert len(gateway.requests) < 6 and sum(waits.seconds) + 1.0 <= 2.0


# --- through deliver_pending, on both databases -------------------------------------------------------------------


def deliver(app: Any, sender: HttpSender, at: datetime = NOW) -> int:
    with app.app_context():
        try:
            return deliver_pending(db.session, sender, at)
        finally:
            db.session.remove()


def messages(app: Any) -> dict[str, OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage)))
        db.session.expunge_all()
    return {row.recipient: row for row in rows}


def test_a_delivery_through_a_gateway_that_fails_sends_each_text_once_and_gives_up_a_refused_one(app, gateway):
    gateway.plans = {"+6282222222222": ["500", "500"], "+6283333333333": ["429:1"], "+6284444444444": ["hang"]}
    recipients = ["+6281111111111", "+6282222222222", "+6283333333333", "+6284444444444", "0812-ABC", "+6286666666666"]
    with app.app_context():
        for number, recipient in enumerate(recipients):
            queue_message(db.session, "receipt", recipient, f"Kwitansi R-{number}")
        db.session.commit()
    waits = Waits()
    sender = HttpSender(gateway.url, timeout=0.5, retries=3, sleep=waits)

    assert deliver(app, sender) == 5

    assert gateway.raw_per_recipient() == {
        "+6281111111111": 1,
        "+6282222222222": 3,
        "+6283333333333": 2,
        "+6284444444444": 2,
        "0812-ABC": 1,
        "+6286666666666": 1,
    }
    assert gateway.delivered_per_recipient() == dict.fromkeys(
        ["+6281111111111", "+6282222222222", "+6283333333333", "+6284444444444", "+6286666666666"], 1
    )
    rows = messages(app)
    refused = rows.pop("0812-ABC")
    assert refused.sent_at is None and refused.attempts == MAX_ATTEMPTS
    assert refused.last_error is not None and refused.last_error.startswith("gateway answered 400")
    assert all(row.sent_at is not None and row.sender == "http" and row.attempts == 1 for row in rows.values())
    assert 1.0 in waits.seconds  # the 429's Retry-After

    assert deliver(app, sender, NOW + timedelta(days=1)) == 0  # the refused text is not tried again
    assert len(gateway.requests) == 10


def test_a_text_the_gateway_keeps_failing_waits_for_its_next_try_and_ends_the_run(app, gateway):
    gateway.plans = {"+6281111111111": ["500", "500", "500", "500"], "+6289999999999": ["429:600"]}
    with app.app_context():
        queue_message(db.session, "receipt", "+6281111111111", "first")
        queue_message(db.session, "receipt", "+6282222222222", "second")
        db.session.commit()
    sender = HttpSender(gateway.url, retries=1, sleep=Waits())

    assert deliver(app, sender) == 0  # two tries of the first text, then the run ends: the gateway is failing
    failing = messages(app)["+6281111111111"]
    assert failing.attempts == 1 and failing.last_error == 'gateway answered 500: {"error": "internal error"}'
    assert failing.claimed_until is not None and failing.claimed_until >= NOW + retry_delay(1)
    assert gateway.raw_per_recipient() == {"+6281111111111": 2}

    assert deliver(app, sender, NOW + timedelta(seconds=10)) == 1  # the next sweep sends the second, not the first
    assert gateway.raw_per_recipient() == {"+6281111111111": 2, "+6282222222222": 1}

    assert deliver(app, sender, NOW + retry_delay(1) + timedelta(seconds=10)) == 0  # its 3rd and 4th tries fail too
    assert messages(app)["+6281111111111"].attempts == 2
    later = NOW + retry_delay(1) + retry_delay(2) + timedelta(seconds=20)
    assert deliver(app, sender, later) == 1
    assert gateway.raw_per_recipient()["+6281111111111"] == 5
    assert messages(app)["+6281111111111"].sent_at is not None

    with app.app_context():  # a long Retry-After holds the text at least that long
        queue_message(db.session, "receipt", "+6289999999999", "throttled")
        db.session.commit()
    assert deliver(app, sender, later) == 0
    assert messages(app)["+6289999999999"].claimed_until >= later + timedelta(seconds=600)


def test_retry_delay_doubles_from_a_minute_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
