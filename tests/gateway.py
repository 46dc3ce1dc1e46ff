"""A stand-in SMS/WhatsApp gateway on 127.0.0.1 for the outbox's HTTP sender (core/senders.py).

A real HTTP server in a thread of the test (or benchmark) process. It keeps every request it receives (``requests``,
raw) and, like a gateway that dedupes, delivers a text once per Idempotency-Key (``delivered``): a request whose key
was taken before is answered 200 and not delivered again. It fails as told, per recipient (``plans``: the answers to
the first tries of each of that recipient's texts, then "ok"): "500", "429:<seconds>" (with Retry-After), "hang" (takes
the text, then answers only after ``hang_seconds``: the sender times out) and "400"; a recipient that is not an
Indonesian E.164 number always gets 400. ``hold_first`` holds the first request until a second one is in flight (or
``hold_seconds`` pass), so a test can prove two deliveries sent at the same time (``max_in_flight``);
``delay_seconds`` makes every answer take that long (a real gateway's round trip).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

E164_ID = re.compile(r"\+62\d{8,13}")


@dataclass
class Received:
    key: str
    recipient: str
    payload: dict[str, Any]
    headers: dict[str, str]
    at: float  # time.monotonic() when it arrived
    answer: int = 0


@dataclass
class StandInGateway:
    plans: Mapping[str, Sequence[str]] = field(default_factory=dict)
    token: str = ""  # when set, a request without "Authorization: Bearer <token>" gets 401
    hang_seconds: float = 2.0
    delay_seconds: float = 0.0  # each answer takes this long, as a real gateway's round trip does
    hold_first: bool = False
    hold_seconds: float = 30.0
    requests: list[Received] = field(default_factory=list)
    delivered: dict[str, Received] = field(default_factory=dict)  # by Idempotency-Key
    max_in_flight: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.tries: Counter[str] = Counter()
        self.in_flight = 0
        self.arrivals = 0
        self.second_arrived = threading.Event()

    def by_key(self) -> dict[str, list[Received]]:
        grouped: dict[str, list[Received]] = defaultdict(list)
        for request in self.requests:
            grouped[request.key].append(request)
        return dict(grouped)

    def raw_per_recipient(self) -> Counter[str]:
        return Counter(request.recipient for request in self.requests)

    def delivered_per_recipient(self) -> Counter[str]:
        return Counter(request.recipient for request in self.delivered.values())

    def handle(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Record one request and decide its answer; the caller sleeps for a "hang" (returned as status 0)."""
        payload = json.loads(raw)
        key = headers.get("idempotency-key", "")
        recipient = _recipient(payload)
        received = Received(key, recipient, payload, headers, time.monotonic())
        with self.lock:
            self.requests.append(received)
            self.tries[key] += 1
            plan = self.plans.get(recipient, ())
            step = plan[self.tries[key] - 1] if self.tries[key] <= len(plan) else "ok"
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            received.answer = 401
            return 401, {}, {"error": "unauthorised"}
        if not E164_ID.fullmatch(recipient) or step == "400":
            received.answer = 400
            return 400, {}, {"error": f"invalid recipient {recipient!r}"}
        if step == "500":
            received.answer = 500
            return 500, {}, {"error": "internal error"}
        if step.startswith("429"):
            received.answer = 429
            return 429, {"Retry-After": step.partition(":")[2] or "1"}, {"error": "slow down"}
        with self.lock:
            duplicate = key in self.delivered
            if not duplicate:
                self.delivered[key] = received
        received.answer = 200
        body = {"status": "duplicate" if duplicate else "queued", "id": key}
        return (0 if step == "hang" else 200), {}, body

    @contextmanager
    def running(self) -> Iterator[StandInGateway]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with gateway.lock:
                    gateway.in_flight += 1
                    gateway.max_in_flight = max(gateway.max_in_flight, gateway.in_flight)
                    gateway.arrivals += 1
                    first = gateway.arrivals == 1
                    if gateway.in_flight >= 2:
                        gateway.second_arrived.set()
                try:
                    if first and gateway.hold_first:
                        gateway.second_arrived.wait(gateway.hold_seconds)
                    if gateway.delay_seconds:
                        time.sleep(gateway.delay_seconds)
                    status, extra, body = gateway.handle(headers, raw)
                    if status == 0:  # took the text; answers too late for the sender
                        time.sleep(gateway.hang_seconds)
                        status = 200
                    data = json.dumps(body).encode()
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with gateway.lock:
                        gateway.in_flight -= 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender that timed out and hung up: nothing to say

        server = Server(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


RECIPIENT_FIELDS = ("to", "destination", "recipient", "phone")


def _recipient(node: Any) -> str:
    """The first value under a recipient's usual field name, however deep the gateway's body nests it."""
    if isinstance(node, dict):
        for name in RECIPIENT_FIELDS:
            if isinstance(node.get(name), str):
                return str(node[name])
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            found = _recipient(item)
            if found:
                return found
    return ""
