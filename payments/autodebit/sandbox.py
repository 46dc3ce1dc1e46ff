"""SANDBOX payment provider: a local stand-in that takes mandates and charges and calls our webhook back, unreliably.

A separate service, not part of the app: it imports nothing from iuran and the app reaches it over HTTP only,
as it would Midtrans. It moves no money. It answers the Midtrans-shaped Core API (Basic auth with the server
key as username), then posts notifications to one webhook URL, signed the Midtrans way (``signature_key`` in
the body) or the generic way (``X-Signature: t=…,v1=…`` header), with configurable failures, delays,
duplicates and reordering. Run it with ``python -m payments.autodebit.sandbox --webhook-url URL --server-key KEY``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import hmac
import http.client
import io
import json
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

WIB = timezone(timedelta(hours=7), "WIB")  # Midtrans reports times in Jakarta time
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SCHEMES = ("midtrans", "signed")
STATUS_CODES = {"pending": "201", "settlement": "200", "deny": "202", "refund": "200"}
DELIVERY_RETRIES = 3  # after the first attempt; then the notification is counted as failed
RETRY_BACKOFF_SECONDS = 0.05  # doubled before each retry: 0.05, 0.1, 0.2
DELIVERY_TIMEOUT_SECONDS = 5
AUTO_DELIVER_POLL_SECONDS = 0.2
BANNER = "SANDBOX payment provider for iuran: not a real provider, no money moves."


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox behaves: where it calls back, how it signs, and how badly it behaves."""

    webhook_url: str
    server_key: str
    scheme: str = "midtrans"
    secret: str = ""  # HMAC key of the "signed" scheme
    fail_rate: float = 0.0
    fail_mandates: frozenset[str] = frozenset()  # first charge fails; matches mandate_ref, customer_ref or account
    always_fail_mandates: frozenset[str] = frozenset()  # every charge fails; matched the same way
    duplicates: bool = False
    reorder: bool = False
    max_delay_ms: int = 0
    seed: int = 0
    auto_deliver: bool = True

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, not {self.scheme!r}")
        if self.scheme == "signed" and not self.secret:
            raise ValueError("the signed scheme needs a secret")
        if not self.server_key:
            raise ValueError("a server key is needed: API calls authenticate with it")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, not {self.fail_rate}")
        if self.max_delay_ms < 0:
            raise ValueError("max_delay_ms cannot be negative")


