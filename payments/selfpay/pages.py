"""/peserta: the member's own page. He asks for a code with his KPJ or NIK and birth date, types it, and for half
an hour sees his standing, receipts, auto-debit and agent, and pays by virtual account or QRIS. Thin: each view
calls one service (payments/selfpay/signin.py, services.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup

from collection.members.models import Member
from collection.members.paylinks import LINK_PATH
from core import logs
from core.clock import app_now
from core.errors import DomainError
from core.extensions import db
from core.i18n import rupiah
from organisation.logins import address_network
from organisation.models import Branch
from organisation.web_login import check_csrf, clear_cached_pages
from payments.autodebit.providers import configured_providers
from payments.selfpay.charges import Method
from payments.selfpay.codes import parse_birth_date
from payments.selfpay.links import LINK_PAID, link_charge, open_link, pay_by_link
from payments.selfpay.qr import qr_svg
from payments.selfpay.services import (
    change_mandate,
    charge_of,
    charge_receipt,
    create_charge,
    overview,
    refuse_unknown_provider,
    status_shown,
)
from payments.selfpay.signin import Secret, end_session, member_of_session, request_code, verify_code
from workers.queues import schedule_outbox_delivery

bp = Blueprint("peserta", __name__, url_prefix="/peserta", template_folder="templates")
SESSION_KEY = "peserta"  # the member's session token, in the signed cookie; staff's is "sid"
CHALLENGE_KEY = "peserta_challenge"
F = TypeVar("F", bound=Callable[..., Any])
FORM_METHODS = {"va": Method.VIRTUAL_ACCOUNT, "qris": Method.QRIS}  # the form's words for how to pay


def _secret() -> Secret:
    return Secret(str(current_app.config["SECRET_KEY"]))


def _address() -> str:
    return address_network(request.remote_addr)


def member_required(view: F) -> F:
    """The signed-in member as ``g.member``; otherwise to the sign-in page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        member = member_of_session(db.session, _secret(), session.get(SESSION_KEY), app_now())
        if member is None:
            if session.pop(SESSION_KEY, None):
                clear_cached_pages()
                flash(gettext("Your session ended: ask for a new code."))
            return redirect(url_for("peserta.sign_in"), code=303)
        g.member = member
        return view(*args, **kwargs)

    return cast(F, wrapper)


@bp.before_app_request
def hide_link_tokens() -> None:
    """A pay link's token opens the member's payment for 7 days: the access log keeps the route, not the token, also
    for a link cut or glued to other text that reaches no route (a blueprint's own hooks do not run for those)."""
    if request.path.startswith(LINK_PATH):
        logs.hide_path(unmatched=f"{LINK_PATH}<unmatched>")


@bp.after_request
def no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"  # a member's data stays off shared phones' caches
    return response


@bp.get("/masuk")
def sign_in() -> ResponseReturnValue:
    return render_template("peserta/masuk.html")


@bp.post("/masuk")
def ask_code() -> ResponseReturnValue:
    """Send a code to the phone on record; the same answer whether or not the KPJ or NIK exists."""
    check_csrf()
    identifier = request.form.get("identifier", "")
    born = parse_birth_date(request.form.get("birth_date", ""))
    try:
        challenge = request_code(db.session, _secret(), identifier, born, _address(), app_now())
    except DomainError as error:
        db.session.rollback()
        if error.status == 429:
            message = gettext("Too many attempts: wait a while and try again.")
            headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
            return render_template("peserta/masuk.html", error=message), 429, headers
        fields = (error.errors or {}).get("json", {})
        message = (
            gettext("Write your birth date.")
            if "birth_date" in fields
            else gettext("Write your KPJ (11 digits) or NIK (16 digits).")
        )
        return render_template("peserta/masuk.html", error=message, identifier=identifier), 422
    schedule_outbox_delivery()
    session[CHALLENGE_KEY] = challenge
    return redirect(url_for("peserta.enter_code"), code=303)


