"""Payment provider adapters behind one small interface: create a mandate, charge, verify and parse a callback.

Two callback schemes: Midtrans's (``signature_key`` in the JSON body) and a generic signed one (an
``X-Signature`` header over the raw body). Both providers speak the Midtrans-shaped JSON for charges and
notifications; ``payments/autodebit/sandbox.py`` is a local provider that speaks both, for the demo and the tests.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from core.words import N_
from payments.autodebit.mandates import EventStatus
from payments.autodebit.signatures import SignatureError, verify_generic, verify_midtrans

HTTP_TIMEOUT_SECONDS = 10
# Orders a member pays himself (payments/selfpay) start with this; auto-debit's callback processing leaves them
# to the self-payment processor, which knows their charges.
SELF_PAYMENT_ORDER_PREFIX = "SP-"
PAYMENT_METHODS = ("bank_transfer", "qris")  # Midtrans Core API payment types a member may pay a charge with
WIB = timezone(timedelta(hours=7), "WIB")  # Midtrans writes its times in Jakarta time

# Midtrans transaction_status → what it means for a debit
_STATUSES = {
    "capture": EventStatus.SETTLED,
    "settlement": EventStatus.SETTLED,
    "pending": EventStatus.PENDING,
    "deny": EventStatus.FAILED,
    "cancel": EventStatus.FAILED,
    "expire": EventStatus.FAILED,
    "failure": EventStatus.FAILED,
    "refund": EventStatus.REFUNDED,
    "partial_refund": EventStatus.REFUNDED,
    "chargeback": EventStatus.REFUNDED,
    "partial_chargeback": EventStatus.REFUNDED,
}


class CallbackError(ValueError):
    """A callback body that cannot be understood (it was signed, but is malformed)."""


@dataclass(frozen=True)
class ProviderEvent:
    """A provider's callback, parsed: what happened to which order, for how much."""

    event_key: str  # unique per transaction and status: a redelivery has the same key
    order_id: str
    status: EventStatus
    provider_status: str
    amount_idr: int
    transaction_id: str
    reason: str | None


@dataclass(frozen=True)
class ChargeResult:
    accepted: bool
    transaction_id: str | None = None
    reason: str | None = None  # why it was refused outright


@dataclass(frozen=True)
class PaymentInstructions:
    """What a member needs to pay a charge: a virtual account (bank and number) or a QRIS string, and until when."""

    accepted: bool
    transaction_id: str | None = None
    va_bank: str | None = None
    va_number: str | None = None
    qr_string: str | None = None
    qr_url: str | None = None  # the provider's image of the QR code (actions: generate-qr-code)
    expires_at: datetime | None = None  # UTC, naive, as the database keeps times
    reason: str | None = None  # why it was refused outright


def payment_charge_body(
    order_id: str, amount_idr: int, payment_type: str, bank: str, expiry_minutes: int, order_time: datetime
) -> dict[str, Any]:
    """A Midtrans Core API charge for a member to pay himself: ``bank_transfer`` (a virtual account at ``bank``) or
    ``qris``, expiring ``expiry_minutes`` after ``order_time`` (UTC) with ``custom_expiry``."""
    if payment_type not in PAYMENT_METHODS:
        raise ValueError(f"payment_type must be one of {', '.join(PAYMENT_METHODS)}, not {payment_type!r}")
    body: dict[str, Any] = {
        "payment_type": payment_type,
        "transaction_details": {"order_id": order_id, "gross_amount": amount_idr},
        "custom_expiry": {
            "order_time": order_time.replace(tzinfo=UTC).astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S +0700"),
            "expiry_duration": expiry_minutes,
            "unit": "minute",
        },
    }
    if payment_type == "bank_transfer":
        body["bank_transfer"] = {"bank": bank}
    else:
        body["qris"] = {"acquirer": "gopay"}
    return body


