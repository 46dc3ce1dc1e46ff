"""Logging for every process (web, workers, cron, CLI): one handler on stdout, JSON lines or readable text.

Every line carries what is known of its context: ``request_id``, ``user_id`` and ``branch_id`` during a
request, ``job_id`` and ``job_func`` during an RQ job. A filter on the handler masks NIKs, phone numbers,
passwords, bearer tokens and session cookies in the message, the extra fields and tracebacks, so no line
holds them whatever a caller logs. Optional error reporting to Sentry (``SENTRY_DSN``) goes through the same
masking.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any, TextIO

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter
from rq import get_current_job

log = logging.getLogger(__name__)
access_log = logging.getLogger("iuran.access")

CONTEXT_FIELDS = ("request_id", "user_id", "branch_id", "job_id", "job_func")
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
RQ_LOGGERS = ("rq", "rq.worker", "rq.job", "rq.cron", "rq.scheduler")  # rq gives these handlers of their own

# --- masking ------------------------------------------------------------------------------------------------

MASK = "***"
# What people and browsers put between the digits of a NIK or a phone number: spaces, dots, dashes, brackets, a
# form's "+" for a space, and the same percent-encoded in a query string (%20 %2B %2D %2E %28 %29).
_SEP = r"(?:[\s.()+-]|%2[0BDE89bde])"
# A NIK's groups are split by spaces or dots, not dashes: a job's UUID (8-4-4-4-12, hex) holds 16 digits so split now
# and then, and its line must keep it.
_NIK_SEP = r"(?:[\s.+]|%2[0BEbe])"
_NIK = re.compile(rf"(?<!\d)(?<!\d[\s.+])(?<!\d%2[0BEbe])\d(?:{_NIK_SEP}?\d){{15}}(?!{_NIK_SEP}?\d)")
# +62…, 62… or 08…, 8 to 15 digits, with separators between groups as people write them (+62 (0)812-3456-7890).
_PHONE = re.compile(
    rf"(?<![\w+])(?:(?:\+|%2[Bb])?62{_SEP}{{0,3}}(?:0\){_SEP}{{0,2}})?|0)8(?:{_SEP}{{0,2}}\d){{5,13}}(?!{_SEP}?\d)"
)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", _PERCENT.sub(" ", text))


def _mask_nik(match: re.Match[str]) -> str:
    return _digits(match.group(0))[:6] + "*" * 10


_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_QUOTED_SECRET = re.compile(r"(?i)(\b\w*(?:password|secret)\w*[\"']?\s*[=:]\s*)([\"'])(?:\\.|(?!\2).)*\2")
_BARE_SECRET = re.compile(r"(?i)(\b\w*(?:password|secret)\w*\s*=\s*)[^\s&\"',;]+")
_COOKIE = re.compile(r"(?i)\b(session|remember_token)=[^;\s\"',]+")
_SECRET_KEYS = re.compile(r"(?i)password|secret|token|authorization|cookie|dsn")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = _digits(text)
    plus = text.startswith("+") or text[:3].upper() == "%2B"
    return ("+" if plus else "") + digits[:4] + "*" * (len(digits) - 7) + digits[-3:]


def redact(text: str) -> str:
    """``text`` with NIKs (first 6 digits kept), phone numbers (first 4 and last 3 kept), bearer tokens,
    passwords and session cookies masked."""
    if not text:
        return text
    text = _NIK.sub(_mask_nik, text)
    text = _PHONE.sub(_mask_phone, text)
    text = _BEARER.sub(rf"\1{MASK}", text)
    text = _QUOTED_SECRET.sub(rf"\1\2{MASK}\2", text)
    text = _BARE_SECRET.sub(rf"\1{MASK}", text)
    return _COOKIE.sub(rf"\1={MASK}", text)


def redact_value(value: Any, key: str = "") -> Any:
    """A value of a log field or an error report with everything :func:`redact` masks masked, recursively;
    the whole value of a key that names a secret (password, token, cookie, …)."""
    if key and _SECRET_KEYS.search(key) and isinstance(value, str | bytes) and value:
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v, key) for v in value)
    return value


_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class RedactFilter(logging.Filter):
    """Masks the final message and every extra field of a record before the handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it when it formats
            return True
        record.msg, record.args = redact(message), None
        if record.exc_text:  # a traceback another handler formatted first (the formatters mask their own)
            record.exc_text = redact(record.exc_text)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and key not in CONTEXT_FIELDS:
                record.__dict__[key] = redact_value(value, key)
        return True


