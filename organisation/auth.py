"""Bearer-token authentication and role checks for the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from flask_babel import gettext

from core import logs
from core.clock import app_now
from core.errors import Forbidden, Unauthorized
from core.extensions import db
from organisation.models import Role, StaffUser
from organisation.services import user_for_token

F = TypeVar("F", bound=Callable[..., Any])
PASSWORD_CHANGE_REQUIRED = "password_change_required"


def refuse_if_password_must_change(user: StaffUser) -> None:
    """A 403 whose ``reason`` says so for a user whose password someone else set (a reset, a new account)."""
    if user.must_change_password:
        raise Forbidden(
            gettext("Your password was set by someone else: choose your own with POST /api/v1/auth/password first."),
            reason=PASSWORD_CHANGE_REQUIRED,
        )


def current_user() -> StaffUser:
    """The authenticated user of this request (only inside a view wrapped by :func:`require_roles`)."""
    return cast(StaffUser, g.current_user)


def require_roles(*roles: Role) -> Callable[[F], F]:
    """Let the view run only for a valid bearer token whose user has one of ``roles`` (any role if none given)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized(
                    gettext("Send 'Authorization: Bearer <token>'; get a token from POST /api/v1/auth/token.")
                )
            user = user_for_token(db.session, token.strip(), app_now(), current_app.config["TOKEN_CACHE_SECONDS"])
            if user is None:
                raise Unauthorized(
                    gettext("The token is unknown, expired or revoked: get a new one from POST /api/v1/auth/token.")
                )
            refuse_if_password_must_change(user)
            if roles and user.role not in roles:
                allowed = ", ".join(sorted(roles))
                raise Forbidden(
                    gettext("This needs one of the roles %(roles)s; you are '%(role)s'.", roles=allowed, role=user.role)
                )

            g.current_user = user
            logs.bind(user_id=user.id, branch_id=user.branch_id)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator
