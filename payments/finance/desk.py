"""The finance desk (/keuangan), branch finance's desktop pages: the blueprint, the login, the branch in view, and
what every page of it shares (dates and months from the query, CSV exports, the page that says what was refused).

Server-rendered for office PCs on a patchy connection: no JavaScript, nothing from a CDN. The login is the web
session of organisation/web_login.py (one session, one CSRF token per session, the same login throttle as the
agents' app), for branch finance, supervisors and admins; an admin picks the branch (``?cabang=``), the others see
their own. The pages themselves attach to this blueprint from the modules of their capability:
payments/finance/batch_pages.py (daily batches), statement_pages.py (bank statements and the unmatched credits),
report_pages.py (ageing, collections, coverage, channels, the scorecard, sponsor retention) and
agents/incentives/pages.py (the month's incentives). Every page is a service of its capability; a service's
refusal is shown on the page it came from, with the status it carries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from marshmallow import Schema, ValidationError
from sqlalchemy import select

from core.clock import app_now, local_today
from core.csvexport import csv_text
from core.errors import DomainError, register_error_page
from core.extensions import db
from core.i18n import label, language, rupiah, time_label
from core.months import Month
from organisation.logins import safe_next
from organisation.models import Branch, Role
from organisation.web_login import csrf_matches, csrf_token, log_in, log_out, password_login, refused_login, web_user
from payments.finance import bank
from payments.finance.texts import line_note, pending_text, variance_cause

bp = Blueprint("keuangan", __name__, url_prefix="/keuangan", template_folder="templates", static_folder="static")
F = TypeVar("F", bound=Callable[..., Any])
FINANCE_ROLES = bank.FINANCE_ROLES
DECIDERS = (Role.BRANCH_FINANCE, Role.ADMIN)  # a supervisor sees batches; finance approves or returns them
DEFAULT_REPORT_DAYS = 30
MAX_REPORT_DAYS = 366
MAX_REPORT_MONTHS = 36  # as the API's reports
BRANCH_CHOICE = "keuangan_branch_id"
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
FIRST_MONTH, LAST_MONTH = Month.of(FIRST_DAY), Month.of(LAST_DAY)
FIRST_TARGET_YEAR, LAST_TARGET_YEAR = 2015, 2100  # as the API's coverage targets


# --- texts, formats and the session ------------------------------------------------------------------


def error_page(status: int, title: str, message: str) -> str:
    """A /keuangan error that no page caught (routing's 404, a refusal or a bug that escaped): the desk's page."""
    return render_template(
        "keuangan/error.html", title=title, message=message, details=[], code=status, **_page_helpers()
    )


bp.record_once(lambda state: register_error_page(state.app, bp.url_prefix or "/keuangan", error_page))


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {
        "lang": language,
        "rupiah": rupiah,
        "csrf_token": csrf_token,
        "local_time": local_time,
        "language_url": _language_url,
        "export_url": _export_url,
        "status_label": lambda status: label("batch_status", status),
        "variance_cause": variance_cause,
        "pending_text": pending_text,
        "line_note": line_note,
        "user": g.get("user"),
        "branch": g.get("branch"),
        "branches": g.get("branches", []),
    }


def local_time(at: datetime | None) -> str:
    """A naive-UTC ``*_at`` in the branch's zone, in the reader's form: ``22 Nov 2026 09.00 WIB``."""
    branch = g.get("branch")
    return time_label(at, branch.timezone if branch is not None else "Asia/Jakarta")


def _language_url() -> str:
    """This page in the other language (a page shown after a POST links to the GET page it belongs to)."""
    other = "id" if language() == "en" else "en"
    if request.method != "GET":
        return cast(str, g.get("page_url") or url_for("keuangan.batches_page")) + f"?lang={other}"
    args = {k: v for k, v in request.args.items() if k != "lang"}
    return request.path + "?" + urlencode({**args, "lang": other})


def _export_url() -> str:
    args = {k: v for k, v in request.args.items() if k not in ("lang", "format")}
    base = cast(str, g.get("page_url") or request.path)
    return base + "?" + urlencode({**args, "format": "csv"})


def _csrf_ok() -> bool:
    return csrf_matches(request.form.get("csrf_token", ""))


def finance_required(view: F) -> F:
    """Only a logged-in branch finance, supervisor or admin; POSTs must carry the session's CSRF token.

    ``g.branch`` is the user's own branch, or the one an admin picked; an admin who has not picked one is
    shown the list of branches.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = web_user()
        if user is None:
            session.pop("sid", None)
            flash(gettext("Your session expired: log in again."))
            return redirect(url_for("keuangan.login", next=request.path))
        if user.role not in FINANCE_ROLES:
            flash(gettext("These pages are for branch finance, supervisors and admins."))
            return redirect(url_for("keuangan.login", next=request.path))
        if request.method == "POST" and not _csrf_ok():
            return refusal_page(DomainError(gettext("The form expired: reload the page and try again.")), status=400)
        g.user = user
        if user.role == Role.ADMIN:
            g.branches = list(db.session.scalars(select(Branch).order_by(Branch.code)))
            chosen = request.args.get("cabang", "")
            if chosen.isdecimal() and any(b.id == int(chosen) for b in g.branches):
                session[BRANCH_CHOICE] = int(chosen)
            g.branch = next((b for b in g.branches if b.id == session.get(BRANCH_CHOICE)), None)
            if g.branch is None:
                return render_template("keuangan/choose_branch.html")
        else:
            g.branch = bank.branch_for(db.session, user, cast(int, user.branch_id))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def refusal_page(error: DomainError, status: int | None = None) -> ResponseReturnValue:
    """A page that says what was refused and why (a service's message), with its status."""
    db.session.rollback()
    code = status or error.status
    return render_template("keuangan/error.html", message=error.message, details=messages_of(error), code=code), code


def messages_of(error: DomainError) -> list[str]:
    """Every field message a service or schema attached to the error (a statement's row errors, say)."""
    found: list[str] = []
    for fields in (error.errors or {}).values():
        for messages in (fields or {}).values() if isinstance(fields, dict) else [fields]:
            found.extend(str(m) for m in (messages if isinstance(messages, list) else [messages]))
    return [m for m in found if m != error.message]


def load_form(schema: Schema, form: dict[str, Any]) -> dict[str, Any]:
    """A form through the API's schema: its field messages become one DomainError naming the fields."""
    try:
        return cast(dict[str, Any], schema.load(form))
    except ValidationError as error:
        messages = cast(dict[str, Any], error.messages)
        text = "; ".join(
            f"{field}: {' '.join(map(str, m)) if isinstance(m, list) else m}" for field, m in messages.items()
        )
        raise DomainError(text, errors={"form": messages}) from None


def branch_today() -> date:
    return local_today(g.branch.timezone, app_now())


def date_arg(name: str, default: date) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:  # the pages step a day and a year either side
        abort(
            make_response(
                refusal_page(
                    DomainError(gettext("Not a date: write YYYY-MM-DD.") + f" ({name}={text[:20]})"), status=400
                )
            )
        )
    return day


def month_arg(name: str, default: Month) -> Month:
    """A ``YYYY-MM`` query argument; anything else is a 400 page that says how to write it."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        month: Month | None = Month.parse(text)
    except ValueError:
        month = None
    if month is None or not FIRST_MONTH <= month <= LAST_MONTH:
        abort(
            make_response(
                refusal_page(
                    DomainError(gettext("Not a month: write YYYY-MM, e.g. 2026-10.") + f" ({name}={text[:20]})"),
                    status=400,
                )
            )
        )
    return month


def month_range(default_months: int) -> tuple[Month, Month]:
    """``from`` and ``to`` as months (by default the ``default_months`` up to this one); 400 when backwards."""
    last = month_arg("to", Month.of(branch_today()))
    first = month_arg("from", last - (default_months - 1))
    if first > last:
        abort(make_response(refusal_page(DomainError(gettext("'From' is after 'to': swap them.")), status=400)))
    if last - first >= MAX_REPORT_MONTHS:
        too_long = DomainError(gettext("At most %(months)s months at a time.", months=MAX_REPORT_MONTHS))
        abort(make_response(refusal_page(too_long, status=400)))
    return first, last


def wants_csv() -> bool:
    return request.args.get("format") == "csv"


def csv_response(name: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Response:
    response = Response(csv_text(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- login -------------------------------------------------------------------------------------------


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with username and password (throttled as /agen: per address and username, and per address)."""
    if request.method == "GET":
        return render_template("keuangan/login.html")
    if not _csrf_ok():
        return render_template(
            "keuangan/login.html", error=gettext("The form expired: reload the page and try again.")
        ), 400
    try:
        user = password_login("keuangan")
    except DomainError as refused:
        return refused_login("keuangan/login.html", refused)
    if user.role not in FINANCE_ROLES:
        return render_template(
            "keuangan/login.html", error=gettext("These pages are for branch finance, supervisors and admins.")
        ), 403
    log_in(user, "keuangan")
    target = safe_next(request.args.get("next", ""), "/keuangan/")
    return redirect(target or url_for("keuangan.batches_page"), code=303)


@bp.post("/keluar")
@finance_required
def logout() -> ResponseReturnValue:
    log_out()
    return redirect(url_for("keuangan.login"), code=303)


# --- daily batches -----------------------------------------------------------------------------------


# --- the unmatched queue -----------------------------------------------------------------------------


# --- reports -----------------------------------------------------------------------------------------


# --- incentives --------------------------------------------------------------------------------------


# --- reports that steer a branch ---------------------------------------------------------------------
