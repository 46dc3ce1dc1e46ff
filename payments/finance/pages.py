"""Branch finance's desktop pages (/keuangan): the agents' daily batches, the unmatched bank credits with
maker-checker, arrears ageing and collections per day, the agents' and Wadahs' monthly incentives with
finance's approval, and the reports that steer a branch (coverage by regency with its targets, collections
by channel per month, the agent scorecard, sponsor retention), each with its CSV export, charts drawn on
the server.

Server-rendered for office PCs on a patchy connection: no JavaScript, nothing from a CDN. The login is the
agents' app's session cookie (one session, one CSRF token per session, the same login throttle), for branch
finance, supervisors and admins; an admin picks the branch (``?cabang=``), the others see their own. Every
page is a service of payments/batches.py, bank.py or reports.py, agents/incentive_statements.py or
collection/sponsors.py; a service's refusal is shown on the page it
came from, with the status it carries.
"""

from __future__ import annotations

import csv
import hmac
import io
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

from agents.field.pages import csrf_token, log_in, log_out, password_login, refused_login, web_user
from agents.incentives import statements as incentive_statements
from agents.incentives.rules import CSV_COLUMNS, AgentStatement
from collection.members.models import Member
from collection.sponsors import programmes as sponsors
from core.charts import Series, bar_chart, thousands
from core.clock import app_now, local_today
from core.csvexport import csv_filename, csv_text
from core.errors import DomainError, Forbidden, ServiceUnavailable
from core.extensions import db
from core.i18n import language, rupiah
from core.months import Month
from organisation.logins import safe_next
from organisation.models import Agent, Branch, Role, StaffUser
from payments.finance import bank, batches, reports, statement_import
from payments.finance.statements import BANK_FORMATS
from payments.finance.texts import t
from payments.ledger.models import Deposit, MatchProposal, Receipt, StatementLine, StatementLineStatus
from payments.ledger.schemas import (
    ApproveRequestSchema,
    DecisionRequestSchema,
    ProposalRequestSchema,
    ReturnRequestSchema,
)
from workers.queues import queue_statement_import

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
MAX_TARGET_ROWS = 600  # as the API's TargetsRequestSchema
MAX_TARGET_BYTES = 200_000


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
        user = web_user()
        if user is None:
            session.pop("sid", None)
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
            if chosen.isdecimal() and any(b.id == int(chosen) for b in g.branches):
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


def _month_arg(name: str, default: Month) -> Month:
    """A ``YYYY-MM`` query argument; anything else is a 400 page that says how to write it."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        month: Month | None = Month.parse(text)
    except ValueError:
        month = None
    if month is None or not FIRST_MONTH <= month <= LAST_MONTH:
        abort(make_response(_refused(DomainError(f"{t('bad_month')} ({name}={text[:20]})"), status=400)))
    return month


def _month_range(default_months: int) -> tuple[Month, Month]:
    """``from`` and ``to`` as months (by default the ``default_months`` up to this one); 400 when backwards."""
    last = _month_arg("to", Month.of(_today()))
    first = _month_arg("from", last - (default_months - 1))
    if first > last:
        abort(make_response(_refused(DomainError(t("from_after_to")), status=400)))
    if last - first >= MAX_REPORT_MONTHS:
        abort(make_response(_refused(DomainError(t("range_too_long_months", months=MAX_REPORT_MONTHS)), status=400)))
    return first, last


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
    """Log in with username and password (throttled as /agen: per address and username, and per address)."""
    if request.method == "GET":
        return render_template("keuangan/login.html")
    if not _csrf_ok():
        return render_template("keuangan/login.html", error=t("csrf_failed")), 400
    try:
        user = password_login("keuangan")
    except DomainError as refused:
        return refused_login("keuangan/login.html", refused)
    if user.role not in FINANCE_ROLES:
        return render_template("keuangan/login.html", error=t("finance_only")), 403
    log_in(user, "keuangan")
    target = safe_next(request.args.get("next", ""), "/keuangan/")
    return redirect(target or url_for("keuangan.batches_page"), code=303)


@bp.post("/keluar")
@finance_required
def logout() -> ResponseReturnValue:
    log_out()
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
        report, status = statement_import.submit(
            db.session,
            g.user.id,
            g.branch,
            bank_code,
            upload.filename,
            content,
            app_now(),
            current_app.config["STATEMENT_INLINE_LINES"],
        )
        if status == 202 and not queue_statement_import(report.import_id):
            raise ServiceUnavailable(t("queue_down"))
    except DomainError as error:
        db.session.rollback()
        return _render_unmatched(
            error.status, upload_error=error, upload_errors=_messages(error), chosen_bank=bank_code
        )
    if status == 202:  # a worker imports it: its page shows the progress
        return redirect(url_for("keuangan.statement_import_page", import_id=report.import_id), code=303)
    return _render_unmatched(status, report=report, chosen_bank=bank_code)


@bp.get("/mutasi/impor/<int:import_id>")
@finance_required
def statement_import_page(import_id: int) -> ResponseReturnValue:
    """A large statement's import by a worker: its progress (the page reloads itself), then its report."""
    try:
        report = statement_import.import_for(db.session, g.user, import_id, branch_id=g.branch.id)
    except DomainError as error:
        return _refused(error, status=error.status)
    return _render_unmatched(200, report=report)


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
    if "deposit_id" in data and data["deposit_id"].isdecimal() and len(data["deposit_id"]) < 11:
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
    totals = reports.ChannelTotals.sum_of(days)
    return render_template("keuangan/collections.html", days=days, first=first, last=last, chart=chart, totals=totals)