class SandboxError(Exception):
    """A refused API call: its HTTP status and a Midtrans-style ``status_code`` and ``status_message``."""

    def __init__(self, http_status: int, message: str, status_code: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status_code = status_code or str(http_status)
        self.message = message


@dataclass
class _Mandate:
    mandate_ref: str
    customer_ref: str
    account: str
    months_per_debit: int
    status: str
    charges: int = 0


@dataclass
class _Charge:
    order_id: str
    transaction_id: str
    mandate_ref: str
    gross_amount: int
    transaction_status: str  # the outcome the sandbox decided: settlement or deny, later refund
    status_message: str
    transaction_time: datetime
    settlement_time: datetime | None = None
    refund_time: datetime | None = None


@dataclass
class _Notification:
    order_id: str
    transaction_status: str
    body: bytes  # fixed when queued: a redelivery (or a duplicate) carries the same bytes
    attempts: int = 0
    http_status: int | None = None
    error: str | None = None


@dataclass
class _Outbox:
    queued: list[_Notification] = field(default_factory=list)
    in_flight: int = 0
    delivered: list[_Notification] = field(default_factory=list)
    failed: list[_Notification] = field(default_factory=list)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answered with a redirect is not delivered: a provider does not follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxies: the sandbox runs next to the app it calls back, and a developer's proxy must not swallow the calls.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def gross_amount_text(amount_idr: int) -> str:
    """Rupiah as Midtrans writes ``gross_amount``: ``16800`` → ``"16800.00"``."""
    return f"{amount_idr}.00"


def midtrans_signature_key(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """``sha512(order_id + status_code + gross_amount + server_key)`` as lowercase hex, as Midtrans signs."""
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The signed scheme's ``X-Signature`` value: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _wib(moment: datetime) -> str:
    return moment.astimezone(WIB).strftime(TIME_FORMAT)


class Sandbox:
    """The sandbox's state (mandates, charges, outbox) and its delivery of notifications; thread-safe."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()  # guards the state below
        self._delivery_lock = threading.Lock()  # one delivery batch at a time, so the seeded draws stay ordered
        self._mandates: dict[str, _Mandate] = {}
        self._charges: dict[str, _Charge] = {}
        self._outbox = _Outbox()
        self._reorder_rng = random.Random(f"{config.seed}:reorder")
        self._delay_rng = random.Random(f"{config.seed}:delay")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- configuration and the background deliverer --------------------------------------------------------

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change the behaviour while running (e.g. fail a mandate created a moment ago); returns the new config."""
        if "auto_deliver" in changes and changes["auto_deliver"] != self.config.auto_deliver:
            raise ValueError("auto_deliver is fixed when the sandbox starts")
        with self._lock:
            self.config = dataclasses.replace(self.config, **changes)
            return self.config

    def start(self) -> None:
        """Start the daemon thread that delivers queued notifications continuously."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._deliver_forever, name="sandbox-deliverer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background deliverer (what is still queued stays queued)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join(timeout=10)

    def _deliver_forever(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(AUTO_DELIVER_POLL_SECONDS)
            self._wake.clear()
            if not self._stopping.is_set():
                self.deliver_all()

    # --- the provider's API --------------------------------------------------------------------------------

    def create_mandate(self, customer_ref: str, account: str, months_per_debit: int) -> dict[str, Any]:
        """Register a mandate: active at once, or awaiting authorisation when the account starts with PENDING."""
        status = "pending_authorisation" if account.startswith("PENDING") else "active"
        mandate = _Mandate(f"SBX-M-{secrets.token_hex(8)}", customer_ref, account, months_per_debit, status)
        with self._lock:
            self._mandates[mandate.mandate_ref] = mandate
        return {"mandate_ref": mandate.mandate_ref, "status": mandate.status}

    def cancel_mandate(self, mandate_ref: str) -> dict[str, Any]:
        """Cancel a mandate (again is fine); later charges on it are refused."""
        with self._lock:
            mandate = self._mandates.get(mandate_ref)
            if mandate is None:
                raise SandboxError(404, f"mandate {mandate_ref} not found")
            mandate.status = "cancelled"
        return {"mandate_ref": mandate_ref, "status": "cancelled"}

    def charge(self, order_id: str, gross_amount: int, mandate_ref: str) -> dict[str, Any]:
        """Accept a charge as pending, decide its outcome, and queue the pending and final notifications."""
        now = self._clock()
        with self._lock:
            if order_id in self._charges:
                raise SandboxError(409, "duplicate order_id", status_code="406")
            mandate = self._mandates.get(mandate_ref)
            if mandate is None:
                raise SandboxError(404, f"mandate {mandate_ref} not found")
            if mandate.status != "active":
                raise SandboxError(409, f"mandate {mandate_ref} is {mandate.status}")
            mandate.charges += 1
            fails = self._fails(mandate, order_id)
            charge = _Charge(
                order_id=order_id,
                transaction_id=str(uuid.uuid4()),
                mandate_ref=mandate_ref,
                gross_amount=gross_amount,
                transaction_status="deny" if fails else "settlement",
                status_message="insufficient_funds" if fails else "Success, transaction is found",
                transaction_time=now,
                settlement_time=None if fails else now,
            )
            self._charges[order_id] = charge
            pending = self._notification(charge, "pending", "Success, pending transaction")
            final = self._notification(charge, charge.transaction_status, charge.status_message)
            self._queue(pending, final)  # together, so one batch holds both and reordering can swap them
        return {
            "status_code": "201",
            "status_message": "Success, auto-debit transaction is created",
            "transaction_status": "pending",
            "transaction_id": charge.transaction_id,
            "order_id": order_id,
            "gross_amount": gross_amount_text(gross_amount),
            "payment_type": "auto_debit",
            "transaction_time": _wib(now),
            "currency": "IDR",
            "merchant_id": "SANDBOX",
        }

    def refund(self, order_id: str) -> dict[str, Any]:
        """Refund a settled charge in full and queue its ``refund`` notification."""
        now = self._clock()
        with self._lock:
            charge = self._charges.get(order_id)
            if charge is None:
                raise SandboxError(404, f"order {order_id} not found")
            if charge.transaction_status != "settlement":
                raise SandboxError(409, f"order {order_id} is {charge.transaction_status}, not settled")
            charge.transaction_status = "refund"
            charge.refund_time = now
            self._queue(self._notification(charge, "refund", "Success, refund is processed"))
        return {
            "status_code": "200",
            "status_message": "Success, refund request is approved",
            "transaction_status": "refund",
            "transaction_id": charge.transaction_id,
            "order_id": order_id,
            "gross_amount": gross_amount_text(charge.gross_amount),
            "refund_amount": gross_amount_text(charge.gross_amount),
        }

    def status(self, order_id: str) -> dict[str, Any]:
        """A charge's current status, like Midtrans's ``GET /v2/<order_id>/status``."""
        with self._lock:
            charge = self._charges.get(order_id)
            if charge is None:
                raise SandboxError(404, f"order {order_id} not found")
            codes = {"settlement": "200", "refund": "200", "deny": "202", "pending": "201"}
            return {
                "status_code": codes.get(charge.transaction_status, "200"),
                "transaction_status": charge.transaction_status,
                "transaction_id": charge.transaction_id,
                "order_id": order_id,
                "gross_amount": gross_amount_text(charge.gross_amount),
            }

    def settlements_csv(self, on: date | None = None) -> str:
        """The settlement report: every charge that settled (refunded ones too), optionally on one WIB day."""
        with self._lock:
            settled = [(c.settlement_time, c) for c in self._charges.values() if c.settlement_time is not None]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["order_id", "transaction_id", "gross_amount", "settlement_time"])
        for settled_at, charge in sorted(settled, key=lambda pair: (pair[0], pair[1].order_id)):
            if on is None or settled_at.astimezone(WIB).date() == on:
                writer.writerow([charge.order_id, charge.transaction_id, charge.gross_amount, _wib(settled_at)])
        return out.getvalue()

    def charges(self) -> list[dict[str, Any]]:
        """Every charge so far, oldest first, with the outcome the sandbox decided for it."""
        with self._lock:
            return [
                {
                    "order_id": c.order_id,
                    "transaction_id": c.transaction_id,
                    "mandate_ref": c.mandate_ref,
                    "gross_amount": c.gross_amount,
                    "transaction_status": c.transaction_status,
                    "status_message": c.status_message,
                    "transaction_time": _wib(c.transaction_time),
                    "settlement_time": _wib(c.settlement_time) if c.settlement_time else None,
                    "refund_time": _wib(c.refund_time) if c.refund_time else None,
                }
                for c in self._charges.values()
            ]

    def mandates(self) -> list[dict[str, Any]]:
        """Every mandate so far, oldest first."""
        with self._lock:
            return [dataclasses.asdict(m) for m in self._mandates.values()]

    # --- the outbox ----------------------------------------------------------------------------------------

    def outbox(self) -> dict[str, int]:
        """How many sends are waiting (or under way), delivered, and given up on."""
        with self._lock:
            return {
                "pending": len(self._outbox.queued) + self._outbox.in_flight,
                "delivered": len(self._outbox.delivered),
                "failed": len(self._outbox.failed),
            }

    def failed_deliveries(self) -> list[dict[str, Any]]:
        """The sends given up on after every retry: what, how often tried, and the last answer or error."""
        with self._lock:
            return [self._describe(n) for n in self._outbox.failed]

    def delivered(self) -> list[dict[str, Any]]:
        """The sends the webhook accepted, in the order they were made."""
        with self._lock:
            return [self._describe(n) for n in self._outbox.delivered]

    def deliver_all(self) -> dict[str, int]:
        """Send everything queued now (shuffled, delayed, retried as configured) and return the outbox counts."""
        with self._delivery_lock:
            with self._lock:
                batch, self._outbox.queued = self._outbox.queued, []
                self._outbox.in_flight += len(batch)
                config = self.config
            if config.reorder:
                self._reorder_rng.shuffle(batch)
            for notification in batch:
                if config.max_delay_ms:
                    time.sleep(self._delay_rng.uniform(0, config.max_delay_ms) / 1000)
                ok = self._send(notification, config)
                with self._lock:
                    self._outbox.in_flight -= 1
                    (self._outbox.delivered if ok else self._outbox.failed).append(notification)
        return self.outbox()

    # --- inside ----------------------------------------------------------------------------------------------

    def _fails(self, mandate: _Mandate, order_id: str) -> bool:
        names = {mandate.mandate_ref, mandate.customer_ref, mandate.account}
        if names & self.config.always_fail_mandates:
            return True
        if names & self.config.fail_mandates and mandate.charges == 1:
            return True
        return random.Random(f"{self.config.seed}:{order_id}").random() < self.config.fail_rate

    def _notification(self, charge: _Charge, transaction_status: str, status_message: str) -> _Notification:
        status_code = STATUS_CODES[transaction_status]
        gross = gross_amount_text(charge.gross_amount)
        payload: dict[str, Any] = {
            "transaction_time": _wib(charge.transaction_time),
            "transaction_status": transaction_status,
            "transaction_id": charge.transaction_id,
            "status_message": status_message,
            "status_code": status_code,
            "payment_type": "auto_debit",
            "order_id": charge.order_id,
            "merchant_id": "SANDBOX",
            "gross_amount": gross,
            "fraud_status": "accept",
            "currency": "IDR",
        }
        if transaction_status in ("settlement", "refund") and charge.settlement_time is not None:
            payload["settlement_time"] = _wib(charge.settlement_time)
        if transaction_status == "refund":
            payload["refund_amount"] = gross
        if self.config.scheme == "midtrans":
            payload["signature_key"] = midtrans_signature_key(
                charge.order_id, status_code, gross, self.config.server_key
            )
        return _Notification(charge.order_id, transaction_status, json.dumps(payload).encode())

    def _queue(self, *notifications: _Notification) -> None:
        """Add to the outbox (the caller holds the lock); a duplicate is a second, separate send."""
        for notification in notifications:
            self._outbox.queued.append(notification)
            if self.config.duplicates:
                self._outbox.queued.append(dataclasses.replace(notification))
        self._wake.set()

    def _send(self, notification: _Notification, config: SandboxConfig) -> bool:
        for attempt in range(DELIVERY_RETRIES + 1):
            if attempt:
                time.sleep(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
            notification.attempts += 1
            headers = {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "iuran-payment-sandbox/1",
                "X-Sandbox": "true",
            }
            if config.scheme == "signed":
                headers["X-Signature"] = signature_header(config.secret, notification.body, int(time.time()))
            outgoing = urllib.request.Request(
                config.webhook_url, data=notification.body, headers=headers, method="POST"
            )
            try:
                with _OPENER.open(outgoing, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
                    notification.http_status, notification.error = response.status, None
                    if 200 <= response.status < 300:
                        return True
            except urllib.error.HTTPError as error:
                notification.http_status, notification.error = error.code, f"HTTP {error.code}"
                error.close()
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
                notification.http_status, notification.error = None, str(getattr(error, "reason", error))
        return False

    @staticmethod
    def _describe(notification: _Notification) -> dict[str, Any]:
        return {
            "order_id": notification.order_id,
            "transaction_status": notification.transaction_status,
            "attempts": notification.attempts,
            "http_status": notification.http_status,
            "error": notification.error,
            "body": notification.body.decode(),
        }


# --- HTTP ------------------------------------------------------------------------------------------------------


def _body(*required: tuple[str, type]) -> dict[str, Any]:
    """The request's JSON object, with the required fields of the right types, or a 400."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise SandboxError(400, "body must be a JSON object")
    for name, kind in required:
        value = payload.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not value):
            raise SandboxError(400, f"{name} must be a {'non-empty string' if kind is str else kind.__name__}")
    return payload


def create_sandbox(config: SandboxConfig, *, clock: Callable[[], datetime] | None = None) -> Flask:
    """The sandbox provider as a Flask app; its state is ``app.extensions["sandbox"]`` (a ``Sandbox``)."""
    app = Flask(__name__)
    sandbox = Sandbox(config, clock)
    app.extensions["sandbox"] = sandbox

    @app.before_request
    def require_server_key() -> Response | tuple[Response, int] | None:
        if request.path == "/":
            return None
        auth = request.authorization
        given = auth.username if auth is not None and auth.type == "basic" else None
        if given is None or not hmac.compare_digest(given.encode(), sandbox.config.server_key.encode()):
            response = jsonify(status_code="401", status_message="Basic auth with the server key as username needed")
            response.headers["WWW-Authenticate"] = 'Basic realm="iuran payment sandbox"'
            return response, 401
        return None

    @app.after_request
    def mark_as_sandbox(response: Response) -> Response:
        response.headers["X-Sandbox"] = "true"
        return response

    @app.errorhandler(SandboxError)
    def refused(error: SandboxError) -> tuple[Response, int]:
        return jsonify(status_code=error.status_code, status_message=error.message), error.http_status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        return jsonify(status_code=str(status), status_message=error.description or error.name), status

    @app.get("/")
    def index() -> dict[str, Any]:
        return {
            "sandbox": True,
            "message": BANNER,
            "scheme": sandbox.config.scheme,
            "endpoints": [
                "POST /v1/mandates",
                "POST /v1/mandates/<ref>/cancel",
                "POST /v2/charge",
                "POST /v1/refunds",
                "GET /v2/<order_id>/status",
                "GET /v1/settlements.csv[?date=YYYY-MM-DD]",
                "GET /v1/_sandbox/outbox",
                "POST /v1/_sandbox/deliver",
            ],
        }

    @app.post("/v1/mandates")
    def create_mandate() -> tuple[dict[str, Any], int]:
        body = _body(("customer_ref", str), ("account", str), ("months_per_debit", int))
        if body["months_per_debit"] < 1:
            raise SandboxError(400, "months_per_debit must be at least 1")
        return sandbox.create_mandate(body["customer_ref"], body["account"], body["months_per_debit"]), 201

    @app.post("/v1/mandates/<mandate_ref>/cancel")
    def cancel_mandate(mandate_ref: str) -> dict[str, Any]:
        return sandbox.cancel_mandate(mandate_ref)

    @app.post("/v2/charge")
    def charge() -> tuple[dict[str, Any], int]:
        body = _body(("order_id", str), ("gross_amount", int), ("mandate_ref", str))
        if body["gross_amount"] < 1:
            raise SandboxError(400, "gross_amount must be a positive number of rupiah")
        return sandbox.charge(body["order_id"], body["gross_amount"], body["mandate_ref"]), 201

    @app.post("/v1/refunds")
    def refund() -> dict[str, Any]:
        return sandbox.refund(_body(("order_id", str))["order_id"])

    @app.get("/v2/<order_id>/status")
    def status(order_id: str) -> dict[str, Any]:
        return sandbox.status(order_id)

    @app.get("/v1/settlements.csv")
    def settlements() -> Response:
        on = None
        if request.args.get("date"):
            try:
                on = date.fromisoformat(request.args["date"])
            except ValueError as error:
                raise SandboxError(400, "date must be YYYY-MM-DD") from error
        return Response(sandbox.settlements_csv(on), mimetype="text/csv")

    @app.get("/v1/_sandbox/outbox")
    def outbox() -> dict[str, int]:
        return sandbox.outbox()

    @app.post("/v1/_sandbox/deliver")
    def deliver() -> dict[str, int]:
        return sandbox.deliver_all()

    if config.auto_deliver:
        sandbox.start()
    return app


# --- command line ----------------------------------------------------------------------------------------------


def config_from_args(argv: Sequence[str] | None = None) -> tuple[str, int, SandboxConfig]:
    """Read the command line: where to listen, and the sandbox's configuration."""
    parser = argparse.ArgumentParser(prog="python -m payments.autodebit.sandbox", description=BANNER)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--webhook-url", required=True, help="where notifications are posted")
    parser.add_argument("--server-key", required=True, help="the Basic auth username API calls must send")
    parser.add_argument("--scheme", choices=SCHEMES, default="midtrans")
    parser.add_argument("--secret", default="", help="HMAC key of the signed scheme")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of charges denied (seeded per order)")
    parser.add_argument(
        "--fail-mandate", action="append", default=[], help="mandate ref, customer ref or account: first charge fails"
    )
    parser.add_argument(
        "--always-fail-mandate", action="append", default=[], help="mandate ref, customer ref or account: always fails"
    )
    parser.add_argument("--duplicates", action="store_true", help="send every notification twice")
    parser.add_argument("--reorder", action="store_true", help="shuffle each delivery batch")
    parser.add_argument("--max-delay-ms", type=int, default=0, help="random delay before each send, up to this")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        config = SandboxConfig(
            webhook_url=args.webhook_url,
            server_key=args.server_key,
            scheme=args.scheme,
            secret=args.secret,
            fail_rate=args.fail_rate,
            fail_mandates=frozenset(args.fail_mandate),
            always_fail_mandates=frozenset(args.always_fail_mandate),
            duplicates=args.duplicates,
            reorder=args.reorder,
            max_delay_ms=args.max_delay_ms,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(str(error))
    return args.host, args.port, config


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the sandbox until interrupted."""
    from werkzeug.serving import run_simple

    host, port, config = config_from_args(argv)
    print(f"{BANNER}\nCalling back {config.webhook_url} ({config.scheme} scheme).", flush=True)
    run_simple(host, port, create_sandbox(config), threaded=True)


if __name__ == "__main__":
    main()
