"""One error envelope for the whole API: ``{code, status, message, errors}``."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A request that the rules refuse; carries the HTTP status and, where it applies, field messages."""

    status = 422
    name = "Unprocessable Entity"

    def __init__(self, message: str, errors: dict[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors
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


class Unauthorized(DomainError):
    status = 401
    name = "Unauthorized"


def field_error(field: str, message: str) -> DomainError:
    """A 422 naming one field, shaped like marshmallow's errors so clients parse one format."""
    return DomainError(message, errors={"json": {field: [message]}})


def envelope(status: int, name: str, message: str, errors: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "status": name, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def register_error_handlers(app: Flask) -> None:
    """Every error the API returns, 4xx or 5xx, uses the same envelope."""

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> ResponseReturnValue:
        body = envelope(error.status, error.name, error.message, error.errors, **error.extra)
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        return jsonify(body), error.status, headers

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        data = getattr(error, "data", {}) or {}
        messages = data.get("messages")
        message = data.get("message") or error.description or error.name
        if status == 422 and messages:
            message = "The request has invalid fields: see errors for each field and how to fix it."
        # flask-smorest drops the Allow header on 405: keep the exception's own headers.
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        return jsonify(envelope(status, error.name, message, messages)), status, headers

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error")
        return jsonify(
            envelope(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")
        ), 500
