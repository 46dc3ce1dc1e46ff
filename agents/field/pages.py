"""The agents' mobile web app (/agen): server-rendered pages for cheap phones on patchy data.

Logins are session cookies with a CSRF token per session and a throttle per address and username. Every
form that moves money carries an idempotency key made when the form is shown; static/agen/app.js sends
it with fetch, keeps it on the phone when there is no connection, and sends it again, unchanged, later.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext, pgettext
from marshmallow import ValidationError
from sqlalchemy import select

from agents.incentives.models import IncentiveStatement
from agents.incentives.statements import own_statement
from agents.incentives.texts import worded
from collection.members.position import choice_breakdown, member_position
from collection.members.schemas import MemberCreateSchema
from collection.members.services import enrol_member, find_members, get_member
from core.clock import app_now, local_today
from core.errors import Conflict, DomainError, NotFound, plain_messages, register_error_page
from core.extensions import db
from core.i18n import rupiah
from core.months import Month
from organisation.logins import safe_next
from organisation.models import Agent, AgentStatus, Branch, Role, StaffUser
from organisation.services import agent_of
from organisation.web_login import (
    check_csrf,
    csrf_matches,
    csrf_token,
    log_in,
    log_out,
    password_login,
    refused_login,
    web_user,
)
from payments.autodebit.mandates import LIVE_STATUSES
from payments.autodebit.providers import configured_providers
from payments.autodebit.services import change_mandate, create_mandate, mandates_of
from payments.finance.answers import answer_returned_batch, own_batch
from payments.finance.corrections import corrected_deposits
from payments.finance.deposits import record_deposit
from payments.finance.references import shared_references
from payments.ledger.contributions import record_cash_contribution
from payments.ledger.history import last_payments
from payments.ledger.models import BatchStatus
from payments.ledger.receipts import receipt_link, receipt_text
from payments.ledger.services import agent_day, receipt_by_number
from workers.queues import schedule_outbox_delivery

MAX_DIGITS = 15  # of a typed rupiah amount: more is no amount (and int() refuses strings past 4300 digits: a 500)
CORRECTIONS_SHOWN_DAYS = 14  # finance's corrections of short deposits, on the deposit page
bp = Blueprint("agen", __name__, url_prefix="/agen", template_folder="templates", static_folder="static")

F = TypeVar("F", bound=Callable[..., Any])


def _error_page(status: int, title: str, message: str) -> str:
    """An /agen error that no page caught (routing's 404, a bug that escaped a page): the app's page."""
    return render_template("agen/error.html", title=title, message=message, code=status)


bp.record_once(lambda state: register_error_page(state.app, bp.url_prefix or "/agen", _error_page))


def agent_required(view: F) -> F:
    """Only a logged-in, active agent; POSTs must carry the session's CSRF token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = web_user()
        agent = agent_of(db.session, user) if user and user.role == Role.AGENT else None
        if user is None or agent is None or agent.status != AgentStatus.ACTIVE:
            session.pop("sid", None)
            if _wants_json():
                return jsonify(
                    {"code": 401, "status": "Unauthorized", "message": gettext("Your session expired: log in again.")}
                ), 401
            flash(gettext("Your session expired: log in again."))
            return redirect(url_for("agen.login", next=request.path))
        if request.method == "POST":
            try:
                check_csrf()
                _check_key_owner(user)
            except DomainError as error:
                if _wants_json():
                    body = {"code": error.status, "status": error.name, "message": error.message, **error.extra}
                    return jsonify(body), error.status
                flash(error.message)
                return redirect(request.path)
        g.current_user, g.agent = user, agent
        return view(*args, **kwargs)

    return cast(F, wrapper)


def key_owner(key: str) -> str:
    """A signature, made when a money form is shown, that binds its idempotency key to the agent it was shown to.

    The phone sends a form that waited on it with the CSRF token of the session that sends it (app.js, after a
    logout and a new login, say); this signature keeps another agent who logs in on the same phone from
    booking cash he never took: the server, not the phone, says whose form it is.
    """
    user = g.get("current_user")
    return _key_owner(user.id if user else 0, key)


def _key_owner(user_id: int, key: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"form-owner:{user_id}:{key}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{user_id}.{digest}"


bp.add_app_template_global(key_owner, "key_owner")


def agent_timezone() -> str:
    """The time zone of the logged-in agent's branch, for app.js to write the times it keeps (WIB, WITA, WIT)."""
    agent: Agent | None = g.get("agent")
    branch = db.session.get(Branch, agent.branch_id) if agent is not None else None
    return branch.timezone if branch is not None else ""


bp.add_app_template_global(agent_timezone, "agent_timezone")


def _check_key_owner(user: StaffUser) -> None:
    """A form that carries its owner's signature is only taken from that agent (409 for anyone else)."""
    sent = request.form.get("key_owner", "")
    if sent and not hmac.compare_digest(sent, _key_owner(user.id, request.form.get("idempotency_key", ""))):
        raise Conflict(
            gettext("Another agent filled in this form on this phone; only that agent can send it."),
            reason="queued_by_other_agent",
        )


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with username and password (throttled per address and username, and per address)."""
    if request.method == "GET":
        return render_template("agen/login.html")
    _check_csrf_or_flash()
    try:
        user = password_login("agen")
    except DomainError as refused:
        return refused_login("agen/login.html", refused)
    if user.role != Role.AGENT:
        return render_template("agen/login.html", error=gettext("This app is for Perisai agents.")), 403
    log_in(user, "agen")
    target = safe_next(request.args.get("next", ""), "/agen/")
    return redirect(target or url_for("agen.home"))


def _check_csrf_or_flash() -> None:
    # The login form has a CSRF token too (login CSRF); a stale one just shows the form again.
    if not csrf_matches(request.form.get("csrf_token", "")):
        abort(
            make_response(
                render_template("agen/login.html", error=gettext("The form expired: reload and try again.")), 400
            )
        )


@bp.post("/keluar")
@agent_required
def logout() -> ResponseReturnValue:
    log_out()
    return redirect(url_for("agen.login"))


TODAY_SHOWN = 20  # today's receipts on the home page: the page stays small on a busy day; the sum counts them all


@bp.get("/")
@agent_required
def home() -> ResponseReturnValue:
    """Today: collected, cash on hand, what must be deposited by when; and the search box."""
    day = agent_day(db.session, g.current_user, app_now())
    return render_template("agen/home.html", day=day, TODAY_SHOWN=TODAY_SHOWN)


@bp.get("/cari")
@agent_required
def search() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    members: list[Any] = []
    error = None
    if len(query) >= 2:
        try:
            members, _ = find_members(db.session, g.current_user, q=query, limit=20)
        except DomainError:
            error = gettext("Not valid.")
    return render_template("agen/search.html", q=query, members=members, error=error)


@bp.get("/anggota/<int:member_id>")
@agent_required
def member(member_id: int) -> ResponseReturnValue:
    """A member's standing, next due date, the payment choices with their amounts, and his last payments with how
    each came (cash, auto-debit, paid by himself)."""
    found = _member_or_404(member_id)
    today = _agent_today()
    position = member_position(db.session, found, today)
    live = [m for m in mandates_of(db.session, g.current_user, found.id) if m.status in LIVE_STATUSES]
    return render_template(
        "agen/member.html",
        member=found,
        position=position,
        breakdown=choice_breakdown(db.session, found, position, today),
        key=str(uuid.uuid4()),
        mandate=live[0] if live else None,
        mandate_key=str(uuid.uuid4()),
        providers=sorted(current_app.config["PAYMENT_PROVIDERS"]),
        day=agent_day(db.session, g.current_user, app_now()),
        paid=last_payments(db.session, found.id),
    )


@bp.post("/anggota/<int:member_id>/autodebet")
@agent_required
def mandate(member_id: int) -> ResponseReturnValue:
    """Set up auto-debit with the member present, or pause, resume or cancel it."""
    action = request.form.get("action", "create")
    try:
        if action == "create":
            create_mandate(
                db.session,
                g.current_user,
                configured_providers(current_app.config),
                member_id=member_id,
                provider_name=request.form.get("provider", ""),
                account=request.form.get("account", "").strip(),
                months_per_debit=int(request.form.get("months_per_debit", "1") or 1),
                idempotency_key=request.form.get("idempotency_key") or str(uuid.uuid4()),
                now=app_now(),
            )
            flash(gettext("Auto-debit saved."))
        else:
            target = {"pause": "paused", "resume": "active", "cancel": "cancelled"}.get(action)
            if target is None:
                abort(400)
            change_mandate(db.session, g.current_user, int(request.form.get("mandate_id", "0")), target, "at the agent")
            flash(gettext("Auto-debit saved."))
    except (DomainError, ValueError) as error:
        db.session.rollback()
        flash(getattr(error, "message", str(error)))
    return redirect(url_for("agen.member", member_id=member_id), code=303)


@bp.post("/anggota/<int:member_id>/bayar")
@agent_required
def pay(member_id: int) -> ResponseReturnValue:
    """Record the cash; the same key returns the same receipt (a resubmitted or replayed form)."""
    months = request.form.get("months", "")
    key = request.form.get("idempotency_key", "")
    if not months.isdecimal() or not (8 <= len(key) <= 80):
        return _form_error(gettext("Choose how many months."), member_id)
    try:
        receipt, created = record_cash_contribution(
            db.session,
            g.current_user,
            member_id=member_id,
            months=int(months),
            amount_idr=None,
            paid_on=None,
            idempotency_key=key,
            now=app_now(),
            public_base_url=current_app.config["PUBLIC_BASE_URL"],
        )
    except DomainError as error:
        db.session.rollback()
        return _form_error(error.message, member_id, error.status)
    if created:
        schedule_outbox_delivery()
    target = url_for("agen.receipt", number=receipt.number)
    if _wants_json():
        return jsonify({"receipt_url": target, "number": receipt.number, "created": created}), 201 if created else 200
    return redirect(target, code=303)


def _form_error(message: str, member_id: int, status: int = 422) -> ResponseReturnValue:
    if _wants_json():
        return jsonify({"code": status, "message": message}), status
    flash(message)
    return redirect(url_for("agen.member", member_id=member_id), code=303)


@bp.get("/kuitansi/<string:number>")
@agent_required
def receipt(number: str) -> ResponseReturnValue:
    try:
        view = receipt_by_number(db.session, g.current_user, number)
    except DomainError:
        abort(404)
    return render_template("agen/receipt.html", receipt=view, whatsapp=_whatsapp_link(view))


def _whatsapp_link(view: Any) -> str:
    """A wa.me link that opens WhatsApp on the member's number (when he has one) with the receipt's text, the same
    text the member gets by SMS, its verification link included."""
    link = receipt_link(current_app.config["PUBLIC_BASE_URL"], view.verification_code)
    text = receipt_text(view.amount_idr, view.months_covered, view.number, view.verification_code, link)
    phone = get_member(db.session, g.current_user, view.member_id).phone or ""
    return f"https://wa.me/{phone.removeprefix('+')}?text={quote(text, safe='')}"


@bp.route("/daftar", methods=["GET", "POST"])
@agent_required
def enrol() -> ResponseReturnValue:
    """Enrol a member with the API's validation, its messages in the agent's language."""
    if request.method == "GET":
        return render_template("agen/enrol.html", form={}, errors={})
    form = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    data: dict[str, Any] = {k: v for k, v in form.items() if v}
    if "declared_income_idr" in data:  # agents type 1.500.000 the Indonesian way
        digits = data["declared_income_idr"].replace(".", "").replace(" ", "")
        data["declared_income_idr"] = int(digits) if digits.isdecimal() and len(digits) <= MAX_DIGITS else digits
    try:
        payload = MemberCreateSchema().load(data)
    except ValidationError as error:
        messages = cast(dict[str, Any], error.messages)
        errors = {field: _schema_message(field, text) for field, text in messages.items()}
        return render_template("agen/enrol.html", form=form, errors=_enrol_messages(errors)), 422
    try:
        created = enrol_member(db.session, g.current_user, payload, app_now())
    except DomainError as error:
        db.session.rollback()
        existing = error.extra.get("existing_member")
        if existing:
            errors = {"nik": gettext("This NIK is already member %(kpj)s.", kpj=existing["kpj"])}
        else:
            errors = {field: _service_message(msgs) for field, msgs in (error.errors or {}).get("json", {}).items()}
            errors = _enrol_messages(errors) or {"nik": error.message}
        return render_template("agen/enrol.html", form=form, errors=errors), error.status
    flash(gettext("Member enrolled. KPJ: %(kpj)s", kpj=created.kpj))
    return redirect(url_for("agen.member", member_id=created.id), code=303)


def _enrol_messages(errors: dict[str, str]) -> dict[str, str]:
    """The enrolment form's own words for the name and the income, the fields whose general message says little."""
    worded = dict(errors)
    required = gettext("Required.")
    if "name" in worded and worded["name"] != required:
        worded["name"] = gettext("Write the full name as on the KTP, in letters (2 to 120 characters).")
    if "declared_income_idr" in worded and worded["declared_income_idr"] != required:
        worded["declared_income_idr"] = gettext(
            "Write the monthly income in rupiah, with or without dots: 1.500.000 or 1500000."
        )
    return worded


WORDED_BY_THEIR_RULES = ("nik", "phone")  # the schema checks them with the rules (nik.py, phones.py), in gettext


def _schema_message(field: str, messages: Any) -> str:
    """The form's message for a field the schema refused: the NIK's and the phone's as their rules word them,
    the others' (marshmallow words its messages in English) in the form's own words."""
    text = " ".join(messages) if isinstance(messages, list) else str(messages)
    if "required" in text.lower():
        return gettext("Required.")
    if field in WORDED_BY_THEIR_RULES:
        return _service_message(messages)
    if field == "declared_income_idr":
        return gettext("Must be a whole number, without dots.")
    return _service_message(plain_messages(messages))  # marshmallow's own, said plainly in the reader's language


def _service_message(messages: Any) -> str:
    """The service's own message for a field (NIK, phone…), already in the reader's language."""
    return " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)


@bp.route("/setoran", methods=["GET", "POST"])
@agent_required
def deposit() -> ResponseReturnValue:
    day = agent_day(db.session, g.current_user, app_now())
    if request.method == "GET":
        return render_template("agen/deposit.html", day=day, key=str(uuid.uuid4()), error=None, corrected=_corrected())
    amount = request.form.get("amount_idr", "").replace(".", "").strip()
    reference = request.form.get("bank_reference", "").strip()
    key = request.form.get("idempotency_key", "")
    error: str | None = None
    refused: DomainError | None = None
    if not amount.isdecimal() or len(amount) > MAX_DIGITS or int(amount) <= 0:
        error = gettext("Amount") + ": " + gettext("a whole number of rupiah, with or without dots.")
    elif len(reference) < 3:
        error = pgettext("bank_reference", "Bank reference") + ": " + gettext("Required.")
    elif not 8 <= len(key) <= 80:
        error = gettext("The form expired: reload and try again.")
    if error is None:
        try:
            recorded, created = record_deposit(
                db.session,
                g.current_user,
                amount_idr=int(amount),
                bank_reference=reference,
                deposited_on=None,
                idempotency_key=key,
                now=app_now(),
            )
        except DomainError as refusal:
            db.session.rollback()
            error, refused = refusal.message, refusal
    if error is not None:
        status = refused.status if refused is not None else 422
        if _wants_json():  # app.js sends the form (and resends it from the phone's queue)
            body = {"code": status, "message": error, **(refused.extra if refused is not None else {})}
            return jsonify(body), status
        key = key or str(uuid.uuid4())
        return render_template("agen/deposit.html", day=day, key=key, error=error, corrected=_corrected()), 422
    flash(gettext("Deposit of Rp%(amount)s recorded.", amount=rupiah(recorded.amount_idr).removeprefix("Rp")))
    if shared_references(db.session, recorded.branch_id, [(recorded.id, recorded.bank_reference)]):
        flash(gettext("This bank reference is also on another deposit: finance will check it against the bank."))
    if _wants_json():
        body = {"next_url": url_for("agen.home"), "number": recorded.bank_reference, "created": created}
        return jsonify(body), 201 if created else 200
    return redirect(url_for("agen.home"), code=303)


def _corrected() -> list[Any]:
    """The agent's deposits finance corrected in the last CORRECTIONS_SHOWN_DAYS: he holds their difference again."""
    since = app_now() - timedelta(days=CORRECTIONS_SHOWN_DAYS)
    return corrected_deposits(db.session, g.agent.id, corrected_since=since)


@bp.route("/dikembalikan/<int:batch_id>", methods=["GET", "POST"])
@agent_required
def answer(batch_id: int) -> ResponseReturnValue:
    """Answer a day finance returned: a note, after a corrected deposit when one was missing or short (the same
    key records it once); the day goes back to finance."""
    try:
        batch = own_batch(db.session, g.current_user, batch_id)
    except NotFound:
        abort(404)  # not his batch
    returned = {"id": batch.id, "business_date": batch.business_date, "reason": batch.decision_note}
    returned["corrected"] = corrected_deposits(db.session, batch.agent_id, on=batch.business_date)
    if request.method == "GET":
        if batch.status != BatchStatus.RETURNED:
            flash(gettext("Finance has this day again: there is nothing to answer."))
            return redirect(url_for("agen.home"), code=303)
        return render_template("agen/answer.html", batch=returned, key=str(uuid.uuid4()), form={}, error=None)
    form = {k: request.form.get(k, "").strip() for k in ("note", "amount_idr", "bank_reference")}
    key = request.form.get("idempotency_key", "")
    amount = form["amount_idr"].replace(".", "").replace(" ", "")
    error = None
    if not 3 <= len(form["note"]) <= 300:
        error = gettext("Write what you did about this day, in 3 to 300 characters.")
    elif amount and (not amount.isdecimal() or len(amount) > MAX_DIGITS or int(amount) <= 0):
        error = gettext("Amount") + ": " + gettext("a whole number of rupiah, with or without dots.")
    elif amount and len(form["bank_reference"]) < 3:
        error = pgettext("bank_reference", "Bank reference") + ": " + gettext("Required.")
    elif not 8 <= len(key) <= 80:
        error = gettext("The form expired: reload and try again.")
    if error is None:
        try:
            # only for a day still returned: an answer refused (finance has the day) records no deposit either, and
            # the same answer resent finds its deposit recorded the first time
            if amount and batch.status == BatchStatus.RETURNED:
                record_deposit(
                    db.session,
                    g.current_user,
                    amount_idr=int(amount),
                    bank_reference=form["bank_reference"],
                    deposited_on=None,
                    idempotency_key=key,
                    now=app_now(),
                )
            answer_returned_batch(db.session, g.current_user, batch_id, form["note"], app_now())
        except NotFound:
            db.session.rollback()
            abort(404)  # not his batch
        except DomainError as refused:
            db.session.rollback()
            error = refused.message
    if error is not None:
        return render_template("agen/answer.html", batch=returned, key=key, form=form, error=error), 422
    flash(gettext("Your answer went to finance: they will review the day again."))
    return redirect(url_for("agen.home"), code=303)


@bp.get("/insentif")
@agent_required
def incentives() -> ResponseReturnValue:
    """The agent's own incentive statement for a month (this month so far by default): totals, each line with
    how it was computed, and what his pending cash will earn. Nobody else's: the statement is the caller's."""
    this_month = Month.of(_agent_today())
    text = request.args.get("month", "").strip()
    try:
        month = Month.parse(text) if text else this_month
        if not 2000 <= month.year <= 2099:  # the page links a month either side
            raise ValueError(text)
    except ValueError:
        return render_template(
            "agen/incentives.html", statement=None, error=gettext("Not a month: write YYYY-MM, e.g. 2026-10.")
        ), 400
    try:
        statement = own_statement(db.session, g.current_user, month, app_now())
    except DomainError as refused:
        return render_template("agen/incentives.html", statement=None, error=refused.message), refused.status
    approved = db.session.scalar(  # own_statement does not say whether the month is final; its stored row does
        select(IncentiveStatement.id).where(
            IncentiveStatement.holder_kind == "agent",
            IncentiveStatement.holder_id == g.agent.id,
            IncentiveStatement.month == month,
        )
    )
    lines, pending = _page_of(statement.lines, "page"), _page_of(statement.pending_lines, "pending_page")
    lines = replace(lines, lines=[worded(line) for line in lines.lines])
    pending = replace(pending, lines=[worded(line) for line in pending.lines])
    return render_template(
        "agen/incentives.html",
        statement=statement,
        lines=lines,
        pending=pending,
        approved=approved is not None,
        month=month,
        previous_month=month - 1,
        next_month=month + 1 if month < this_month else None,
        error=None,
    )


INCENTIVE_LINES_PER_PAGE = 50  # a page stays a few KB on the wire however many lines the month holds


@dataclass(frozen=True)
class LinesPage:
    """One page of a statement's lines: the lines, this page's number, the last page's, and how many in all."""

    lines: Sequence[Any]
    number: int
    last: int
    count: int


def _page_of(lines: Sequence[Any], argument: str) -> LinesPage:
    """The page of ``lines`` that the query's ``argument`` names (1 when absent or not a number; the last when
    beyond it)."""
    text = request.args.get(argument, "")
    last = max(1, -(-len(lines) // INCENTIVE_LINES_PER_PAGE))
    number = min(int(text), last) if text.isdecimal() and len(text) < 7 and int(text) >= 1 else 1
    start = (number - 1) * INCENTIVE_LINES_PER_PAGE
    return LinesPage(lines[start : start + INCENTIVE_LINES_PER_PAGE], number, last, len(lines))


@bp.get("/sesi")
def session_state() -> ResponseReturnValue:
    """Who is logged in on this phone and the session's CSRF token, for app.js to send waiting forms with:
    a page kept by the service worker may carry the token of a session that has ended since."""
    user = web_user()
    if user is None or user.role != Role.AGENT:
        response = jsonify(
            {"code": 401, "status": "Unauthorized", "message": gettext("Your session expired: log in again.")}
        )
        response.status_code = 401
    else:
        response = jsonify({"user_id": str(user.id), "csrf_token": csrf_token()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/antrean")
def queue() -> ResponseReturnValue:
    """What is waiting on this phone: rendered by app.js from the phone's own storage, so it works offline."""
    return render_template("agen/queue.html")


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, served from /agen/ so that its scope is the whole app."""
    response = send_from_directory(bp.static_folder or "", "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/agen/"
    return response


def _member_or_404(member_id: int) -> Any:
    try:
        return get_member(db.session, g.current_user, member_id)
    except DomainError:
        abort(404)


def _agent_today() -> Any:
    agent: Agent = g.agent
    branch = db.session.get(Branch, agent.branch_id)
    assert branch is not None
    return local_today(branch.timezone, app_now())
