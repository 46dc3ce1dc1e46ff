"""The web pages' login, for the agents' app and the finance desk alike: a cookie that names a server-side
session, the session's CSRF token, and the password form."""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import cast

from flask import (
    Flask,
    Response,
    abort,
    after_this_request,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core import logs
from core.clock import app_now
from core.errors import DomainError
from core.extensions import db
from organisation.logins import check_password_login, end_web_session, start_web_session, user_for_web_session
from organisation.models import StaffUser


def csrf_token() -> str:
    """The session's CSRF token, made on first use, as a page writes it: masked with fresh random bytes each time
    (the mask, then the token XOR the mask), so that no two compressed pages carry the same bytes for the secret
    and their sizes tell a BREACH attacker nothing about it (core/compression.py). Any masking of the session's
    token is accepted (csrf_matches)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    raw = cast(str, session["csrf"]).encode()
    mask = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(mask + bytes(a ^ b for a, b in zip(raw, mask, strict=True))).decode()


def csrf_matches(sent: str) -> bool:
    """Whether a form's token is this session's: masked as csrf_token writes it, or bare (the session's own)."""
    expected = cast(str, session.get("csrf", ""))
    if not sent or not expected:
        return False
    if hmac.compare_digest(sent, expected):
        return True
    try:
        data = base64.urlsafe_b64decode(sent.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    half = len(data) // 2
    if len(data) % 2 or half != len(expected.encode()):
        return False
    unmasked = bytes(a ^ b for a, b in zip(data[half:], data[:half], strict=True))
    return hmac.compare_digest(unmasked, expected.encode())


class CsrfFailed(DomainError):
    status = 400
    name = "Bad Request"


def check_csrf() -> None:
    if not csrf_matches(request.form.get("csrf_token", "")):
        # reason lets the phone tell a stale token (send again with this session's) from a refused form
        raise CsrfFailed(
            gettext("The form expired: reload and try again."),
            errors={"form": {"csrf_token": [gettext("The form expired: reload and try again.")]}},
            reason="csrf",
        )


PASSWORD_PAGE = "akun.change_password"  # organisation/account_pages.py
# Sent when a session ends (a logout; a request whose session the server ended: a logout elsewhere, a disabled
# account, an agent deactivated): the browser drops its HTTP cache of this site, pages that showed members. Not
# "storage": the agents' app keeps unsent cash forms in the phone's storage, bound to their agent (key_owner),
# and they must survive a logout. The service worker drops its own copies of pages (agents/field/static/sw.js).
CLEAR_SITE_DATA = '"cache"'


def clear_cached_pages() -> None:
    """Answer this request with Clear-Site-Data: "cache"."""

    @after_this_request
    def _clear(response: Response) -> Response:
        response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


def web_user() -> StaffUser | None:
    """The active user of this request's live web session (see organisation/logins.py), or None.

    A user whose password someone else set (a reset, a new account) is sent to the password page from every
    page of every app (/agen, /keuangan, /admin) until he has chosen his own.
    """
    if "web_user" not in g:
        g.web_user = user_for_web_session(db.session, session.get("sid"), app_now())
        if g.web_user is not None:
            logs.bind(user_id=g.web_user.id, branch_id=g.web_user.branch_id)
        if g.web_user is None and session.get("sid"):
            clear_cached_pages()  # a session the server has ended: logged out elsewhere, disabled, expired
    user = cast(StaffUser | None, g.web_user)
    if user is not None and user.must_change_password and request.blueprint != "akun":
        abort(redirect(url_for(PASSWORD_PAGE, next=request.path), code=303))
    return user


def log_in(user: StaffUser, app: str) -> None:
    """Start a new web session for ``user``: a fresh cookie (no fixation), a new CSRF token. Commits."""
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    seconds = int(lifetime.total_seconds()) if hasattr(lifetime, "total_seconds") else int(lifetime)
    sid = start_web_session(db.session, user, app, app_now(), seconds)
    db.session.commit()
    session.clear()
    session.permanent = True
    session["sid"] = sid
    csrf_token()


def log_out() -> None:
    """End this request's web session on the server (a copied cookie stops working), clear the cookie and the
    browser's cached pages (Clear-Site-Data)."""
    end_web_session(db.session, session.get("sid"), app_now())
    db.session.commit()
    session.clear()
    clear_cached_pages()


def refused_login(template: str, refused: DomainError) -> ResponseReturnValue:
    """The login page again, saying why: wrong password (401) or too many tries (429, with Retry-After)."""
    if refused.status == 429:
        error = gettext("Too many attempts. Try again in 15 minutes.")
    else:
        error = gettext("Wrong username or password.")
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
    return render_template(template, error=error), refused.status, headers


def password_login(app: str) -> StaffUser:
    """The login form's user, or the service's LoginThrottled (429) / Unauthorized (401)."""
    return check_password_login(
        db.session,
        request.form.get("username", ""),
        request.form.get("password", ""),
        request.remote_addr,
        current_app.config,
        app=app,
    )


def password_login_as(username: str, password: str) -> StaffUser:
    """A logged-in user's password checked again (to change it), through the same throttles as a login."""
    return check_password_login(db.session, username, password, request.remote_addr, current_app.config, app="web")


def install(app: Flask) -> None:
    """Every page's forms can write ``{{ csrf_token() }}``."""
    app.add_template_global(csrf_token, "csrf_token")