@bp.get("/kode")
def enter_code() -> ResponseReturnValue:
    if not session.get(CHALLENGE_KEY):
        return redirect(url_for("peserta.sign_in"), code=303)
    return render_template("peserta/kode.html")


@bp.post("/kode")
def check_code() -> ResponseReturnValue:
    """The code right: a fresh session of half an hour. Any refusal reads the same."""
    check_csrf()
    try:
        token = verify_code(
            db.session, _secret(), session.get(CHALLENGE_KEY, ""), request.form.get("code", ""), _address(), app_now()
        )
    except DomainError as error:
        db.session.rollback()
        if error.status == 429:
            message = gettext("Too many attempts: wait a while and try again.")
            headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
            return render_template("peserta/kode.html", error=message), 429, headers
        # every other refusal (CODE_REFUSED: wrong, expired, used, spent, a stranger's) reads the same
        return render_template("peserta/kode.html", error=gettext("That code is wrong or has expired.")), 401
    session.pop(CHALLENGE_KEY, None)
    session[SESSION_KEY] = token
    return redirect(url_for("peserta.home"), code=303)


@bp.post("/keluar")
def sign_out() -> ResponseReturnValue:
    check_csrf()
    end_session(db.session, _secret(), session.pop(SESSION_KEY, None), app_now())
    clear_cached_pages()
    return redirect(url_for("peserta.sign_in"), code=303)


@bp.get("/")
@member_required
def home() -> ResponseReturnValue:
    """Status, months owed, paid through, next due, receipts, auto-debit, agent, recent payments."""
    member: Member = g.member
    view = overview(db.session, member, app_now(), current_app.config["PUBLIC_BASE_URL"])
    return render_template("peserta/akun.html", view=view, now=app_now(), status_shown=status_shown)


@bp.post("/autodebet")
@member_required
def mandate() -> ResponseReturnValue:
    """Pause or cancel his auto-debit; setting one up (or resuming it) stays with the agent."""
    check_csrf()
    try:
        change_mandate(
            db.session, g.member, int(request.form.get("mandate_id", "0") or 0), request.form.get("action", "")
        )
        flash(gettext("Auto-debit saved."))
    except (DomainError, ValueError):
        db.session.rollback()
        flash(gettext("That change cannot be made here: ask your agent."))
    return redirect(url_for("peserta.home"), code=303)


@bp.get("/bayar")
@member_required
def pay_choice() -> ResponseReturnValue:
    view = overview(db.session, g.member, app_now(), current_app.config["PUBLIC_BASE_URL"])
    return render_template("peserta/bayar.html", position=view.position)


@bp.post("/bayar")
@member_required
def pay() -> ResponseReturnValue:
    """Open a VA or QRIS charge for the chosen months; asking twice returns the open one."""
    check_csrf()
    months = request.form.get("months", "")
    name = current_app.config.get("SELFPAY_PROVIDER", "midtrans")
    try:
        provider = refuse_unknown_provider(name, configured_providers(current_app.config))
        charge = create_charge(
            db.session,
            name,
            provider,
            member_id=g.member.id,
            months=_months_of(months),
            method=FORM_METHODS.get(request.form.get("method", ""), ""),
            now=app_now(),
        )
    except DomainError as error:
        db.session.rollback()
        if error.status == 422:
            flash(gettext("Choose how many months and how to pay."))
        else:
            flash(gettext("The payment could not be opened now: try again in a few minutes, or pay your agent."))
        return redirect(url_for("peserta.pay_choice"), code=303)
    return redirect(url_for("peserta.charge", charge_id=charge.id), code=303)


def _months_of(text: str) -> int:
    """The form's number of months; 0 (no such choice) for anything else."""
    return int(text) if text.isdecimal() and len(text) < 4 else 0


