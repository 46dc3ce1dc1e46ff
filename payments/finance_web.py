"""Branch finance's desktop pages (/keuangan): the agents' daily batches, the unmatched bank credits with
maker-checker, arrears ageing and collections per day, each with its CSV export, charts drawn on the server.

Server-rendered for office PCs on a patchy connection: no JavaScript, nothing from a CDN. The login is the
agents' app's session cookie (one session, one CSRF token per session, the same login throttle), for branch
finance, supervisors and admins; an admin picks the branch (``?cabang=``), the others see their own. Every
page is a service of payments/batches.py, bank.py or reports.py; a service's refusal is shown on the page it
came from, with the status it carries.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
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
from marshmallow import Schema, ValidationError
from sqlalchemy import select
from werkzeug.security import check_password_hash

from agents.i18n import language, rupiah
from agents.models import Agent, Branch, Role, StaffUser
from agents.web import csrf_token
from core import audit, ratelimit
from core.charts import Series, bar_chart
from core.clock import app_now, local_today
from core.csvexport import csv_filename, csv_text
from core.errors import DomainError, Forbidden
from extensions import db
from payments import bank, batches, reports
from payments.finance_texts import t
from payments.models import Deposit, MatchProposal, StatementLine, StatementLineStatus
from payments.schemas import ApproveRequestSchema, DecisionRequestSchema, ProposalRequestSchema, ReturnRequestSchema
from payments.statements import BANK_FORMATS

bp = Blueprint("keuangan", __name__, url_prefix="/keuangan", template_folder="templates", static_folder="static")

F = TypeVar("F", bound=Callable[..., Any])

FINANCE_ROLES = bank.FINANCE_ROLES
DECIDERS = (Role.BRANCH_FINANCE, Role.ADMIN)  # a supervisor sees batches; finance approves or returns them
DEFAULT_REPORT_DAYS = 30
MAX_REPORT_DAYS = 366
BRANCH_CHOICE = "keuangan_branch_id"
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


# --- texts, formats and the session ------------------------------------------------------------------


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {
        "t": t,
        "lang": language,
        "rupiah": rupiah,
        "csrf_token": csrf_token,
        "local_time": local_time,
        "language_url": _language_url,
        "export_url": _export_url,
        "status_label": lambda status: t(f"status_{status}"),
        "user": g.get("user"),
        "branch": g.get("branch"),
        "branches": g.get("branches", []),
    }


def local_time(at: datetime | None) -> str:
    """A naive-UTC ``*_at`` in the branch's zone: ``2026-11-22 09:00 WIB``."""
    if at is None:
        return "–"
    branch = g.get("branch")
    zone = ZoneInfo(branch.timezone if branch is not None else "Asia/Jakarta")
    return at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


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
    sent = request.form.get("csrf_token", "")
    return bool(sent) and hmac.compare_digest(sent, session.get("csrf", ""))