def _midtrans_time(text: object) -> datetime | None:
    """``"2026-11-22 10:00:00"`` (Jakarta time, as Midtrans writes it) as a naive UTC datetime."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text):
        return None
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=WIB).astimezone(UTC).replace(tzinfo=None)


def payment_instructions(status: int, body: Mapping[str, Any]) -> PaymentInstructions:
    """Read a Midtrans charge response: ``va_numbers`` (bank_transfer), ``qr_string`` and ``actions`` (qris),
    ``expiry_time``; a refusal keeps its ``status_message``."""
    if status >= 300 or str(body.get("status_code", "201")) not in ("200", "201"):
        return PaymentInstructions(False, reason=str(body.get("status_message") or f"http_{status}")[:80])
    va_bank = va_number = None
    numbers = body.get("va_numbers")
    if isinstance(numbers, list) and numbers and isinstance(numbers[0], dict):
        va_bank, va_number = str(numbers[0].get("bank") or ""), str(numbers[0].get("va_number") or "")
    elif body.get("permata_va_number"):
        va_bank, va_number = "permata", str(body["permata_va_number"])
    qr_url = None
    for action in body.get("actions") or []:
        if isinstance(action, dict) and action.get("name") == "generate-qr-code":
            qr_url = str(action.get("url") or "") or None
    qr_string = str(body["qr_string"]) if body.get("qr_string") else None
    if not va_number and not qr_string and not qr_url:
        return PaymentInstructions(False, reason="no virtual account number or QR code in the answer")
    return PaymentInstructions(
        True,
        transaction_id=str(body.get("transaction_id") or "") or None,
        va_bank=va_bank or None,
        va_number=va_number or None,
        qr_string=qr_string,
        qr_url=qr_url,
        expires_at=_midtrans_time(body.get("expiry_time")),
    )


class Provider(Protocol):
    name: str

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> None:
        """Raise SignatureError unless the callback is the provider's and fresh."""

    def parse(self, raw_body: bytes) -> ProviderEvent:
        """Read a verified callback."""

    def create_mandate(self, customer_ref: str, account: str, months_per_debit: int) -> tuple[str, str]:
        """Register a mandate with the provider: its reference and status."""

    def charge(self, order_id: str, amount_idr: int, mandate_ref: str) -> ChargeResult:
        """Ask the provider to debit; the outcome arrives later as a callback."""

    def confirm_status(self, order_id: str) -> EventStatus | None:
        """Ask the provider what an order's status is now, where a callback alone cannot be trusted;
        None when this provider's callbacks are trustworthy as they are (fully signed)."""

    def charge_payment(
        self, order_id: str, amount_idr: int, payment_type: str, bank: str, expiry_minutes: int, now: datetime
    ) -> PaymentInstructions:
        """Open a charge the member pays himself (a virtual account or QRIS); the payment arrives as a callback."""


