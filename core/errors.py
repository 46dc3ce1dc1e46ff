"""One error envelope for the whole API: ``{code, status, message, errors}``; the web apps' errors as pages.

An app of pages (the finance desk at /keuangan, the agents' app at /agen, the admin desk at /admin) registers a
renderer for its path prefix (:func:`register_error_page`): an error under that prefix (a 404 from routing, a 405,
a refusal or a bug that escaped a page) is then that app's page, in the reader's language, with the same status.
A request that asks for JSON (``Accept: application/json``) still gets the envelope.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, has_request_context, jsonify, request
from flask.sansio.app import App
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from marshmallow import Schema, fields
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from core.extensions import db


class DomainError(Exception):
    """A request that the rules refuse; carries the HTTP status and, where it applies, field messages."""

    status = 422
    name = "Unprocessable Entity"

    def __init__(
        self, message: str, errors: dict[str, Any] | None = None, retry_after: int | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.retry_after = retry_after  # seconds, sent as Retry-After (a 429 or 503)
        self.extra = extra


class NotFound(DomainError):
    status = 404
    name = "Not Found"


class Conflict(DomainError):
    status = 409
    name = "Conflict"


class Forbidden(DomainError):
    status = 403
    name = "Forbidden"


class TooManyRequests(DomainError):
    status = 429
    name = "Too Many Requests"


class ServiceUnavailable(DomainError):
    """A part the request needs is away (the job queue, say): nothing was lost; send it again in a while."""

    status = 503
    name = "Service Unavailable"

    def __init__(self, message: str, retry_after: int = 30, **extra: Any) -> None:
        super().__init__(message, retry_after=retry_after, **extra)


class Unauthorized(DomainError):
    status = 401
    name = "Unauthorized"


def invalid_fields() -> str:
    """The message of a 422 whose fields each say what is wrong."""
    return gettext("The request has invalid fields: see errors for each field and how to fix it.")


# marshmallow's own messages for a value of the wrong type say what is wrong, not how to write it right: the same
# fields, bodies and query arguments alike, get these instead (whole sentences, one place, for translation).
PLAIN_FIELD_MESSAGES = {
    "Not a valid integer.": lazy_gettext(
        "Not a whole number: write digits only (in JSON, a number without quotes), e.g. 12."
    ),
    "Not a valid number.": lazy_gettext("Not a number: write digits (in JSON, a number without quotes), e.g. 12."),
    "Not a valid date.": lazy_gettext("Not a date: write it as YYYY-MM-DD, e.g. 2026-11-22."),
    "Not a valid datetime.": lazy_gettext("Not a date and time: write it as ISO 8601, e.g. 2026-11-22T10:30:00+07:00."),
    "Not a valid boolean.": lazy_gettext("Not true or false: write true or false."),
    "Not a valid string.": lazy_gettext("Not text: write it between quotes."),
    "Field may not be null.": lazy_gettext("It may not be null: give a value or leave the field out."),
    "Missing data for required field.": lazy_gettext("Required: give a value for this field."),
    "Unknown field.": lazy_gettext("Not a field of this request: leave it out (the API docs list the fields)."),
    "Invalid input type.": lazy_gettext("The wrong kind of value: the API docs give this field's type."),
    "Not a valid list.": lazy_gettext("Not a list: write it between [ and ]."),
    "Not a valid mapping type.": lazy_gettext("Not an object: write it between { and }."),
    "Invalid value.": lazy_gettext("Not a value this field takes: the API docs say which it takes."),
    "String does not match expected pattern.": lazy_gettext(
        "Not in the form this field takes: the API docs give its form."
    ),
}


def _between(found: dict[str, str]) -> str:
    return gettext("Give between %(min)s and %(max)s characters (or items).", **found)


def _at_least(found: dict[str, str]) -> str:
    return gettext("Too short: give at least %(min)s characters (or items).", **found)


def _at_most(found: dict[str, str]) -> str:
    return gettext("Too long: give at most %(max)s characters (or items).", **found)


def _exactly(found: dict[str, str]) -> str:
    return gettext("Give exactly %(equal)s characters (or items).", **found)


def _in_range(found: dict[str, str]) -> str:
    return gettext("Out of range: give a number from %(min)s to %(max)s.", **found)


def _above_below(found: dict[str, str]) -> str:
    return gettext("Out of range: give more than %(min)s and less than %(max)s.", **found)


def _from_below(found: dict[str, str]) -> str:
    return gettext("Out of range: give at least %(min)s and less than %(max)s.", **found)


def _above_to(found: dict[str, str]) -> str:
    return gettext("Out of range: give more than %(min)s and at most %(max)s.", **found)


def _no_less(found: dict[str, str]) -> str:
    return gettext("Too small: give %(min)s or more.", **found)


def _above(found: dict[str, str]) -> str:
    return gettext("Too small: give more than %(min)s.", **found)


def _no_more(found: dict[str, str]) -> str:
    return gettext("Too large: give %(max)s or less.", **found)


def _below(found: dict[str, str]) -> str:
    return gettext("Too large: give less than %(max)s.", **found)


def _one_of(found: dict[str, str]) -> str:
    return gettext("Not one of the values this field takes: give one of %(choices)s.", **found)


# validate.Range's words for its bounds, inclusive or not; a bound is written by str() (12, 0.5, 1e-05, inf, a date)
_GTE, _GT = "greater than or equal to", "greater than(?! or equal to)"
_LTE, _LT = "less than or equal to", "less than(?! or equal to)"
_BOUND = "(?P<{}>.+?)"

# marshmallow's validators write their figures into their messages (validate.Length, Range, OneOf): read them back
# and say the same in the reader's language.
PLAIN_PATTERNED_MESSAGES: list[tuple[re.Pattern[str], Callable[[dict[str, str]], str]]] = [
    (re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\."), _between),
    (re.compile(r"Shorter than minimum length (?P<min>\d+)\."), _at_least),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\."), _at_most),
    (re.compile(r"Length must be (?P<equal>\d+)\."), _exactly),
    (re.compile(rf"Must be {_GTE} {_BOUND.format('min')} and {_LTE} {_BOUND.format('max')}\."), _in_range),
    (re.compile(rf"Must be {_GTE} {_BOUND.format('min')} and {_LT} {_BOUND.format('max')}\."), _from_below),
    (re.compile(rf"Must be {_GT} {_BOUND.format('min')} and {_LTE} {_BOUND.format('max')}\."), _above_to),
    (re.compile(rf"Must be {_GT} {_BOUND.format('min')} and {_LT} {_BOUND.format('max')}\."), _above_below),
    (re.compile(rf"Must be {_GTE} {_BOUND.format('min')}\."), _no_less),
    (re.compile(rf"Must be {_GT} {_BOUND.format('min')}\."), _above),
    (re.compile(rf"Must be {_LTE} {_BOUND.format('max')}\."), _no_more),
    (re.compile(rf"Must be {_LT} {_BOUND.format('max')}\."), _below),
    (re.compile(r"Must be one of: (?P<choices>.*)\.", re.S), _one_of),
]


def _plain(message: str) -> str:
    known = PLAIN_FIELD_MESSAGES.get(message)
    if known is not None:
        return str(known)
    for pattern, word in PLAIN_PATTERNED_MESSAGES:
        found = pattern.fullmatch(message)
        if found:
            return word(found.groupdict())
    return message


def plain_messages(messages: Any) -> Any:
    """Field messages with marshmallow's type messages replaced by PLAIN_FIELD_MESSAGES."""
    if isinstance(messages, dict):
        return {key: plain_messages(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [plain_messages(value) for value in messages]
    if isinstance(messages, str):
        return _plain(messages)
    return messages


def field_error(field: str, message: str, location: str = "json") -> DomainError:
    """A 422 naming one field (of the JSON body, or ``form``/``files``), shaped like marshmallow's errors."""
    return DomainError(message, errors={location: {field: [message]}})


def query_error(field: str, message: str) -> DomainError:
    """A 422 naming one query parameter."""
    return DomainError(message, errors={"query": {field: [message]}})


def envelope(status: int, name: str, message: str, errors: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "status": name, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def _named(messages: Any) -> Any:
    """Field messages keyed by text: a multipart part sent without a name is keyed None by the parser, and the
    envelope (sorted keys) could not be written; it is reported as '(no name)'."""
    if isinstance(messages, dict):
        return {"(no name)" if key is None else str(key): _named(value) for key, value in messages.items()}
    return messages


# An app's error page: (status, title, message) -> the page (its body; the status and headers are set here).
ErrorPage = Callable[[int, str, str], str]
ERROR_PAGES = "iuran_error_pages"  # app.extensions key: {path prefix: renderer}


def register_error_page(app: App, prefix: str, renderer: ErrorPage) -> None:
    """Errors of requests under ``prefix`` (``/keuangan``) are shown by ``renderer`` unless JSON is asked for."""
    app.extensions.setdefault(ERROR_PAGES, {})[prefix.rstrip("/")] = renderer


def _page_renderer() -> ErrorPage | None:
    if not has_request_context():
        return None
    accept = request.accept_mimetypes
    if accept.quality("application/json") > accept.quality("text/html"):  # a script that asked for JSON
        return None
    path = request.path
    for prefix, renderer in current_app.extensions.get(ERROR_PAGES, {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            return renderer  # type: ignore[no-any-return]
    return None


def _title(status: int) -> str:
    if status == 404:
        return gettext("Page not found")
    if status >= 500:
        return gettext("Something went wrong")
    return gettext("Could not be done")


def _page_message(status: int) -> str:
    """The page's words for the errors whose message is werkzeug's English (routing's 404 and 405, a 500)."""
    if status == 404:
        return gettext("There is no page at this address: check it, or start again from the menu.")
    if status == 405:
        return gettext("This page cannot be opened that way: go back and use its buttons.")
    if status == 500:
        return gettext("Something went wrong on our side; it has been logged. Try again in a moment.")
    if status == 503:
        return gettext("The service is unavailable just now; nothing was saved. Try again in a moment.")
    if status == 413:
        return gettext("The file or form is too large: send a smaller one.")
    return gettext("The request could not be handled (error %(status)s): go back and try again.", status=status)


def error_response(
    status: int, name: str, message: str, errors: Any = None, headers: dict[str, str] | None = None, **extra: Any
) -> ResponseReturnValue:
    """The error as its app's page (see :func:`register_error_page`), else as the envelope."""
    renderer = _page_renderer()
    if renderer is not None:
        try:
            page = renderer(status, _title(status), message)
        except Exception:  # the page itself failed (the database is away, say): the envelope still answers
            current_app.logger.exception("error page failed")
        else:
            page_headers = {k: v for k, v in (headers or {}).items() if k != "WWW-Authenticate"}
            return page, status, {**page_headers, "Content-Type": "text/html; charset=utf-8"}
    return jsonify(envelope(status, name, message, errors, **extra)), status, headers or {}


def register_error_handlers(app: Flask) -> None:
    """Every error the API returns, 4xx or 5xx, uses the same envelope; the pages' errors are pages."""

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> ResponseReturnValue:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        if error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
        if _page_renderer() is not None:
            _discard_changes()
        return error_response(error.status, error.name, error.message, error.errors, headers, **error.extra)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        data = getattr(error, "data", {}) or {}
        messages = data.get("messages")
        message = data.get("message") or error.description or error.name
        if status == 422 and messages:
            message = invalid_fields()
            messages = plain_messages(messages)
        # flask-smorest drops the Allow header on 405: keep the exception's own headers.
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        if _page_renderer() is not None:  # werkzeug's English description, worded for the page
            return error_response(status, error.name, _page_message(status), headers=headers)
        return error_response(status, error.name, message, _named(messages), headers)

    @app.errorhandler(sa_exc.DBAPIError)
    @app.errorhandler(sa_exc.TimeoutError)
    def _database_error(error: Exception) -> ResponseReturnValue:
        if not is_database_outage(error):
            return _unexpected(error)
        app.logger.warning("database unavailable: %s", str(error).splitlines()[0][:300])
        _discard_session()
        seconds = app.config.get("DATABASE_RETRY_AFTER_SECONDS", 5)
        message = gettext("The database cannot be reached just now; nothing was saved. Send the same request again.")
        if _page_renderer() is not None:
            message = _page_message(503)
        return error_response(503, "Service Unavailable", message, headers={"Retry-After": str(seconds)})

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error")
        message = gettext("Something went wrong on our side; it has been logged.")
        if _page_renderer() is not None:
            _discard_changes()
            message = _page_message(500)
        return error_response(500, "Internal Server Error", message)


# SQLSTATEs of a server that is gone, shutting down, starting or full: the request may succeed if sent again.
_OUTAGE_SQLSTATES = ("57P01", "57P02", "57P03", "53300")
# SQLSTATEs of a busy server, as SQLite's 'database is locked': a lock_timeout or statement_timeout (a DBA's guard
# against a stuck lock) cancelled the statement, or a serialization failure or deadlock rolled it back. The
# transaction is rolled back, nothing was written: sent again, the request is served.
_BUSY_SQLSTATES = ("55P03", "57014", "40001", "40P01")
_SQLITE_OUTAGE = ("database is locked", "unable to open database", "disk i/o error")


def is_database_outage(error: BaseException) -> bool:
    """True for a database that cannot be reached or is busy (a 503 with Retry-After), not for a bad query."""
    if isinstance(error, sa_exc.TimeoutError):  # no connection free in the pool
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        return any(text in str(original).lower() for text in _SQLITE_OUTAGE)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in _OUTAGE_SQLSTATES or sqlstate in _BUSY_SQLSTATES
    # psycopg raises OperationalError without a SQLSTATE when it cannot connect or the connection broke.
    text = str(original).lower()
    return isinstance(error, sa_exc.OperationalError) and ("connection" in text or "server" in text)


def _discard_changes() -> None:
    """Nothing half-written stays in the session a page's error is rendered with."""
    try:
        db.session.rollback()
    except Exception:
        pass


def _discard_session() -> None:
    """Throw away the request's session and its (broken) connection; the pool opens a fresh one next time."""
    try:
        db.session.rollback()
    except Exception:
        pass
    db.session.remove()


class UtcDateTime(fields.DateTime):
    """A ``*_at`` column (naive UTC) written with its offset: ``2026-11-22T03:37:34+00:00``."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()


class ErrorSchema(Schema):
    """The one error envelope, as the OpenAPI description publishes it."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Per location (json, query, path, headers), per field: messages"})
    reason = fields.String(metadata={"description": "Machine-readable cause of a 409, e.g. deposit_required"})
    existing_member = fields.Dict(metadata={"description": "On a 409 for a known NIK: that member's id, kpj, branch"})
    mandate_id = fields.Integer()
    cash_on_hand_idr = fields.Integer()