# --- incentives --------------------------------------------------------------------------------------


INCENTIVE_AGENT_HEADER = (
    "month",
    "approved",
    "agent_id",
    "agent_code",
    "agent_name",
    "wadah_id",
    "new_nik_count",
    "threshold_met",
    "acquisition_idr",
    "collection_idr",
    "clawback_idr",
    "carried_in_idr",
    "total_idr",
    "payable_idr",
    "carried_out_idr",
    "pending_idr",
)
INCENTIVE_WADAH_HEADER = (
    "month",
    "approved",
    "wadah_id",
    "wadah_name",
    "agents",
    "base_idr",
    "share_idr",
    "explanation",
)
STATEMENT_SUMS = (
    "acquisition_idr",
    "collection_idr",
    "clawback_idr",
    "carried_in_idr",
    "total_idr",
    "payable_idr",
    "carried_out_idr",
    "pending_idr",
)


def _last_month() -> Month:
    return Month.of(_today()) - 1


@bp.get("/insentif")
@finance_required
def incentives_page() -> ResponseReturnValue:
    """Every agent's and Wadah's statement for a month (last month by default), draft or approved, and the
    approval form. ``?format=csv`` is one row per agent; ``&holder=wadah`` one row per Wadah."""
    return _render_incentives(_month_arg("month", _last_month()))