def parse_midtrans_body(raw_body: bytes) -> ProviderEvent:
    """Read a Midtrans-shaped notification; amounts must be whole rupiah ("16800.00")."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as error:
        raise CallbackError("body is not JSON") from error
    if not isinstance(payload, dict):
        raise CallbackError("body is not a JSON object")
    missing = [k for k in ("order_id", "transaction_status", "gross_amount", "transaction_id") if not payload.get(k)]
    if missing:
        raise CallbackError(f"missing {', '.join(missing)}")
    provider_status = str(payload["transaction_status"])
    if provider_status not in _STATUSES:
        raise CallbackError(f"unknown transaction_status {provider_status!r}")
    # The signature covers status_code, not transaction_status: a settlement must carry the 200 it was signed with,
    # or a signed pending notification (201) with its status edited would book money nobody paid.
    if provider_status in ("settlement", "capture") and str(payload.get("status_code")) != "200":
        raise CallbackError(f"{provider_status} with status_code {payload.get('status_code')!r}, not 200")
    gross = str(payload["gross_amount"])
    whole, _, cents = gross.partition(".")
    if not whole.isdecimal() or cents.strip("0"):
        raise CallbackError(f"gross_amount {gross!r} is not whole rupiah")
    status = _STATUSES[provider_status]
    reason = None
    if status == EventStatus.FAILED:
        reason = "expire" if provider_status == "expire" else str(payload.get("status_message") or provider_status)
    return ProviderEvent(
        event_key=f"{payload['transaction_id']}:{provider_status}",
        order_id=str(payload["order_id"]),
        status=status,
        provider_status=provider_status,
        amount_idr=int(whole),
        transaction_id=str(payload["transaction_id"]),
        reason=reason[:80] if reason else None,
    )


class _HttpProvider:
    """Shared HTTP client: Basic auth with the server key, JSON in and out."""

    name: str
    base_url: str
    api_key: str

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = base64.b64encode(f"{self.api_key}:".encode()).decode()
        request = urllib.request.Request(
            self.base_url.rstrip("/") + path,
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Basic {token}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read() or b"{}")
            except ValueError:
                return error.code, {}

    def create_mandate(self, customer_ref: str, account: str, months_per_debit: int) -> tuple[str, str]:
        status, body = self._post(
            "/v1/mandates", {"customer_ref": customer_ref, "account": account, "months_per_debit": months_per_debit}
        )
        if status >= 300 or "mandate_ref" not in body:
            raise CallbackError(  # worded for the agent by services.create_mandate (core/i18n.py stored_text)
                N_("%(provider)s refused the mandate: HTTP %(status)s %(message)s")
                % {"provider": self.name, "status": status, "message": body.get("status_message", "")}
            )
        return str(body["mandate_ref"]), str(body.get("status", "active"))

    def charge(self, order_id: str, amount_idr: int, mandate_ref: str) -> ChargeResult:
        try:
            status, body = self._post(
                "/v2/charge", {"order_id": order_id, "gross_amount": amount_idr, "mandate_ref": mandate_ref}
            )
        except (urllib.error.URLError, TimeoutError, OSError):
            return ChargeResult(False, reason="provider_timeout")
        message = str(body.get("status_message", "")).lower()
        if status == 409 and "order" in message:
            return ChargeResult(True)  # we sent this order before (a crash between sending and recording): it stands
        if status in (404, 409) and "mandate" in message:
            return ChargeResult(False, reason="mandate_unknown")
        if status >= 300:
            return ChargeResult(False, reason=str(body.get("status_message") or f"http_{status}")[:80])
        return ChargeResult(True, transaction_id=body.get("transaction_id"))

    def charge_payment(
        self, order_id: str, amount_idr: int, payment_type: str, bank: str, expiry_minutes: int, now: datetime
    ) -> PaymentInstructions:
        body = payment_charge_body(order_id, amount_idr, payment_type, bank, expiry_minutes, now)
        try:
            status, answer = self._post("/v2/charge", body)
        except (urllib.error.URLError, TimeoutError, OSError):
            return PaymentInstructions(False, reason="provider_timeout")
        return payment_instructions(status, answer)

    def parse(self, raw_body: bytes) -> ProviderEvent:
        return parse_midtrans_body(raw_body)

    def confirm_status(self, order_id: str) -> EventStatus | None:
        return None

    def _get(self, path: str) -> tuple[int, dict[str, Any]]:
        token = base64.b64encode(f"{self.api_key}:".encode()).decode()
        request = urllib.request.Request(
            self.base_url.rstrip("/") + path,
            headers={"Accept": "application/json", "Authorization": f"Basic {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {}


class MidtransProvider(_HttpProvider):
    """Midtrans-compatible: notifications carry ``signature_key`` in the body."""

    def __init__(self, name: str, base_url: str, server_keys: Sequence[str]) -> None:
        self.name, self.base_url, self.api_key = name, base_url, server_keys[0]
        self.server_keys = list(server_keys)

    def confirm_status(self, order_id: str) -> EventStatus | None:
        """Midtrans signs order_id, status_code and gross_amount but not transaction_status, and a refund
        shares status code 200 with a settlement: so a refund is confirmed with ``GET /v2/<order>/status``
        before any payment is reversed. Raises CallbackError when the provider cannot be asked."""
        try:
            status, body = self._get(f"/v2/{urllib.parse.quote(order_id, safe='')}/status")
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise CallbackError(f"could not ask {self.name} for the status of {order_id}: {error}") from error
        if status >= 300 or body.get("transaction_status") not in _STATUSES:
            raise CallbackError(f"{self.name} gave no status for {order_id} (HTTP {status})")
        return _STATUSES[str(body["transaction_status"])]

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> None:
        try:
            payload = json.loads(raw_body)
        except (ValueError, UnicodeDecodeError) as error:
            raise SignatureError("body is not JSON, so it cannot carry a signature") from error
        if not isinstance(payload, dict):
            raise SignatureError("body is not a JSON object")
        verify_midtrans(payload, self.server_keys)


class SignedProvider(_HttpProvider):
    """Any provider using the generic ``X-Signature: t=…,v1=…`` header (two secrets during rotation)."""

    def __init__(self, name: str, base_url: str, api_key: str, secrets: Sequence[str]) -> None:
        self.name, self.base_url, self.api_key = name, base_url, api_key
        self.secrets = [s for s in secrets if s]

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> None:
        verify_generic(headers.get("X-Signature"), raw_body, self.secrets, int(now.replace(tzinfo=UTC).timestamp()))


def build_provider(name: str, config: Mapping[str, Any]) -> Provider:
    """A provider from its settings (``PAYMENT_PROVIDERS[name]``)."""
    if config["scheme"] == "midtrans":
        return MidtransProvider(name, config["base_url"], config["server_keys"])
    if config["scheme"] == "signed":
        return SignedProvider(name, config["base_url"], config["api_key"], config["secrets"])
    raise ValueError(f"unknown scheme {config['scheme']!r} for provider {name}")


def configured_providers(config: Mapping[str, Any]) -> dict[str, Provider]:
    """Every provider of the app's ``PAYMENT_PROVIDERS`` setting, by name."""
    return {name: build_provider(name, settings) for name, settings in config["PAYMENT_PROVIDERS"].items()}
