"""The administration pages (/admin), for branch heads (supervisors) and admins: branches (admin), Wadah and staff
accounts, password resets, disabling and enabling a login.

Server-rendered like the finance desk (no JavaScript, nothing from a CDN), with the same web login and CSRF token
(organisation/web_login.py). Every form goes through the API's schema and the service the API calls
(organisation/administration.py); a refusal is shown on a page with the service's message and its status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from marshmallow import Schema, ValidationError
from sqlalchemy import select

from core.errors import DomainError, Forbidden, plain_messages, register_error_page
from core.extensions import db
from core.guards import MAX_ID
from core.i18n import label, language
from core.paging import asked_page, desk_page, desk_window
from core.regions import TIMEZONES
from organisation import administration as admin
from organisation.logins import safe_next
from organisation.models import Branch, Role
from organisation.schemas import (
    BranchCreateSchema,
    BranchUpdateSchema,
    StaffCreateSchema,
    StaffUpdateSchema,
    WadahCreateSchema,
    WadahUpdateSchema,
)
from organisation.web_login import check_csrf, csrf_token, log_in, log_out, password_login, refused_login, web_user

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static")
F = TypeVar("F", bound=Callable[..., Any])
MANAGERS = (Role.SUPERVISOR, Role.ADMIN)
INTEGER_FIELDS = ("branch_id", "cash_limit_idr", "deposit_deadline_working_days")


def _error_page(status: int, title: str, message: str) -> str:
    """An /admin error that no page caught (routing's 404, a bug that escaped a page): the desk's page."""
    return render_template("admin/error.html", title=title, message=message, details=[], code=status, **_page_helpers())


bp.record_once(lambda state: register_error_page(state.app, bp.url_prefix or "/admin", _error_page))


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {
        "lang": language,
        "csrf_token": csrf_token,
        "user": g.get("user"),
        "timezones": TIMEZONES,
        "role_label": lambda role: label("role", role),
    }


@bp.after_request
def _not_cached(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"  # a temporary password is shown once, and kept by no cache
    return response


def manager_required(view: F) -> F:
    """Only a logged-in supervisor or admin; POSTs must carry the session's CSRF token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = web_user()
        if user is None or user.role not in MANAGERS:
            if user is None:
                session.pop("sid", None)
            flash(
                gettext("Your session expired: log in again.")
                if user is None
                else gettext("These pages are for branch heads (supervisors) and admins.")
            )
            return redirect(url_for("admin.login", next=request.path))
        g.user = user
        try:
            if request.method == "POST":
                check_csrf()
            return view(*args, **kwargs)
        except DomainError as refused:
            return refusal_page(refused)

    return cast(F, wrapper)


def refusal_page(error: DomainError) -> ResponseReturnValue:
    db.session.rollback()
    details = [
        f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
        for fields in (error.errors or {}).values()
        if isinstance(fields, dict)
        for field, messages in fields.items()
    ]
    return render_template("admin/error.html", message=error.message, details=details, code=error.status), error.status


def form_values(schema: Schema, names: tuple[str, ...], partial: bool = False) -> dict[str, Any]:
    """The form's fields through the API's schema (empty fields left out; whole numbers read as such)."""
    values: dict[str, Any] = {}
    for name in names:
        text = request.form.get(name, "").strip()
        if not text:
            continue
        if name in INTEGER_FIELDS:
            digits = text.replace(".", "").replace(",", "")
            values[name] = int(digits) if digits.isdecimal() else text
        else:
            values[name] = text
    try:
        return cast(dict[str, Any], schema.load(values, partial=partial))
    except ValidationError as error:
        messages = cast(dict[str, Any], error.messages)
        raise DomainError(
            gettext("The form has invalid fields: see each field and how to fix it."),
            errors={"form": plain_messages(messages)},
        ) from None


def _admin_only() -> None:
    if g.user.role != Role.ADMIN:
        raise Forbidden(gettext("Only an admin manages branches."))


def _branches() -> list[Branch]:
    query = select(Branch).order_by(Branch.code)
    if g.user.role != Role.ADMIN:
        query = query.where(Branch.id == g.user.branch_id)
    return list(db.session.scalars(query))


def _chosen_branch() -> int | None:
    """An admin's ``?cabang=`` filter; a supervisor's own branch always."""
    if g.user.role != Role.ADMIN:
        return cast(int | None, g.user.branch_id)
    chosen = request.args.get("cabang", "")
    readable = chosen.isascii() and chosen.isdecimal() and len(chosen) <= len(str(MAX_ID))  # int() refuses 4,301 digits
    return int(chosen) if readable and int(chosen) <= MAX_ID else None


# --- login -----------------------------------------------------------------------------------------------------


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with username and password (the same throttles as every login)."""
    if request.method == "GET":
        return render_template("admin/login.html")
    try:
        check_csrf()
    except DomainError:
        return render_template(
            "admin/login.html", error=gettext("The form expired: reload the page and try again.")
        ), 400
    try:
        user = password_login("admin")
    except DomainError as refused:
        return refused_login("admin/login.html", refused)
    if user.role not in MANAGERS:
        return render_template(
            "admin/login.html", error=gettext("These pages are for branch heads (supervisors) and admins.")
        ), 403
    log_in(user, "admin")
    target = safe_next(request.args.get("next", ""), "/admin/")
    return redirect(target or url_for("admin.staff_page"), code=303)


@bp.post("/keluar")
@manager_required
def logout() -> ResponseReturnValue:
    log_out()
    return redirect(url_for("admin.login"), code=303)


@bp.get("/")
@manager_required
def home() -> ResponseReturnValue:
    return redirect(url_for("admin.staff_page"))


# --- branches (admin) ------------------------------------------------------------------------------------------


@bp.route("/cabang", methods=["GET", "POST"])
@manager_required
def branches_page() -> ResponseReturnValue:
    _admin_only()
    if request.method == "POST":
        branch = admin.create_branch(db.session, g.user, form_values(BranchCreateSchema(), _BRANCH_FORM))
        flash(gettext("Saved.") + f" {branch.code}")
        return redirect(url_for("admin.branches_page"), code=303)
    number = asked_page()
    offset, size = desk_window(number)
    branches = _branches()  # a few hundred at most, and the other pages' choice of branch reads them all
    return render_template(
        "admin/branches.html", branches=branches[offset : offset + size], page=desk_page(len(branches), number)
    )


_BRANCH_FORM = (
    "code",
    "name",
    "province_code",
    "regency_code",
    "timezone",
    "cash_limit_idr",
    "deposit_deadline_working_days",
)


@bp.route("/cabang/<int:branch_id>", methods=["GET", "POST"])
@manager_required
def branch_page(branch_id: int) -> ResponseReturnValue:
    _admin_only()
    branch = admin.visible_branch(db.session, g.user, branch_id)
    if request.method == "POST":
        changes = form_values(BranchUpdateSchema(), _BRANCH_FORM)
        admin.update_branch(db.session, g.user, branch_id, changes)
        flash(gettext("Saved."))
        return redirect(url_for("admin.branch_page", branch_id=branch_id), code=303)
    return render_template("admin/branch.html", branch=branch)


# --- Wadah -----------------------------------------------------------------------------------------------------


@bp.route("/wadah", methods=["GET", "POST"])
@manager_required
def wadahs_page() -> ResponseReturnValue:
    if request.method == "POST":
        values = form_values(WadahCreateSchema(), ("branch_id", "name", "agreement_ref"))
        admin.create_wadah(db.session, g.user, values["branch_id"], values["name"], values.get("agreement_ref"))
        flash(gettext("Saved."))
        return redirect(url_for("admin.wadahs_page"), code=303)
    number = asked_page()
    wadahs, count = admin.wadah_page(db.session, g.user, _chosen_branch(), *desk_window(number))
    return render_template(
        "admin/wadahs.html", wadahs=wadahs, branches=_branches(), chosen=_chosen_branch(), page=desk_page(count, number)
    )


@bp.route("/wadah/<int:wadah_id>", methods=["GET", "POST"])
@manager_required
def wadah_page(wadah_id: int) -> ResponseReturnValue:
    wadah = admin.wadah_in_reach(db.session, g.user, wadah_id)
    if request.method == "POST":
        changes = form_values(WadahUpdateSchema(), ("name", "agreement_ref"))
        changes.setdefault("agreement_ref", None)  # an emptied field clears the reference
        admin.update_wadah(db.session, g.user, wadah_id, changes)
        flash(gettext("Saved."))
        return redirect(url_for("admin.wadah_page", wadah_id=wadah_id), code=303)
    return render_template("admin/wadah.html", wadah=wadah)


# --- staff -----------------------------------------------------------------------------------------------------


@bp.route("/staf", methods=["GET", "POST"])
@manager_required
def staff_page() -> ResponseReturnValue:
    if request.method == "POST":
        fields = ("username", "full_name", "role", "branch_id", "phone", "password")
        values = form_values(StaffCreateSchema(), fields)
        user, generated = admin.create_staff_account(
            db.session,
            g.user,
            values["username"],
            values["full_name"],
            values["role"],
            values.get("branch_id") if g.user.role == Role.ADMIN else g.user.branch_id,
            values.get("phone"),
            values.get("password"),
        )
        return render_template("admin/password_shown.html", staff=user, password=generated), 201
    number = asked_page()
    people, count = admin.staff_page(db.session, g.user, _chosen_branch(), *desk_window(number))
    return render_template(
        "admin/staff.html", people=people, branches=_branches(), chosen=_chosen_branch(), page=desk_page(count, number)
    )


@bp.route("/staf/<int:user_id>", methods=["GET", "POST"])
@manager_required
def staff_member_page(user_id: int) -> ResponseReturnValue:
    person = admin.user_in_reach(db.session, g.user, user_id)
    if request.method == "POST":
        names = ("full_name", "phone", "role") + (("branch_id",) if g.user.role == Role.ADMIN else ())
        changes = form_values(StaffUpdateSchema(), names)
        changes.setdefault("phone", None)  # an emptied field clears the phone
        admin.update_staff(db.session, g.user, user_id, changes)
        flash(gettext("Saved."))
        return redirect(url_for("admin.staff_member_page", user_id=user_id), code=303)
    return render_template("admin/staff_member.html", person=person, branches=_branches())


@bp.post("/staf/<int:user_id>/reset")
@manager_required
def reset_password_page(user_id: int) -> ResponseReturnValue:
    password = admin.reset_password(db.session, g.user, user_id)
    person = admin.user_in_reach(db.session, g.user, user_id)
    return render_template("admin/password_shown.html", staff=person, password=password, reset=True)


@bp.post("/staf/<int:user_id>/nonaktifkan")
@manager_required
def disable_page(user_id: int) -> ResponseReturnValue:
    person = admin.set_active(db.session, g.user, user_id, active=False)
    flash(gettext("Every session of %(name)s has ended.", name=person.full_name))
    return redirect(url_for("admin.staff_member_page", user_id=user_id), code=303)


@bp.post("/staf/<int:user_id>/aktifkan")
@manager_required
def enable_page(user_id: int) -> ResponseReturnValue:
    admin.set_active(db.session, g.user, user_id, active=True)
    flash(gettext("Saved."))
    return redirect(url_for("admin.staff_member_page", user_id=user_id), code=303)
