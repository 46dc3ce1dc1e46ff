"""The Idempotency-Key header: read, checked and documented once for every route that can arrive twice."""

from __future__ import annotations

import re

from flask import request
from flask_babel import gettext

from core.errors import DomainError

_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,80}$")


IDEMPOTENCY_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": True,
            "schema": {"type": "string", "pattern": _KEY.pattern},
            "description": "Made once per form (a UUID) and sent again unchanged on every retry",
        }
    ]
}


def idempotency_key() -> str:
    """The request's Idempotency-Key header, or a 422 that says how to send one."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not _KEY.match(key):
        message = gettext(
            "Send an Idempotency-Key header: 8 to 80 letters, digits, '-', '_', '.' or ':' (a UUID is best)."
        )
        raise DomainError(message, errors={"headers": {"Idempotency-Key": [message]}})
    return key
