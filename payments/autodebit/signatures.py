"""Webhook signatures: Midtrans's SHA-512 notification key, and a generic timestamped HMAC-SHA256 header."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

GENERIC_TOLERANCE_SECONDS = 300  # a signed event older (or further ahead) than this is refused as stale


class SignatureError(ValueError):
    """A callback that did not come from the provider, or came too late to trust."""


def midtrans_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """``sha512(order_id + status_code + gross_amount + server_key)`` as lowercase hex, as Midtrans signs."""
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def verify_midtrans(payload: dict[str, object], server_keys: Sequence[str]) -> None:
    """Check a Midtrans notification's ``signature_key`` against any of our server keys (two during rotation)."""
    fields = [payload.get(name) for name in ("order_id", "status_code", "gross_amount", "signature_key")]
    if not all(isinstance(value, str) and value for value in fields):
        raise SignatureError("notification lacks order_id, status_code, gross_amount or signature_key")
    order_id, status_code, gross_amount, signature = (str(value) for value in fields)
    for key in server_keys:
        expected = midtrans_signature(order_id, status_code, gross_amount, key)
        if hmac.compare_digest(expected, signature.lower()):
            return
    raise SignatureError("signature_key does not match")


def sign_generic(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Signature`` header value for a body: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_generic(header: str | None, body: bytes, secrets: Sequence[str], now: int) -> None:
    """Check an ``X-Signature`` header against the raw body, with any of the current secrets (rotation)."""
    if not header:
        raise SignatureError("X-Signature header is missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError) as error:
        raise SignatureError("X-Signature has no valid t=<unix seconds>") from error
    if abs(now - timestamp) > GENERIC_TOLERANCE_SECONDS:
        raise SignatureError(f"X-Signature timestamp is {now - timestamp} s off; at most {GENERIC_TOLERANCE_SECONDS}")
    signed = f"{timestamp}.".encode() + body
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
            return
    raise SignatureError("X-Signature v1 does not match")