def finance_required(view: F) -> F:
    """Only a logged-in branch finance, supervisor or admin; POSTs must carry the session's CSRF token.

    ``g.branch`` is the user's own branch, or the one an admin picked; an admin who has not picked one is
    shown the list of branches.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = db.session.get(StaffUser, session.get("user_id", 0))
        if user is None or not user.is_active:
            session.pop("user_id", None)
            flash(t("session_expired"))
            return redirect(url_for("keuangan.login", next=request.path))
        if user.role not in FINANCE_ROLES:
            flash(t("finance_only"))
            return redirect(url_for("keuangan.login", next=request.path))
        if request.method == "POST" and not _csrf_ok():
            return _refused(DomainError(t("csrf_failed")), status=400)
        g.user = user
        if user.role == Role.ADMIN:
            g.branches = list(db.session.scalars(select(Branch).order_by(Branch.code)))
            chosen = request.args.get("cabang", "")
            if chosen.isdigit() and any(b.id == int(chosen) for b in g.branches):
                session[BRANCH_CHOICE] = int(chosen)
            g.branch = next((b for b in g.branches if b.id == session.get(BRANCH_CHOICE)), None)
            if g.branch is None:
                return render_template("keuangan/choose_branch.html")
        else:
            g.branch = bank.branch_for(db.session, user, cast(int, user.branch_id))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _refused(error: DomainError, status: int | None = None) -> ResponseReturnValue:
    """A page that says what was refused and why (a service's message), with its status."""
    db.session.rollback()
    code = status or error.status
    return render_template("keuangan/error.html", message=error.message, details=_messages(error), code=code), code


def _messages(error: DomainError) -> list[str]:
    """Every field message a service or schema attached to the error (a statement's row errors, say)."""
    found: list[str] = []
    for fields in (error.errors or {}).values():
        for messages in (fields or {}).values() if isinstance(fields, dict) else [fields]:
            found.extend(str(m) for m in (messages if isinstance(messages, list) else [messages]))
    return [m for m in found if m != error.message]


def _load(schema: Schema, form: dict[str, Any]) -> dict[str, Any]:
    """A form through the API's schema: its field messages become one DomainError naming the fields."""
    try:
        return cast(dict[str, Any], schema.load(form))
    except ValidationError as error:
        messages = cast(dict[str, Any], error.messages)
        text = "; ".join(
            f"{field}: {' '.join(map(str, m)) if isinstance(m, list) else m}" for field, m in messages.items()
        )
        raise DomainError(text, errors={"form": messages}) from None


def _today() -> date:
    return local_today(g.branch.timezone, app_now())


def _date_arg(name: str, default: date) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:  # the pages step a day and a year either side
        abort(make_response(_refused(DomainError(f"{t('bad_date')} ({name}={text[:20]})"), status=400)))
    return day


def _wants_csv() -> bool:
    return request.args.get("format") == "csv"


def _csv(name: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Response:
    response = Response(csv_text(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- login -------------------------------------------------------------------------------------------


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with username and password; 5 tries per address and username per 15 minutes (as /agen)."""
    if request.method == "GET":
        return render_template("keuangan/login.html")
    if not _csrf_ok():
        return render_template("keuangan/login.html", error=t("csrf_failed")), 400
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    config = current_app.config
    throttle = f"login:{request.remote_addr}:{username}"
    if not ratelimit.allow(throttle, config["LOGIN_ATTEMPTS"], config["LOGIN_WINDOW_SECONDS"]):
        audit.record(
            db.session, "auth.web_login_throttled", "staff_user", None, None, username=username, app="keuangan"
        )
        db.session.commit()
        return render_template("keuangan/login.html", error=t("login_throttled")), 429
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not check_password_hash(user.password_hash, password) or not user.is_active:
        audit.record(db.session, "auth.web_login_refused", "staff_user", None, None, username=username, app="keuangan")
        db.session.commit()
        return render_template("keuangan/login.html", error=t("login_failed")), 401
    if user.role not in FINANCE_ROLES:
        return render_template("keuangan/login.html", error=t("finance_only")), 403
    ratelimit.reset(throttle)
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    csrf_token()
    audit.record(db.session, "auth.web_login", "staff_user", user.id, user.id, app="keuangan")
    db.session.commit()
    target = request.args.get("next", "")
    return redirect(target if target.startswith("/keuangan/") else url_for("keuangan.batches_page"), code=303)


@bp.post("/keluar")
@finance_required
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("keuangan.login"), code=303)


# --- daily batches -----------------------------------------------------------------------------------


@bp.get("/")
@bp.get("/batch")
@finance_required
def batches_page() -> ResponseReturnValue:
    """Every agent's batch of a day (today by default): status, figures, variances with their causes."""
    today = _today()
    day = _date_arg("date", today)
    views = batches.branch_day(db.session, g.user, g.branch.id, day, app_now())
    if _wants_csv():
        return _csv(csv_filename("batches", g.branch.code, day), BATCH_HEADER, [_batch_row(v) for v in views])
    totals = {
        name: sum(getattr(v.figures, name) for v in views)
        for name in ("contributions", "collected_idr", "deposited_idr", "banked_idr", "undeposited_idr")
    }
    totals["variance_idr"] = sum(v.figures.variance_idr for v in views)
    g.page_url = url_for("keuangan.batches_page")
    return render_template(
        "keuangan/batches.html",
        views=views,
        day=day,
        today=today,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        totals=totals,
    )


BATCH_HEADER = (
    "business_date",
    "agent_code",
    "agent_name",
    "status",
    "batch_id",
    "contributions",
    "collected_idr",
    "reversed_idr",
    "held_at_start_idr",
    "held_at_end_idr",
    "deposited_idr",
    "banked_idr",
    "undeposited_idr",
    "deposit_due_by",
    "variance_idr",
    "variances",
    "pending",
)


def _batch_row(view: batches.BatchView) -> list[object]:
    f = view.figures
    return [
        f.business_date,
        f.agent_code,
        f.agent_name,
        view.status,
        view.id,
        f.contributions,
        f.collected_idr,
        f.reversed_idr,
        f.held_at_start_idr,
        f.held_at_end_idr,
        f.deposited_idr,
        f.banked_idr,
        f.undeposited_idr,
        f.deposit_due_by,
        f.variance_idr,
        " | ".join(f"{v.kind}: {v.cause}" for v in f.variances),
        " | ".join(f.pending),
    ]


@bp.get("/batch/<int:batch_id>")
@finance_required
def batch_page(batch_id: int) -> ResponseReturnValue:
    """One batch: figures, deposits and the bank lines matched to them, the day's contributions, the decision."""
    return _render_batch(batch_id)


CONTRIBUTION_HEADER = ("business_date", "agent_code", "receipt", "member", "kpj", "amount_idr", "status", "recorded_at")


def _render_batch(batch_id: int, error: DomainError | None = None, form: dict[str, str] | None = None) -> Any:
    try:
        _, view = batches.get_batch(db.session, g.user, batch_id, app_now())
    except DomainError as refused:
        return _refused(refused)
    contributions = batches.batch_contributions(db.session, view)
    if error is None and _wants_csv():
        f = view.figures
        rows = [
            [
                f.business_date,
                f.agent_code,
                c["receipt"],
                c["member"],
                c["kpj"],
                c["amount_idr"],
                c["status"],
                c["recorded_at"],
            ]
            for c in contributions
        ]
        return _csv(csv_filename("batch", f.agent_code, f.business_date, "contributions"), CONTRIBUTION_HEADER, rows)
    line_ids = [d.statement_line_id for d in view.figures.deposits if d.statement_line_id]
    lines = (
        {line.id: line for line in db.session.scalars(select(StatementLine).where(StatementLine.id.in_(line_ids)))}
        if line_ids
        else {}
    )
    g.page_url = url_for("keuangan.batch_page", batch_id=batch_id)
    page = render_template(
        "keuangan/batch.html",
        view=view,
        contributions=contributions,
        lines=lines,
        can_decide=g.user.role in DECIDERS,
        error=error,
        error_details=_messages(error) if error else [],
        error_fields={name for where in ((error.errors or {}) if error else {}).values() for name in where or {}},
        form=form or {},
    )
    return page, error.status if error else 200


@bp.post("/batch/<int:batch_id>/setujui")
@finance_required
def approve_batch(batch_id: int) -> ResponseReturnValue:
    """Approve a batch (a note when it has variances): its figures are frozen and the agent's day is locked."""
    note = request.form.get("note", "").strip()
    try:
        if g.user.role not in DECIDERS:
            raise Forbidden(t("only_finance_decides"))
        payload = _load(ApproveRequestSchema(), {"note": note} if note else {})
        batches.approve_batch(db.session, g.user, batch_id, payload.get("note"), app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_batch(batch_id, error, {"note": note})
    flash(t("approved_flash"))
    return redirect(url_for("keuangan.batch_page", batch_id=batch_id), code=303)


@bp.post("/batch/<int:batch_id>/kembalikan")
@finance_required
def return_batch(batch_id: int) -> ResponseReturnValue:
    """Return a batch to its agent with a reason; the agent gets a text."""
    reason = request.form.get("reason", "").strip()
    try:
        if g.user.role not in DECIDERS:
            raise Forbidden(t("only_finance_decides"))
        payload = _load(ReturnRequestSchema(), {"reason": reason})
        batches.return_batch(db.session, g.user, batch_id, payload["reason"], app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_batch(batch_id, error, {"reason": reason})
    from workers.queues import schedule_outbox_delivery

    schedule_outbox_delivery()
    flash(t("returned_flash"))
    return redirect(url_for("keuangan.batch_page", batch_id=batch_id), code=303)


# --- the unmatched queue -----------------------------------------------------------------------------


UNMATCHED_HEADER = (
    "line_id",
    "booked_on",
    "amount_idr",
    "description",
    "reference",
    "why_unmatched",
    "proposal_id",
    "proposed_action",
    "proposed_deposit_id",
    "proposed_by",
    "proposal_reason",
)


@bp.get("/mutasi")
@finance_required
def unmatched_page() -> ResponseReturnValue:
    """The branch's unmatched bank credits, each with its open proposal, and the statement upload."""
    return _render_unmatched()


def _render_unmatched(status: int = 200, **shown: Any) -> Any:
    lines = bank.with_proposals(db.session, bank.lines_of(db.session, g.branch.id, StatementLineStatus.UNMATCHED))
    proposals = [cast(MatchProposal | None, line["open_proposal"]) for line in lines]
    proposer_ids = {p.proposed_by_user_id for p in proposals if p is not None}
    names: dict[int, str] = {}
    if proposer_ids:
        found = db.session.execute(select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(proposer_ids)))
        names = {user_id: name for user_id, name in found}
    if _wants_csv() and status == 200 and not shown:
        rows = []
        for line, p in zip(lines, proposals, strict=True):
            rows.append(
                [
                    line["id"],
                    line["booked_on"],
                    line["amount_idr"],
                    line["description"],
                    line["reference"],
                    line["note"],
                    p.id if p else None,
                    p.action if p else None,
                    p.deposit_id if p else None,
                    names.get(p.proposed_by_user_id) if p else None,
                    p.reason if p else None,
                ]
            )
        return _csv(csv_filename("unmatched", g.branch.code, _today()), UNMATCHED_HEADER, rows)
    g.page_url = url_for("keuangan.unmatched_page")
    page = render_template(
        "keuangan/unmatched.html",
        lines=lines,
        names=names,
        deposits=_unbanked_deposits(g.branch.id),
        providers=sorted(current_app.config.get("PAYMENT_PROVIDERS", {})),
        bank_formats=BANK_FORMATS.values(),
        **shown,
    )
    return page, status


def _unbanked_deposits(branch_id: int, limit: int = 300) -> list[tuple[Deposit, str]]:
    """The branch's deposits that no bank credit is matched to yet, newest first, with the agent's code."""
    banked = select(StatementLine.deposit_id).where(StatementLine.deposit_id.is_not(None))
    rows = db.session.execute(
        select(Deposit, Agent.code)
        .join(Agent, Agent.id == Deposit.agent_id)
        .where(Deposit.branch_id == branch_id, Deposit.id.not_in(banked))
        .order_by(Deposit.deposited_on.desc(), Deposit.id.desc())
        .limit(limit)
    )
    return [(deposit, agent_code) for deposit, agent_code in rows]


@bp.post("/mutasi/unggah")
@finance_required
def upload_statement() -> ResponseReturnValue:
    """Import a bank statement (CSV) and match its credits; shows the import report or every bad row."""
    bank_code = request.form.get("bank", "")
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise DomainError(t("file_missing"))
        content = upload.read(bank.MAX_STATEMENT_BYTES + 1)
        if len(content) > bank.MAX_STATEMENT_BYTES:
            raise DomainError(t("file_too_big", mb=bank.MAX_STATEMENT_BYTES // 1_000_000))
        report = bank.import_statement(db.session, g.branch, bank_code, upload.filename, content, g.user.id, app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_unmatched(
            error.status, upload_error=error, upload_errors=_messages(error), chosen_bank=bank_code
        )
    return _render_unmatched(200 if report.already_imported else 201, report=report, chosen_bank=bank_code)


@bp.post("/mutasi/<int:line_id>/usul")
@finance_required
def propose(line_id: int) -> ResponseReturnValue:
    """The maker: propose what an unmatched credit is; nothing changes until a second person approves."""
    form = {k: request.form.get(k, "").strip() for k in ("action", "deposit_id", "provider", "settled_on", "reason")}
    data: dict[str, Any] = {k: v for k, v in form.items() if v}
    if data.get("action") != "deposit":
        data.pop("deposit_id", None)
    if data.get("action") != "settlement":
        data.pop("provider", None)
        data.pop("settled_on", None)
    if "deposit_id" in data and data["deposit_id"].isdigit() and len(data["deposit_id"]) < 11:
        data["deposit_id"] = int(data["deposit_id"])
    try:
        payload = _load(ProposalRequestSchema(), data)
        bank.propose_match(
            db.session,
            g.user,
            line_id,
            action=payload["action"],
            deposit_id=payload.get("deposit_id"),
            provider=payload.get("provider"),
            settled_on=payload.get("settled_on"),
            reason=payload["reason"],
            now=app_now(),
        )
    except DomainError as error:
        db.session.rollback()
        return _render_unmatched(error.status, line_error=(line_id, error), form=form)
    flash(t("proposal_saved"))
    return redirect(url_for("keuangan.unmatched_page"), code=303)


@bp.post("/usulan/<int:proposal_id>/putuskan")
@finance_required
def decide(proposal_id: int) -> ResponseReturnValue:
    """The checker: approve (the match is made) or reject (the credit stays in the queue); never the proposer."""
    approve = request.form.get("decision") == "approve"
    note = request.form.get("note", "").strip()
    try:
        if request.form.get("decision") not in ("approve", "reject"):
            raise DomainError("decision: approve or reject")
        payload = _load(DecisionRequestSchema(), {"note": note} if note else {})
        bank.decide_proposal(db.session, g.user, proposal_id, approve=approve, note=payload.get("note"), now=app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_unmatched(error.status, decide_error=(proposal_id, error))
    flash(t("proposal_approved" if approve else "proposal_rejected"))
    return redirect(url_for("keuangan.unmatched_page"), code=303)


# --- reports -----------------------------------------------------------------------------------------


@bp.get("/tunggakan")
@finance_required
def ageing_page() -> ResponseReturnValue:
    """Members by months owed (1, 2, 3) and lapsed, with active alongside, from the last reconciliation."""
    ageing = reports.arrears_ageing(db.session, g.branch, _today())
    if _wants_csv():
        rows: list[list[object]] = [[ageing.on, r.bucket, r.members] for r in ageing.rows]
        rows.append([ageing.on, "active", ageing.active])
        return _csv(csv_filename("arrears-ageing", g.branch.code, ageing.on), ("on", "bucket", "members"), rows)
    counts = {r.bucket: r.members for r in ageing.rows}
    chart = bar_chart(
        [t(f"bucket_{r.bucket}") for r in ageing.rows],
        [Series(t("members"), [r.members for r in ageing.rows], "#d48a00")],
        title=t("ageing_chart"),
        description=t(
            "ageing_chart_desc",
            b1=counts["1 month"],
            b2=counts["2 months"],
            b3=counts["3 months"],
            lapsed=counts["lapsed"],
        ),
        height=240,
    )
    return render_template("keuangan/ageing.html", ageing=ageing, chart=chart)


COLLECTIONS_HEADER = (
    "date",
    "cash_idr",
    "auto_debit_idr",
    "sponsor_idr",
    "bank_transfer_idr",
    "total_idr",
    "payments",
)


@bp.get("/setoran-harian")
@finance_required
def collections_page() -> ResponseReturnValue:
    """Settled contributions per day by channel (the last 30 days by default), with a stacked chart."""
    last = _date_arg("to", _today())
    first = _date_arg("from", last - timedelta(days=DEFAULT_REPORT_DAYS - 1))
    if first > last:
        return _refused(DomainError(t("from_after_to")), status=400)
    if (last - first).days >= MAX_REPORT_DAYS:
        return _refused(DomainError(t("range_too_long", days=MAX_REPORT_DAYS)), status=400)
    days = reports.collections_per_day(db.session, g.branch, first, last)
    if _wants_csv():
        rows = [
            [d.day, d.cash_idr, d.auto_debit_idr, d.sponsor_idr, d.bank_transfer_idr, d.total_idr, d.payments]
            for d in days
        ]
        return _csv(csv_filename("collections", g.branch.code, first, last), COLLECTIONS_HEADER, rows)
    best = max(days, key=lambda d: d.total_idr)
    channels = (("cash", "cash_idr"), ("auto_debit", "auto_debit_idr"), ("sponsor", "sponsor_idr"))
    series = [Series(t(key), [getattr(d, name) for d in days]) for key, name in channels]
    series.append(Series(t("bank_transfer"), [d.bank_transfer_idr for d in days]))
    chart = bar_chart(
        [f"{d.day:%d/%m}" for d in days],
        series,
        title=t("collections_chart"),
        description=t(
            "collections_chart_desc",
            days=len(days),
            total=rupiah(sum(d.total_idr for d in days)),
            best=rupiah(best.total_idr),
            best_day=best.day.isoformat(),
        ),
        stacked=True,
        width=960,
        height=300,
    )
    totals = {
        name: sum(getattr(d, name) for d in days)
        for name in ("cash_idr", "auto_debit_idr", "sponsor_idr", "bank_transfer_idr", "total_idr", "payments")
    }
    return render_template("keuangan/collections.html", days=days, first=first, last=last, chart=chart, totals=totals)
