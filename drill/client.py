"""The drill's clients: an agent's phone and a provider, each retrying as the real one would.

A phone that sees a connection error, a timeout or a 5xx sends the same request again with the same
Idempotency-Key, after a short pause, until it gets an answer or its deadline passes; a provider does the same
with the same callback. Every logical request ends as an :class:`Outcome` the checks compare with the database.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

REQUEST_TIMEOUT_S = 10.0  # a phone gives up on one try after this and tries again
RETRY_PAUSE_S = 0.3
DEADLINE_S = 90.0  # ... and on the request after this (it stays unanswered: not lost, never committed)


@dataclass
class Outcome:
    """One logical request: what was sent, how often, and the final answer (None: never answered)."""

    kind: str  # contribution, callback, approval, close
    key: str  # the Idempotency-Key, or the callback's event key
    body: dict[str, Any]
    tries: int = 0
    status: int | None = None
    answer: dict[str, Any] | None = None
    errors: Counter[str] = field(default_factory=Counter)  # what made it retry: "conn", "timeout", "500", "503"

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def committed(self) -> bool:
        """The client was told it is done: a receipt for cash, a 200 for a callback, the approved batch."""
        if self.status is None or not 200 <= self.status <= 299:
            return False
        if self.kind == "contribution":
            return bool(self.answer and self.answer.get("number"))
        return True


class Http:
    """Plain HTTP/1.1 to the app on loopback, one connection per try (a phone's flaky network)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
            response = conn.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            conn.close()


def send(
    http_: Http, outcome: Outcome, path: str, raw: bytes, headers: dict[str, str], deadline_s: float = DEADLINE_S
) -> Outcome:
    """Send until answered (anything but a connection error, a timeout or a 5xx) or the deadline passes."""
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        outcome.tries += 1
        try:
            status, data, reply_headers = http_.post(path, raw, headers)
        except TimeoutError:
            outcome.errors["timeout"] += 1
        except (OSError, http.client.HTTPException):
            outcome.errors["conn"] += 1
        else:
            if status >= 500:
                outcome.errors[str(status)] += 1
                pause = reply_headers.get("Retry-After", "")
                time.sleep(min(float(pause), 5.0) if pause.isdigit() else RETRY_PAUSE_S)
                continue
            outcome.status = status
            try:
                outcome.answer = json.loads(data) if data else {}
            except ValueError:
                outcome.answer = {"raw": data[:200].decode(errors="replace")}
            return outcome
        time.sleep(RETRY_PAUSE_S)
    return outcome


def contribution(
    http_: Http, token: str, key: str, member_id: int, months: int = 1, paid_on: str | None = None
) -> Outcome:
    body: dict[str, Any] = {"member_id": member_id, "months": months}
    if paid_on:
        body["paid_on"] = paid_on
    outcome = Outcome("contribution", key, body)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    return send(http_, outcome, "/api/v1/contributions", json.dumps(body).encode(), headers)


def midtrans_body(order_id: str, trx: str, amount_idr: int, status: str, server_key: str) -> bytes:
    """A Midtrans notification as it arrives, signed: settlement (200) or pending (201)."""
    from payments.autodebit.signatures import midtrans_signature

    gross = f"{amount_idr}.00"
    code = "200" if status in ("settlement", "capture") else "201"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    body = {
        "transaction_time": stamp,
        "transaction_status": status,
        "transaction_id": trx,
        "status_message": "midtrans payment notification",
        "status_code": code,
        "signature_key": midtrans_signature(order_id, code, gross, server_key),
        "payment_type": "gopay",
        "order_id": order_id,
        "gross_amount": gross,
        "fraud_status": "accept",
        "currency": "IDR",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def callback(http_: Http, raw: bytes) -> Outcome:
    payload = json.loads(raw)
    key = f"{payload['transaction_id']}:{payload['transaction_status']}"
    outcome = Outcome("callback", key, {"order_id": payload["order_id"], "status": payload["transaction_status"]})
    return send(http_, outcome, "/webhooks/midtrans", raw, {})


def new_key(*parts: object) -> str:
    """An Idempotency-Key as a phone makes one: unique per payment the agent means to record."""
    return "drill-" + hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:24]


def run_all(jobs: Iterable[Callable[[], Outcome]], threads: int, stop_after_s: float) -> list[Outcome]:
    """Run jobs on ``threads`` threads; jobs not started within ``stop_after_s`` are not sent (bounded load)."""
    pending = list(jobs)
    lock = threading.Lock()
    results: list[Outcome] = []
    stop_at = time.monotonic() + stop_after_s

    def worker() -> None:
        while True:
            with lock:
                if not pending or time.monotonic() > stop_at:
                    return
                job = pending.pop(0)
            outcome = job()
            with lock:
                results.append(outcome)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=stop_after_s + DEADLINE_S + 30)
    return results


def all_at_once(jobs: list[Callable[[], Outcome]]) -> list[Outcome]:
    """Run every job on its own thread, released together by a barrier: the concurrent twins."""
    barrier = threading.Barrier(len(jobs))
    results: list[Outcome] = []
    lock = threading.Lock()

    def worker(job: Callable[[], Outcome]) -> None:
        barrier.wait()
        outcome = job()
        with lock:
            results.append(outcome)

    pool = [threading.Thread(target=worker, args=(job,), daemon=True) for job in jobs]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=DEADLINE_S + 30)
    return results