def _render_incentives(month: Month, error: DomainError | None = None) -> Any:
    try:
        result = incentive_statements.branch_month(db.session, g.user, g.branch.id, month, app_now())
    except DomainError as refused:
        return _refused(refused)
    if error is None and _wants_csv():
        if request.args.get("holder") == "wadah":
            rows: list[list[object]] = [
                [month, result.approved, w.id, w.name, len(s.agent_totals), s.base_idr, s.share_idr, s.explanation]
                for w, s in result.wadahs
            ]
            return _csv(csv_filename("incentives", g.branch.code, month, "wadahs"), INCENTIVE_WADAH_HEADER, rows)
        rows = [
            [month, result.approved, a.id, a.code, a.user.full_name, a.wadah_id, s.new_nik_count, s.threshold_met]
            + [getattr(s, name) for name in STATEMENT_SUMS]
            for a, s in result.agents
        ]
        return _csv(csv_filename("incentives", g.branch.code, month, "agents"), INCENTIVE_AGENT_HEADER, rows)
    totals = {name: sum(getattr(s, name) for _, s in result.agents) for name in STATEMENT_SUMS}
    totals["wadah_share_idr"] = sum(s.share_idr for _, s in result.wadahs)
    totals["payable_with_wadahs_idr"] = totals["payable_idr"] + totals["wadah_share_idr"]
    chart = None
    if result.agents:
        payable = [s.payable_idr for _, s in result.agents]
        best = max(range(len(payable)), key=lambda i: payable[i])
        chart = bar_chart(
            [a.code for a, _ in result.agents],
            [Series(t("payable"), payable)],
            title=t("incentives_chart", month=str(month)),
            description=t(
                "incentives_chart_desc",
                agents=len(payable),
                total=rupiah(sum(payable)),
                best=rupiah(payable[best]),
                agent=result.agents[best][0].code,
            ),
            height=260,
        )
    g.page_url = url_for("keuangan.incentives_page")
    page = render_template(
        "keuangan/incentives.html",
        result=result,
        month=month,
        previous_month=month - 1,
        next_month=month + 1,
        totals=totals,
        chart=chart,
        can_approve=g.user.role in DECIDERS,
        wadah_export_url=url_for("keuangan.incentives_page", month=str(month), format="csv", holder="wadah"),
        error=error,
        error_details=_messages(error) if error else [],
    )
    return page, error.status if error else 200