@bp.get("/bayar/<int:charge_id>")
@member_required
def charge(charge_id: int) -> ResponseReturnValue:
    """The VA number or the QRIS code, the amount, the months and the deadline."""
    try:
        found = charge_of(db.session, g.member, charge_id)
    except DomainError:
        abort(404)
    branch = db.session.get(Branch, g.member.branch_id)
    zone = branch.timezone if branch is not None else "Asia/Jakarta"
    status = status_shown(found, app_now())
    drawn = None
    if found.qr_string and status == "pending":
        drawn = Markup(qr_svg(found.qr_string, gettext("QRIS code to pay %(amount)s", amount=rupiah(found.amount_idr))))
    receipt = charge_receipt(db.session, found, current_app.config["PUBLIC_BASE_URL"])
    return render_template("peserta/tagihan.html", charge=found, status=status, zone=zone, qr=drawn, receipt=receipt)


# --- pay links (payments/selfpay/links.py): the months a reminder names, paid without the code ------------------


def _link_refused(error: DomainError) -> ResponseReturnValue:
    """One page for every refused link: 'paid' when all its months are, else the same words whatever the cause."""
    db.session.rollback()
    headers = {}
    if error.status == 429:
        message = gettext("Too many attempts: wait a while and try again.")
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
    elif error.extra.get("reason") == LINK_PAID:
        message = gettext("These months are already paid. Thank you.")
    else:
        message = gettext("This link does not work (any more). Sign in with a code to see and pay your contributions.")
    return render_template("peserta/tautan.html", view=None, error=message), error.status, headers


@bp.get("/b/<string:token>")
def link(token: str) -> ResponseReturnValue:
    """The masked name, the link's months and today's amount for them (or, once they shifted, the member's choices
    of today with a note), and the choice of VA or QRIS."""
    try:
        view = open_link(db.session, _secret(), token, _address(), app_now())
    except DomainError as error:
        return _link_refused(error)
    return render_template("peserta/tautan.html", view=view, token=token)


@bp.post("/b/<string:token>")
def link_pay(token: str) -> ResponseReturnValue:
    """Open a charge for the link's member and months: the form sends how to pay, and how many months only when the
    link's months shifted (one of today's choices; the member is always the token's)."""
    check_csrf()
    name = current_app.config.get("SELFPAY_PROVIDER", "midtrans")
    try:
        provider = refuse_unknown_provider(name, configured_providers(current_app.config))
        method = FORM_METHODS.get(request.form.get("method", ""), "")
        months = _months_of(request.form.get("months", ""))
        found = pay_by_link(db.session, _secret(), token, method, months, _address(), app_now(), name, provider)
    except DomainError as error:
        if error.status in (404, 410, 429):
            return _link_refused(error)
        db.session.rollback()
        if error.status == 422 and "months" in (error.errors or {}).get("form", {}):
            flash(gettext("Choose how many months and how to pay."))
        elif error.status == 422:
            flash(gettext("Choose how to pay."))
        else:
            flash(gettext("The payment could not be opened now: try again in a few minutes, or pay your agent."))
        return redirect(url_for("peserta.link", token=token), code=303)
    return redirect(url_for("peserta.link_charge_page", token=token, charge_id=found.id), code=303)


@bp.get("/b/<string:token>/<int:charge_id>")
def link_charge_page(token: str, charge_id: int) -> ResponseReturnValue:
    """A charge opened from the link: the VA number or QRIS code, then the receipt's link once paid."""
    try:
        found, receipt, zone = link_charge(
            db.session, _secret(), token, charge_id, _address(), app_now(), current_app.config["PUBLIC_BASE_URL"]
        )
    except DomainError as error:
        return _link_refused(error)
    status = status_shown(found, app_now())
    drawn = None
    if found.qr_string and status == "pending":
        drawn = Markup(qr_svg(found.qr_string, gettext("QRIS code to pay %(amount)s", amount=rupiah(found.amount_idr))))
    back = url_for("peserta.link", token=token)
    return render_template(
        "peserta/tagihan.html", charge=found, status=status, zone=zone, qr=drawn, back=back, receipt=receipt
    )