class ContextFilter(logging.Filter):
    """Puts the request's or the job's ids on the record (only those known)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_context().items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


def current_context() -> dict[str, Any]:
    """The ids of this request (request, user, branch) or RQ job (id, function); empty elsewhere."""
    fields: dict[str, Any] = {}
    if has_request_context():
        fields["request_id"] = request_id()
        fields.update(g.get("log_fields", {}))
    try:
        job = get_current_job()
        if job is not None:
            fields["job_id"] = job.id
            fields["job_func"] = job.func_name
    except Exception:  # a job whose data cannot be read: the line goes out without it
        pass
    return fields


def bind(**fields: Any) -> None:
    """Add fields (``user_id``, ``branch_id``) to every line logged for the rest of this request."""
    if has_request_context():
        g.log_fields = {**g.get("log_fields", {}), **{k: v for k, v in fields.items() if v is not None}}


def request_id() -> str:
    """This request's id: a sane ``X-Request-ID`` sent by the proxy or the client, else a new one."""
    if "request_id" not in g:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = sent if _SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    return str(g.request_id)


# --- formatters -------------------------------------------------------------------------------------------


class _Tracebacks:
    """Tracebacks and stacks masked too (an SQL error's parameters can hold a NIK)."""

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))  # type: ignore[misc]

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))  # type: ignore[misc]


class TextFormatter(_Tracebacks, logging.Formatter):
    """``2026-12-05 10:00:00,123 INFO core.outbox [request_id=… user_id=3]: text to +6281*******890: …``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        known = [f"{key}={getattr(record, key)}" for key in CONTEXT_FIELDS if getattr(record, key, None) is not None]
        record.__dict__["context"] = f" [{' '.join(known)}]" if known else ""
        try:
            return super().format(record)
        finally:
            del record.__dict__["context"]


class JsonLineFormatter(_Tracebacks, JsonFormatter):
    """One JSON object a line: time, level, logger, message, the context ids and any extra fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is when a line is written (a test's capture, a daemon's pipe)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


# --- configuration ----------------------------------------------------------------------------------------

_HANDLER_MARK = "_iuran_handler"
_sentry_dsn: str | None = None


def configure(config: Mapping[str, Any], stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's lines through one masked handler on stdout (or ``stream``), in ``LOG_FORMAT`` at
    ``LOG_LEVEL``; and start Sentry when ``SENTRY_DSN`` is set. Safe to call again: the handler is replaced."""
    fmt = str(config.get("LOG_FORMAT") or "text").lower()
    if fmt not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be 'json' or 'text', not {fmt!r}")
    level = str(config.get("LOG_LEVEL") or "INFO").upper()
    handler: logging.Handler = _StdoutHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a dozen lines at each import else
    _route_rq_loggers_to_root()
    _start_sentry(config)
    return handler


def _route_rq_loggers_to_root() -> None:
    """rq gives its loggers their own stream handlers and stops them propagating when nothing handled them yet
    (rq/logutils.py setup_loghandlers); those lines go through our handler instead, once each."""
    for name in RQ_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if type(handler).__module__.startswith("rq."):
                logger.removeHandler(handler)
        logger.propagate = True


def _start_sentry(config: Mapping[str, Any]) -> None:
    """Report errors to Sentry (its Flask and RQ integrations) when ``SENTRY_DSN`` is set, masked as the logs."""
    global _sentry_dsn
    dsn = config.get("SENTRY_DSN") or None
    if dsn == _sentry_dsn:
        return
    import sentry_sdk  # only a process that reports errors loads it
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

    _sentry_dsn = dsn
    if dsn is None:
        sentry_sdk.get_client().close()
        return
    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        # Not its SQLAlchemy integration: it would hang listeners on every engine's cursor for good (for SQL
        # breadcrumbs, statement texts), and recording cash then leaves psycopg's cursor (payments/ledger/recording.py).
        disabled_integrations=[SqlalchemyIntegration()],
        # send_default_pii=False, as sentry-sdk 2.75 spells it: no user, no cookies, no request bodies
        data_collection={"user_info": False, "http_bodies": []},
        environment=str(config.get("IURAN_ENV") or os.environ.get("IURAN_ENV") or "development"),
        before_send=_scrub_event,
        before_breadcrumb=_scrub_breadcrumb,
    )


def _scrub_event(event: Any, hint: Any) -> Any:
    return redact_value(event)


def _scrub_breadcrumb(crumb: Any, hint: Any) -> Any:
    return redact_value(crumb)


# --- requests -------------------------------------------------------------------------------------------------


def _start_request() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish_request(response: Response) -> Response:
    """Send the request id back and write the request's access line."""
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    path = g.get("log_path") or request.path
    access_log.info(
        "%s %s -> %s in %s ms",
        request.method,
        path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response


def hide_path(unmatched: str | None = None) -> None:
    """Log this request's route (``/r/<string:code>``) instead of its path: for a URL that is itself a secret.
    ``unmatched``: what to log when the path reached no route (a secret URL cut or glued to other text)."""
    if not has_request_context():
        return
    if request.url_rule is not None:
        g.log_path = request.url_rule.rule
    elif unmatched is not None:
        g.log_path = unmatched


def install(app: Flask) -> None:
    """Give every request an id (``X-Request-ID``, in and out) and one access line. Call before other hooks,
    so a request refused by an earlier hook still gets its id and line."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
