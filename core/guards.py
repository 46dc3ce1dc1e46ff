"""Input every route must refuse before it reaches a rule or the database, in one place.

A body that Python's JSON parser chokes on (a 5,000-digit number, arrays nested 100,000 deep), text that
no database can store (NUL, an unpaired surrogate), ids beyond a 32-bit column: each is a clear 400 or
404 here, never a 500 further in.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from core.errors import DomainError, NotFound

MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL
MAX_BODY_BYTES = 1024 * 1024  # an enrolment form is a few hundred bytes
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a settlement CSV or a bank statement (multipart) is a few MB at most
MAX_WEBHOOK_BYTES = 64 * 1024  # a provider's callback is a few hundred bytes


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


class PayloadTooLarge(DomainError):
    status = 413
    name = "Request Entity Too Large"


# The routes that take a file (a settlement report, a bank statement, a sponsor's list, the national system's
# members and their agents, coverage targets):
# only these get MAX_UPLOAD_BYTES, whatever content type any other request says it has.
UPLOAD_RULES = frozenset(
    {
        "/api/v1/settlements/<string:provider_name>",
        "/api/v1/branches/<int:branch_id>/statements",
        "/api/v1/sponsor-programmes/<int:programme_id>/imports",
        "/api/v1/branches/<int:branch_id>/national-imports",
        "/api/v1/branches/<int:branch_id>/member-agents",
        "/keuangan/mutasi/unggah",
        "/keuangan/cakupan/target",
    }
)


def body_limit() -> int:
    """How many bytes of body this request may send: a callback, a form or JSON, or an uploaded file."""
    if request.path.startswith("/webhooks/"):
        return MAX_WEBHOOK_BYTES
    if request.url_rule is not None and request.url_rule.rule in UPLOAD_RULES:
        return MAX_UPLOAD_BYTES
    return MAX_BODY_BYTES


def _too_large(limit: int) -> PayloadTooLarge:
    if limit < 1024 * 1024:
        text = gettext("at most %(size)s KB", size=limit // 1024)
    else:
        text = gettext("at most %(size)s MB", size=limit // (1024 * 1024))
    return PayloadTooLarge(gettext("The body is too large: %(limit)s.", limit=text), errors={"body": [text]})


def check_request() -> None:
    """Refuse what cannot be parsed or stored: 400 with the reason, 404 for an id out of range.

    The body limit holds for what is read, not what ``Content-Length`` claims: a chunked body has none, and
    werkzeug stops reading it at ``request.max_content_length`` (413) before anything parses it.
    """
    limit = body_limit()
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    if request.content_length is None and request.method in ("POST", "PUT", "PATCH"):
        # A chunked body: read it once, up to the limit (cached for the view and the form parser), then try
        # one byte more. Werkzeug would otherwise cut it at the limit silently and parse what it got.
        request.get_data(cache=True)
        try:
            request.stream.read(1)
        except RequestEntityTooLarge:
            raise _too_large(limit) from None
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            raise NotFound(
                gettext("There is no such %(name)s.", name=name), errors={"path": {name: [gettext("out of range")]}}
            )
    bad = [k for k, v in request.args.items(multi=True) if _unstorable(k) or _unstorable(v)]
    if _unstorable(request.path):
        bad.append("path")
    if request.form and any(_unstorable(v) for v in request.form.values()):
        bad.append("form")
    if bad:
        raise BadRequest(gettext("The request has characters that cannot be stored (NUL or an unpaired surrogate)."))
    if request.is_json and request.method in ("POST", "PUT", "PATCH"):
        raw = request.get_data(cache=True)
        if not raw:
            return
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError, UnicodeDecodeError) as error:
            message = gettext("The body is not valid JSON: send one JSON object with Content-Type: application/json.")
            raise BadRequest(message, errors={"json": {"_body": [str(error)[:200]]}}) from error
        if _walk(data):
            raise BadRequest(gettext("The body has characters that cannot be stored (NUL or an unpaired surrogate)."))


# Every page's scripts and styles are files of this site (no inline script or style, no CDN; the API docs page is
# started by a file too, core/docs.py), so one strict policy holds everywhere. No page may be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# HTTPS only, for a year, subdomains too: sent only on an answer that came over HTTPS (request.is_secure, which
# believes a proxy's X-Forwarded-Proto only when PROXY_COUNT says there is one), never over plain HTTP.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def add_security_headers(response: Response) -> Response:
    """No framing, no content sniffing, no referrer to other sites, a content policy on every answer, and HSTS
    on the answers sent over HTTPS."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def install(app: Flask) -> None:
    # Flask's default config holds MAX_CONTENT_LENGTH = None, so setdefault would keep "no limit".
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    app.before_request(check_request)
    app.after_request(add_security_headers)
