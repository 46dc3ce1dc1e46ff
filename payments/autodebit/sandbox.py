"""SANDBOX payment provider: a local stand-in that takes mandates and charges and calls our webhook back, unreliably.
It also opens the virtual accounts and QRIS codes members pay themselves (payments/selfpay), and calls back when told
they were paid (``POST /v1/_sandbox/pay/<order>``) or expired (``POST /v1/_sandbox/expire/<order>``).

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
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from payments.autodebit.sandbox_records import (
    _OPENER,
    AUTO_DELIVER_POLL_SECONDS,
    BANNER,
    DELIVERY_RETRIES,
    DELIVERY_TIMEOUT_SECONDS,
    PAYMENT_TYPES,
    RETRY_BACKOFF_SECONDS,
    SCHEMES,
    STATUS_CODES,
    VA_BANKS,
    WIB,
    SandboxConfig,
    SandboxError,
    _Charge,
    _Mandate,
    _Notification,
    _Outbox,
    _qris_string,
    _wib,
    gross_amount_text,
    midtrans_signature_key,
    signature_header,
)


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

    def charge_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        """Open a charge a member pays himself, as Midtrans's Core API: ``bank_transfer`` answers a virtual account
        (``va_numbers``), ``qris`` a QR string and its image's address (``actions``); both ``pending`` until
        ``pay`` (the member paid) or ``expire`` (the deadline passed), each of which queues its notification."""
        details = body.get("transaction_details")
        if not isinstance(details, dict):
            raise SandboxError(400, "transaction_details must be an object")
        order_id, gross = details.get("order_id"), details.get("gross_amount")
        if not isinstance(order_id, str) or not order_id:
            raise SandboxError(400, "transaction_details.order_id must be a non-empty string")
        if not isinstance(gross, int) or isinstance(gross, bool) or gross < 1:
            raise SandboxError(400, "transaction_details.gross_amount must be a positive number of rupiah")
        payment_type = body["payment_type"]
        bank = None
        if payment_type == "bank_transfer":
            bank = (body.get("bank_transfer") or {}).get("bank")
            if bank not in VA_BANKS:
                raise SandboxError(400, f"bank_transfer.bank must be one of {', '.join(VA_BANKS)}")
        expiry = body.get("custom_expiry") or {}
        minutes = expiry.get("expiry_duration", 24 * 60)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1:
            raise SandboxError(400, "custom_expiry.expiry_duration must be a positive whole number")
        now = self._clock()
        with self._lock:
            if order_id in self._charges:
                raise SandboxError(409, "duplicate order_id", status_code="406")
            charge = _Charge(
                order_id=order_id,
                transaction_id=str(uuid.uuid4()),
                mandate_ref="",
                gross_amount=gross,
                transaction_status="pending",
                status_message="Success, pending transaction",
                transaction_time=now,
                payment_type=payment_type,
                expiry_time=now + timedelta(minutes=minutes),
                va_bank=bank,
                va_number=f"8{random.Random(order_id).randrange(10**15):015d}" if bank else None,
            )
            self._charges[order_id] = charge
            self._queue(self._notification(charge, "pending", "Success, pending transaction"))
        answer: dict[str, Any] = {
            "status_code": "201",
            "status_message": f"Success, {payment_type} transaction is created",
            "transaction_id": charge.transaction_id,
            "order_id": order_id,
            "merchant_id": "SANDBOX",
            "gross_amount": gross_amount_text(gross),
            "currency": "IDR",
            "payment_type": payment_type,
            "transaction_time": _wib(now),
            "transaction_status": "pending",
            "fraud_status": "accept",
            "expiry_time": _wib(charge.expiry_time or now),
        }
        if bank:
            answer["va_numbers"] = [{"bank": bank, "va_number": charge.va_number}]
        else:
            answer["actions"] = [
                {"name": "generate-qr-code", "method": "GET", "url": f"/v2/qris/{charge.transaction_id}/qr-code"}
            ]
            answer["qr_string"] = _qris_string(order_id, gross)
            answer["acquirer"] = "gopay"
        return answer

    def pay(self, order_id: str, late: bool = False) -> dict[str, Any]:
        """The member pays a pending charge (he transfers to the VA, or scans the QR): its ``settlement`` is queued.
        Past its deadline the charge cannot be paid, unless ``late`` (a bank's late transfer, for the tests)."""
        now = self._clock()
        with self._lock:
            charge = self._payable(order_id)
            if charge.transaction_status != "pending" and not (late and charge.transaction_status == "expire"):
                raise SandboxError(409, f"order {order_id} is {charge.transaction_status}, not pending")
            if charge.expiry_time is not None and now > charge.expiry_time and not late:
                raise SandboxError(409, f"order {order_id} expired at {_wib(charge.expiry_time)}")
            charge.transaction_status = "settlement"
            charge.status_message = "Success, transaction is found"
            charge.settlement_time = now
            self._queue(self._notification(charge, "settlement", charge.status_message))
        return {"order_id": order_id, "transaction_status": "settlement"}

    def expire(self, order_id: str) -> dict[str, Any]:
        """The deadline of a pending charge passes unpaid: its ``expire`` notification is queued."""
        with self._lock:
            charge = self._payable(order_id)
            if charge.transaction_status != "pending":
                raise SandboxError(409, f"order {order_id} is {charge.transaction_status}, not pending")
            charge.transaction_status = "expire"
            charge.status_message = "Success, transaction is expired"
            self._queue(self._notification(charge, "expire", charge.status_message))
        return {"order_id": order_id, "transaction_status": "expire"}

    def _payable(self, order_id: str) -> _Charge:
        charge = self._charges.get(order_id)
        if charge is None or charge.payment_type not in PAYMENT_TYPES:
            raise SandboxError(404, f"no virtual account or QRIS order {order_id}")
        return charge

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
            "payment_type": charge.payment_type,
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
        if charge.va_number:
            payload["va_numbers"] = [{"bank": charge.va_bank, "va_number": charge.va_number}]
        if charge.payment_type == "qris":
            payload["acquirer"] = "gopay"
        if charge.expiry_time is not None:
            payload["expiry_time"] = _wib(charge.expiry_time)
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
                "POST /v1/_sandbox/pay/<order_id>",
                "POST /v1/_sandbox/expire/<order_id>",
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
        payload = request.get_json(silent=True)
        if isinstance(payload, dict) and payload.get("payment_type") in PAYMENT_TYPES:
            return sandbox.charge_payment(payload), 201
        body = _body(("order_id", str), ("gross_amount", int), ("mandate_ref", str))
        if body["gross_amount"] < 1:
            raise SandboxError(400, "gross_amount must be a positive number of rupiah")
        return sandbox.charge(body["order_id"], body["gross_amount"], body["mandate_ref"]), 201

    @app.post("/v1/_sandbox/pay/<order_id>")
    def pay(order_id: str) -> dict[str, Any]:
        return sandbox.pay(order_id, late=request.args.get("late") == "1")

    @app.post("/v1/_sandbox/expire/<order_id>")
    def expire(order_id: str) -> dict[str, Any]:
        return sandbox.expire(order_id)

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
