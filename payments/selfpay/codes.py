"""The one-time code's rules: six digits, five minutes, a few tries, kept only as a keyed digest. Pure."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
CODE_TRIES = 5  # wrong codes per code; then it is spent and the member asks for a new one
SESSION_LIFETIME = timedelta(minutes=30)
# Fixed windows (core/ratelimit.py), counted alike whether or not the KPJ or NIK exists
CODES_PER_ADDRESS = (10, 3600)  # codes asked for from one client address per hour
CODES_PER_IDENTIFIER = (3, 900)  # codes asked for one KPJ or NIK per 15 minutes
TRIES_PER_ADDRESS = (30, 3600)  # codes typed from one address per hour
TRIES_PER_IDENTIFIER = (10, 3600)  # codes typed for one KPJ or NIK per hour, over all its codes, a stranger's too


def new_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """Six random digits from the OS's CSPRNG."""
    return f"{randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    """A random token for a browser to hold (a challenge, a session)."""
    return secrets.token_urlsafe(32)


def digest(secret: str, purpose: str, value: str) -> str:
    """A keyed SHA-256 of ``value`` for one ``purpose``: what the database keeps instead of a code or a token."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def identifier_kind(text: str) -> str | None:
    """``kpj`` (11 digits), ``nik`` (16 digits) or None for anything else (spaces and dots ignored)."""
    digits = "".join(ch for ch in text if ch not in " .-")
    if not digits.isascii() or not digits.isdigit():
        return None
    return {11: "kpj", 16: "nik"}.get(len(digits))


def clean_identifier(text: str) -> str:
    return "".join(ch for ch in text if ch not in " .-")


def code_usable(expires_at: datetime, used_at: datetime | None, attempts: int, now: datetime) -> bool:
    """Whether a code may still be tried: not used, not expired, tries left."""
    return used_at is None and now < expires_at and attempts < CODE_TRIES


def code_text(code: str) -> str:
    """The text the member gets (Bahasa Indonesia, like every text to members)."""
    return (
        f"BPJS Ketenagakerjaan: kode masuk halaman peserta Anda {code}, berlaku 5 menit. "
        "Jangan berikan kode ini kepada siapa pun, termasuk petugas."
    )


def parse_birth_date(text: str) -> date | None:
    """``YYYY-MM-DD`` (an <input type=date>) or ``DD-MM-YYYY`` / ``DD/MM/YYYY`` as members write it."""
    text = text.strip()
    for order in ((0, 1, 2), (2, 1, 0)):
        parts = text.replace("/", "-").split("-")
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
            return None
        year, month, day = (int(parts[i]) for i in order)
        if year < 1900:
            continue
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None
