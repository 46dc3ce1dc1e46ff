"""Input every route must refuse before it reaches a rule or the database, in one place.

A body that Python's JSON parser chokes on (a 5,000-digit number, arrays nested 100,000 deep), text that
no database can store (NUL, an unpaired surrogate), ids beyond a 32-bit column: each is a clear 400 or
404 here, never a 500 further in.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request

from core.errors import DomainError, NotFound

MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL
MAX_BODY_BYTES = 1024 * 1024  # an enrolment form is a few hundred bytes
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a settlement CSV or a bank statement (multipart) is a few MB at most


class BadRequest(DomainError):
    status = 400
    name = "Bad Request"


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate
        return True
    return False


def _walk(value: Any) -> bool:
    if isinstance(value, str):
        return _unstorable(value)
    if isinstance(value, dict):
        return any(_unstorable(str(k)) or _walk(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_walk(v) for v in value)
    return False


def check_request() -> None:
    """Refuse what cannot be parsed or stored: 400 with the reason, 404 for an id out of range."""
    if (
        request.content_length
        and request.content_length > MAX_BODY_BYTES
        and not request.path.startswith("/api/v1/settlements/")
        and request.mimetype != "multipart/form-data"
    ):
        raise DomainError("The body is larger than 1 MB.", errors={"body": ["at most 1 MB"]})
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            raise NotFound(f"There is no such {name}.", errors={"path": {name: ["out of range"]}})
    bad = [k for k, v in request.args.items(multi=True) if _unstorable(k) or _unstorable(v)]
    if _unstorable(request.path):
        bad.append("path")
    if request.form and any(_unstorable(v) for v in request.form.values()):
        bad.append("form")
    if bad:
        raise BadRequest("The request has characters that cannot be stored (NUL or an unpaired surrogate).")
    if request.is_json and request.method in ("POST", "PUT", "PATCH"):
        raw = request.get_data(cache=True)
        if not raw:
            return
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError, UnicodeDecodeError) as error:
            message = "The body is not valid JSON: send one JSON object with Content-Type: application/json."
            raise BadRequest(message, errors={"json": {"_body": [str(error)[:200]]}}) from error
        if _walk(data):
            raise BadRequest("The body has characters that cannot be stored (NUL or an unpaired surrogate).")


def install(app: Flask) -> None:
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_UPLOAD_BYTES)
    app.before_request(check_request)
