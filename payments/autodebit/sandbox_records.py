"""The SANDBOX provider's settings, records and wire formats (its times, amounts, signatures, QRIS strings):
what payments/autodebit/sandbox.py keeps and sends. Like the sandbox, it imports nothing from iuran."""

from __future__ import annotations

import hashlib
import hmac
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

WIB = timezone(timedelta(hours=7), "WIB")  # Midtrans reports times in Jakarta time
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SCHEMES = ("midtrans", "signed")
STATUS_CODES = {"pending": "201", "settlement": "200", "deny": "202", "refund": "200", "expire": "407"}
PAYMENT_TYPES = ("bank_transfer", "qris")  # charges a member pays himself: they wait for him (or expire)
VA_BANKS = ("bni", "bri", "bca", "permata", "cimb")
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
    payment_type: str = "auto_debit"
    expiry_time: datetime | None = None  # a member's charge: unpaid by then, it expires
    va_bank: str | None = None
    va_number: str | None = None


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


def _qris_string(order_id: str, amount_idr: int) -> str:
    """A QRIS-shaped payload (EMV tags, not a real merchant's) naming the order and the amount."""
    amount = str(amount_idr)
    reference = order_id[:25]
    return (
        "000201010212"
        + "26300016ID.CO.SANDBOX.WWW0118SANDBOX000000000001"
        + f"5204839853033605{len(amount):02d}{amount}5802ID5912IURAN SANDBX6011PANGKALPINA"
        + f"62{len(reference) + 4:02d}01{len(reference):02d}{reference}6304SBOX"
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answered with a redirect is not delivered: a provider does not follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxies: the sandbox runs next to the app it calls back, and a developer's proxy must not swallow the calls.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
