"""Pay links: a short signed token in a member's reminder or arrears text that opens the payment of exactly the
months the text is about, for seven days, without the one-time code. Pure: no database.

The token is 21 bytes in base64url (28 characters): the member's id, the first month, how many months, the minute it
was issued, and the first 10 bytes (80 bits) of an HMAC-SHA256 of those and of a digest of the phone the text went
to, with the app's secret key. The phone is signed, not carried: the token is no longer, and a link sent to a number
the member no longer has stops working as soon as his phone on record changes. It is not stored: the texts that
carry it are written in bulk by the nightly reconciliation, and the outbox keeps the text (the link with it) anyway,
so a stored, hashed copy would hide nothing. A link stops working when its 7 days are over, when the member's phone
changes, when he owes nothing, or when the secret key changes (payments/selfpay/links.py checks each on opening).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.months import Month

LINK_LIFETIME = timedelta(days=7)
LINK_PATH = "/peserta/b/"  # PUBLIC_BASE_URL + LINK_PATH + token
_EPOCH = datetime(2020, 1, 1)
_LAYOUT = struct.Struct(">IHBI")  # member id, month index since 2000-01, months, minutes since _EPOCH
_MAC_BYTES = 10
_PURPOSE = b"iuran-paylink-v1:"
TOKEN_LENGTH = 28  # base64url of 21 bytes, no padding
_MONTH_BASE = Month(2000, 1).index
_MAX_MEMBER_ID = 2**31 - 1  # members.id is a 32-bit integer: a larger one is looked up nowhere


@dataclass(frozen=True)
class PayLink:
    """What a valid token names: a member, his months from ``first_month``, and when it was issued."""

    member_id: int
    first_month: Month
    months: int
    issued_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + LINK_LIFETIME

    @property
    def covered(self) -> tuple[Month, ...]:
        return tuple(self.first_month + k for k in range(self.months))


def _mac(secret: str, payload: bytes, phone: str | None) -> bytes:
    """The signature of the payload and of the phone on record (a member with none signs an empty one)."""
    phone_digest = hashlib.sha256((phone or "").encode()).digest()
    return hmac.new(secret.encode(), _PURPOSE + payload + phone_digest, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(
    secret: str, member_id: int, first_month: Month, months: int, now: datetime, *, phone: str | None
) -> str:
    """The token for ``months`` months of a member from ``first_month``, issued ``now`` (naive UTC), for the text
    to ``phone`` (the member's phone on record)."""
    minutes = int((now - _EPOCH).total_seconds() // 60)
    payload = _LAYOUT.pack(member_id, first_month.index - _MONTH_BASE, months, minutes)
    return base64.urlsafe_b64encode(payload + _mac(secret, payload, phone)).decode().rstrip("=")


def _split(token: str) -> tuple[bytes, bytes] | None:
    if len(token) != TOKEN_LENGTH or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _LAYOUT.size + _MAC_BYTES:
        return None
    return raw[: _LAYOUT.size], raw[_LAYOUT.size :]


def token_member(token: str) -> int | None:
    """The member id a well-formed token names, NOT yet verified: whose phone to check it with (:func:`read_token`)."""
    parts = _split(token)
    if parts is None:
        return None
    member_id: int = _LAYOUT.unpack(parts[0])[0]
    return member_id if 0 < member_id <= _MAX_MEMBER_ID else None  # an id the database's integer can hold


def read_token(secret: str, token: str, phone: str | None) -> PayLink | None:
    """The link a token names if its signature is ours for this phone, the member's on record (expiry is the
    caller's: :func:`link_live`); else None."""
    parts = _split(token)
    if parts is None:
        return None
    payload, mac = parts
    if not hmac.compare_digest(mac, _mac(secret, payload, phone)):
        return None
    member_id, month_index, months, minutes = _LAYOUT.unpack(payload)
    if member_id == 0 or months == 0:
        return None
    try:  # only our own signature gets here: a month out of range would be our bug, still no 500
        first = Month.from_index(_MONTH_BASE + month_index)
    except ValueError:
        return None
    return PayLink(member_id, first, months, _EPOCH + timedelta(minutes=minutes))


def link_live(link: PayLink, now: datetime) -> bool:
    """Whether the link may still be used: issued no later than now (a clock set back) and not older than 7 days."""
    return link.issued_at <= now + timedelta(minutes=1) and now < link.expires_at


def pay_link(
    public_base_url: str, secret: str, member_id: int, first_month: Month, months: int, now: datetime, phone: str | None
) -> str:
    """The whole address a text to ``phone`` carries."""
    token = make_token(secret, member_id, first_month, months, now, phone=phone)
    return f"{public_base_url.rstrip('/')}{LINK_PATH}{token}"


def masked_name(name: str) -> str:
    """``Suyanto Hadi`` → ``Su*** Ha***``: enough for a member to know it is his, too little to learn a stranger's."""
    return " ".join(f"{word[:2]}***" for word in name.split()) or "***"


@dataclass(frozen=True)
class LinkSigner:
    """What a writer of texts needs to add pay links: the app's secret key and the members' address."""

    secret: str
    public_base_url: str

    def link(self, member_id: int, first_month: Month, months: int, now: datetime, *, phone: str | None) -> str:
        """The link of a text to ``phone``, the member's phone on record: it works while that stays his phone."""
        return pay_link(self.public_base_url, self.secret, member_id, first_month, months, now, phone)


def signer_of(config: Mapping[str, Any]) -> LinkSigner:
    """The signer of an app's config (SECRET_KEY, PUBLIC_BASE_URL)."""
    return LinkSigner(str(config["SECRET_KEY"]), str(config["PUBLIC_BASE_URL"]))