@bp.post("/insentif/setujui")
@finance_required
def approve_incentives() -> ResponseReturnValue:
    """Finance makes a month final for the branch (in month order, once it has ended): the service decides."""
    text = request.form.get("month", "").strip()
    try:
        month = Month.parse(text)
    except ValueError:
        return _refused(DomainError(f"{t('bad_month')} (month={text[:20]})"), status=400)
    try:
        incentive_statements.approve_month(db.session, g.user, g.branch.id, month, app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_incentives(month, error)
    flash(t("incentives_approved_flash", month=str(month)))
    return redirect(url_for("keuangan.incentives_page", month=str(month)), code=303)


@bp.get("/insentif/<int:agent_id>")
@finance_required
def agent_incentive_page(agent_id: int) -> ResponseReturnValue:
    """One agent's statement for a month: every line with its base, rate and explanation, pending apart."""
    month = _month_arg("month", _last_month())
    try:
        result = incentive_statements.branch_month(db.session, g.user, g.branch.id, month, app_now())
    except DomainError as refused:
        return _refused(refused)
    found = [(agent, s) for agent, s in result.agents if agent.id == agent_id]
    if not found:
        return _refused(DomainError(t("no_statement", agent=agent_id, month=str(month))), status=404)
    agent, statement = found[0]
    if _wants_csv():
        rows = [line.row() for line in (*statement.lines, *statement.pending_lines)]
        return _csv(csv_filename("incentive", agent.code, month), CSV_COLUMNS, rows)
    g.page_url = url_for("keuangan.agent_incentive_page", agent_id=agent_id)
    return render_template(
        "keuangan/agent_incentive.html",
        result=result,
        agent=agent,
        statement=statement,
        month=month,
        previous_month=month - 1,
        next_month=month + 1,
        members=_members_of(statement),
        receipts=_receipts_of(statement),
    )


def _members_of(statement: AgentStatement) -> dict[int, tuple[str, str | None]]:
    """Name and KPJ of every member the statement's lines name, in one query."""
    ids = {line.member_id for line in (*statement.lines, *statement.pending_lines) if line.member_id}
    if not ids:
        return {}
    rows = db.session.execute(select(Member.id, Member.name, Member.kpj).where(Member.id.in_(ids)))
    return {member_id: (name, kpj) for member_id, name, kpj in rows}


def _receipts_of(statement: AgentStatement) -> dict[int, str]:
    """The receipt number of every payment the statement's lines name, in one query."""
    ids = {line.payment_id for line in (*statement.lines, *statement.pending_lines) if line.payment_id}
    if not ids:
        return {}
    rows = db.session.execute(select(Receipt.payment_id, Receipt.number).where(Receipt.payment_id.in_(ids)))
    return {payment_id: number for payment_id, number in rows}


# --- reports that steer a branch ---------------------------------------------------------------------


COVERAGE_HEADER = (
    "year",
    "regency_code",
    "regency_name",
    "active_members",
    "target_population",
    "coverage_percent",
    "source",
)
TARGET_COLUMNS = ("regency_code", "target_population", "source")


def _year_arg() -> int:
    text = request.args.get("year", "").strip()
    if not text:
        return _today().year
    if not text.isdecimal() or not FIRST_TARGET_YEAR <= int(text) <= LAST_TARGET_YEAR:
        abort(make_response(_refused(DomainError(f"{t('bad_year')} (year={text[:20]})"), status=400)))
    return int(text)


def percent(value: float | None) -> str:
    """``12.5`` → ``12,5%``; no target → ``–``."""
    return "–" if value is None else thousands(float(value)) + "%"


@bp.get("/cakupan")
@finance_required
def coverage_page() -> ResponseReturnValue:
    """Active members per regency or city against the target population the branch entered for a year."""
    year = _year_arg()
    if _wants_csv():
        rows = [
            [year, r.regency_code, r.regency_name, r.active_members, r.target_population, r.coverage_percent, r.source]
            for r in reports.coverage_by_regency(db.session, g.branch, year)
        ]
        return _csv(csv_filename("coverage", g.branch.code, year), COVERAGE_HEADER, rows)
    return _render_coverage(year)


def _render_coverage(
    year: int, status: int = 200, error: DomainError | None = None, row_errors: Sequence[str] = (), typed: str = ""
) -> Any:
    rows = reports.coverage_by_regency(db.session, g.branch, year)
    charted = [r for r in rows if r.coverage_percent is not None]
    chart = None
    if charted:
        values = [float(cast(float, r.coverage_percent)) for r in charted]
        chart = bar_chart(
            [r.regency_name for r in charted],
            [Series(t("coverage_percent"), values, "#2f6db5")],
            title=t("coverage_chart", year=year),
            description=t(
                "coverage_chart_desc",
                regencies=len(charted),
                text="; ".join(f"{r.regency_name} {percent(r.coverage_percent)}" for r in charted),
            ),
            format_value=lambda v: thousands(v) + "%",
            height=260,
        )
    totals = {
        "active_members": sum(r.active_members for r in rows),
        "target_population": sum(r.target_population or 0 for r in charted),
        "active_with_target": sum(r.active_members for r in charted),
    }
    overall = (
        round(100 * totals["active_with_target"] / totals["target_population"], 1)
        if totals["target_population"]
        else None
    )
    g.page_url = url_for("keuangan.coverage_page")
    page = render_template(
        "keuangan/coverage.html",
        year=year,
        rows=rows,
        chart=chart,
        totals=totals,
        overall=overall,
        percent=percent,
        error=error,
        row_errors=row_errors,
        typed=typed,
    )
    return page, status


@bp.post("/cakupan/target")
@finance_required
def set_coverage_targets() -> ResponseReturnValue:
    """Enter or replace the year's targets from the textarea or an uploaded CSV (regency_code,
    target_population,source); every bad row is named and nothing is saved."""
    year_text = request.form.get("year", "").strip()
    if not year_text.isdecimal() or not FIRST_TARGET_YEAR <= int(year_text) <= LAST_TARGET_YEAR:
        return _refused(DomainError(f"{t('bad_year')} (year={year_text[:20]})"), status=400)
    year = int(year_text)
    typed = request.form.get("targets", "")
    upload = request.files.get("file")
    lines: list[int] = []
    try:
        if upload is not None and upload.filename:
            content = upload.read(MAX_TARGET_BYTES + 1)
            if len(content) > MAX_TARGET_BYTES:
                raise DomainError(t("targets_file_too_big", kb=MAX_TARGET_BYTES // 1000))
            text = content.decode("utf-8-sig", errors="replace")
        else:
            text = typed
        rows, lines = _target_rows(text)
        reports.set_targets(db.session, g.branch, year, rows, g.user.id)
    except DomainError as error:
        db.session.rollback()
        return _render_coverage(year, error.status, error, _target_errors(error, lines), typed)
    flash(t("targets_saved", rows=len(rows), year=year))
    return redirect(url_for("keuangan.coverage_page", year=year), code=303)


def _target_rows(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows for set_targets from CSV text (a header row is optional), and each row's line in the text.

    A target typed the Indonesian way (``120.000``) is read as a number; anything else is passed on as typed,
    so that set_targets names the row. The rows go to set_targets as they were typed: it checks them all.
    """
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, raw in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in raw]
        if not any(cells) or (number == 1 and cells[0].lower() == TARGET_COLUMNS[0]):
            continue
        code, target, source = [*cells, "", "", ""][:3]
        digits = target.replace(".", "").replace(" ", "")
        number_typed = digits.isdecimal() and len(digits) <= 10  # a longer one is passed as text, to be refused
        rows.append(
            {"regency_code": code, "target_population": int(digits) if number_typed else target, "source": source}
        )
        lines.append(number)
    if not rows:
        raise DomainError(t("targets_missing"))
    if len(rows) > MAX_TARGET_ROWS:
        raise DomainError(t("targets_too_many", rows=MAX_TARGET_ROWS))
    return rows, lines


def _target_errors(error: DomainError, lines: Sequence[int]) -> list[str]:
    """set_targets' messages per row, each named by its line in what was typed or uploaded."""
    per_row = ((error.errors or {}).get("json") or {}).get("targets") or {}
    found = []
    for index in sorted(per_row, key=int):
        line = lines[int(index)] if int(index) < len(lines) else int(index) + 1
        for field, messages in per_row[index].items():
            found.append(t("target_row_error", line=line, field=field, message=" ".join(messages)))
    return found


CHANNEL_HEADER = ("month", "cash_idr", "auto_debit_idr", "sponsor_idr", "bank_transfer_idr", "total_idr", "payments")
CHANNEL_FIELDS = ("cash_idr", "auto_debit_idr", "sponsor_idr", "bank_transfer_idr")
CHANNEL_TEXTS = ("cash", "auto_debit", "sponsor", "bank_transfer")


@bp.get("/saluran")
@finance_required
def channels_page() -> ResponseReturnValue:
    """Settled contributions per month by channel (the last 12 months by default), with a stacked chart."""
    first, last = _month_range(default_months=12)
    months = reports.collections_by_channel(db.session, g.branch, first, last)
    if _wants_csv():
        rows = [[m.month, *(getattr(m, f) for f in CHANNEL_FIELDS), m.total_idr, m.payments] for m in months]
        return _csv(csv_filename("collections-by-channel", g.branch.code, first, last), CHANNEL_HEADER, rows)
    channels = zip(CHANNEL_TEXTS, CHANNEL_FIELDS, strict=True)
    series = [Series(t(key), [getattr(m, name) for m in months]) for key, name in channels]
    best = max(months, key=lambda m: m.total_idr)
    chart = bar_chart(
        [str(m.month) for m in months],
        series,
        title=t("channels_chart"),
        description=t(
            "channels_chart_desc",
            months=len(months),
            total=rupiah(sum(m.total_idr for m in months)),
            best=rupiah(best.total_idr),
            best_month=str(best.month),
        ),
        stacked=True,
        width=960,
        height=300,
    )
    totals = reports.ChannelTotals.sum_of(months)
    return render_template("keuangan/channels.html", months=months, first=first, last=last, chart=chart, totals=totals)


SCORECARD_HEADER = (
    "from",
    "to",
    "agent_id",
    "agent_code",
    "agent_name",
    "status",
    "members_enrolled",
    "collected_idr",
    "payments",
    "average_deposit_delay_days",
    "undeposited_idr",
    "batches_approved",
    "batches_returned",
    "variance_idr",
    "members_lapsed",
)
SCORECARD_SUMS = (
    "members_enrolled",
    "collected_idr",
    "payments",
    "undeposited_idr",
    "batches_approved",
    "batches_returned",
    "variance_idr",
    "members_lapsed",
)


def days(value: float | None) -> str:
    """An average delay in days, ``1,5``; none to average → ``–``."""
    return "–" if value is None else thousands(float(value))


@bp.get("/kinerja")
@finance_required
def scorecard_page() -> ResponseReturnValue:
    """Each agent over the months asked (this month by default): enrolled, collected, how fast his cash
    reached the bank, what finance found in his batches, and how many of his members lapsed."""
    first, last = _month_range(default_months=1)
    rows = reports.agent_scorecard(db.session, g.branch, first.first_day(), last.last_day())
    if _wants_csv():
        body = [
            [
                first,
                last,
                r.agent_id,
                r.agent_code,
                r.agent_name,
                r.status,
                r.members_enrolled,
                r.collected_idr,
                r.payments,
                r.average_deposit_delay_days,
                r.undeposited_idr,
                r.batches_approved,
                r.batches_returned,
                r.variance_idr,
                r.members_lapsed,
            ]
            for r in rows
        ]
        return _csv(csv_filename("agent-scorecard", g.branch.code, first, last), SCORECARD_HEADER, body)
    chart = None
    if rows:
        best = max(rows, key=lambda r: r.collected_idr)
        chart = bar_chart(
            [r.agent_code for r in rows],
            [
                Series(t("collected"), [r.collected_idr for r in rows]),
                Series(t("undeposited"), [r.undeposited_idr for r in rows], "#b00020"),
            ],
            title=t("scorecard_chart"),
            description=t(
                "scorecard_chart_desc",
                agents=len(rows),
                total=rupiah(sum(r.collected_idr for r in rows)),
                best=rupiah(best.collected_idr),
                agent=best.agent_code,
            ),
            height=280,
        )
    totals = {name: sum(getattr(r, name) for r in rows) for name in SCORECARD_SUMS}
    return render_template(
        "keuangan/scorecard.html", rows=rows, first=first, last=last, chart=chart, totals=totals, days=days
    )


RETENTION_HEADER = (
    "on",
    "programme_id",
    "programme_code",
    "programme_name",
    "sponsor",
    "last_month",
    "members",
    "months_after",
    "month",
    "due_on",
    "measured",
    "paying",
    "share_percent",
)


def share_percent(share: float | None) -> float | None:
    """A share (0.4167) as a percentage with one decimal (41.7)."""
    return None if share is None else round(100 * share, 1)


@bp.get("/retensi")
@finance_required
def retention_page() -> ResponseReturnValue:
    """Per sponsor programme of the branch: the share of its members still paying 1, 3, 6 and 12 months
    after the sponsorship ended (a point is measured once that month's due date has passed)."""
    on = _date_arg("on", _today())
    try:
        programmes = [f for f in sponsors.list_programmes(db.session, g.user) if f.programme.branch_id == g.branch.id]
        measured = [(f, sponsors.retention(db.session, g.user, f.programme.id, on, app_now())) for f in programmes]
    except DomainError as refused:
        return _refused(refused)
    if _wants_csv():
        rows = [
            [
                r.on,
                r.programme_id,
                r.code,
                f.programme.name,
                f.sponsor.name,
                r.last_month,
                r.members,
                p.months_after,
                p.month,
                p.due_on,
                p.measured,
                p.paying,
                share_percent(p.share),
            ]
            for f, r in measured
            for p in r.points
        ]
        return _csv(csv_filename("sponsor-retention", g.branch.code, on), RETENTION_HEADER, rows)
    chart = None
    if measured:
        points = sponsors.RETENTION_POINTS
        chart = bar_chart(
            [r.code for _, r in measured],
            [
                Series(
                    t("months_after", n=k),
                    [share_percent(r.points[i].share) or 0.0 for _, r in measured],
                )
                for i, k in enumerate(points)
            ],
            title=t("retention_chart"),
            description=t("retention_chart_desc", programmes=len(measured)),
            format_value=lambda v: thousands(v) + "%",
            height=280,
        )
    return render_template(
        "keuangan/retention.html",
        measured=measured,
        on=on,
        chart=chart,
        points=sponsors.RETENTION_POINTS,
        percent=percent,
        share_percent=share_percent,
    )
