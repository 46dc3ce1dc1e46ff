"""A staff member's own password (/akun/kata-sandi): where every web login of a user whose password someone else
set is sent first (organisation/web_login.py), and where anyone logged in may change his password. The current
password is checked through the login's throttles; a change ends every session and token of the user, and the
page logs him in again with a fresh session."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core.errors import DomainError
from core.extensions import db
from core.i18n import language
from organisation.administration import change_own_password
from organisation.logins import safe_next
from organisation.models import Role
from organisation.web_login import check_csrf, csrf_token, log_in, log_out, password_login_as, web_user

bp = Blueprint("akun", __name__, url_prefix="/akun", template_folder="templates", static_folder="static")
APPS = ("/agen/", "/keuangan/", "/admin/")
HOME_OF_ROLE = {Role.AGENT: "/agen/", Role.BRANCH_FINANCE: "/keuangan/"}  # supervisors and admins: /admin/


@bp.context_processor
def _page_helpers() -> dict[str, object]:
    return {"csrf_token": csrf_token, "lang": language}


def _next() -> str | None:
    target = request.args.get("next", "")
    return next((safe for prefix in APPS if (safe := safe_next(target, prefix))), None)


@bp.route("/kata-sandi", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    """The form: current password, new password twice."""
    user = web_user()
    if user is None:
        return render_template(
            "akun/password.html", error=gettext("Your session expired: log in again."), user=None
        ), 401
    if request.method == "GET":
        return render_template("akun/password.html", user=user)
    try:
        check_csrf()
        if request.form.get("new_password", "") != request.form.get("repeat_password", ""):
            raise DomainError(gettext("The two new passwords differ."))
        password_login_as(user.username, request.form.get("current_password", ""))
        change_own_password(db.session, user, request.form.get("new_password", ""))
    except DomainError as refused:
        db.session.rollback()
        details = [m for fields in (refused.errors or {}).values() for ms in fields.values() for m in ms]
        message = details[0] if details else refused.message
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
        return render_template("akun/password.html", user=user, error=message), refused.status, headers
    target = _next() or HOME_OF_ROLE.get(user.role, "/admin/")
    log_in(user, target.strip("/").split("/")[0])
    return redirect(target, code=303)


@bp.post("/keluar")
def logout() -> ResponseReturnValue:
    """Log out from the password page (a must-change user reaches no other page)."""
    if web_user() is not None:
        check_csrf()
        log_out()
    return redirect(_next() or "/admin/masuk", code=303)
