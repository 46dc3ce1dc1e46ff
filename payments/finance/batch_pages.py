"""The finance desk's daily batches: an agent's day, its cash, deposits and what the bank shows of them,
approved or returned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from sqlalchemy import select

from core.clock import app_now
from core.csvexport import csv_filename
from core.errors import DomainError, Forbidden, field_error
from core.extensions import db
from payments.finance import approvals, batches, references
from payments.finance.corrections import correct_short_deposit
from payments.finance.desk import (
    DECIDERS,
    bp,
    branch_today,
    csv_response,
    date_arg,
    finance_required,
    load_form,
    messages_of,
    refusal_page,
    wants_csv,
)
from payments.finance.models import StatementLine
from payments.finance.schemas import ApproveRequestSchema, DepositCorrectionRequestSchema, ReturnRequestSchema
from payments.finance.texts import pending_text, variance_cause
from workers.queues import schedule_outbox_delivery


@bp.get("/")
@bp.get("/batch")
@finance_required
def batches_page() -> ResponseReturnValue:
    """Every agent's batch of a day (today by default): status, figures, variances with their causes."""
    today = branch_today()
    day = date_arg("date", today)
    views = batches.branch_day(db.session, g.user, g.branch.id, day, app_now())
    if wants_csv():
        return csv_response(csv_filename("batches", g.branch.code, day), BATCH_HEADER, [_batch_row(v) for v in views])
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
        clean=approvals.clean_batches(views),
        can_decide=g.user.role in DECIDERS,
    )


@bp.post("/batch/setujui-bersih")
@finance_required
def approve_clean_batches() -> ResponseReturnValue:
    """Approve a day's clean batches at once; those with variances or pending items stay for one by one."""
    day = date_arg("date", branch_today())
    try:
        done = approvals.approve_clean_batches(db.session, g.user, g.branch.id, day, app_now())
    except DomainError as error:
        return refusal_page(error)
    flash(
        ngettext(
            "%(num)s clean batch approved and locked; %(left)s left to judge one by one.",
            "%(num)s clean batches approved and locked; %(left)s left to judge one by one.",
            len(done.approved),
            left=len(done.left),
        )
    )
    return redirect(url_for("keuangan.batches_page", date=day.isoformat()), code=303)


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
        " | ".join(f"{v.kind}: {variance_cause(v)}" for v in f.variances),
        " | ".join(f"{p.code}: {pending_text(p)}" for p in f.pending),
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
        return refusal_page(refused)
    contributions = batches.batch_contributions(db.session, view)
    if error is None and wants_csv():
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
        name = csv_filename("batch", f.agent_code, f.business_date, "contributions")
        return csv_response(name, CONTRIBUTION_HEADER, rows)
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
        error_details=messages_of(error) if error else [],
        error_fields={name for where in ((error.errors or {}) if error else {}).values() for name in where or {}},
        form=form or {},
        shared=references.shared_references(
            db.session, view.branch_id, [(d.id, d.bank_reference) for d in view.figures.deposits]
        ),
    )
    return page, error.status if error else 200


@bp.post("/batch/<int:batch_id>/setujui")
@finance_required
def approve_batch(batch_id: int) -> ResponseReturnValue:
    """Approve a batch (a note when it has variances): its figures are frozen and the agent's day is locked."""
    note = request.form.get("note", "").strip()
    try:
        if g.user.role not in DECIDERS:
            raise Forbidden(gettext("Only branch finance or an admin approves or returns a batch."))
        payload = load_form(ApproveRequestSchema(), {"note": note} if note else {})
        batches.approve_batch(db.session, g.user, batch_id, payload.get("note"), app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_batch(batch_id, error, {"note": note})
    flash(gettext("Batch approved and locked."))
    return redirect(url_for("keuangan.batch_page", batch_id=batch_id), code=303)


@bp.post("/batch/<int:batch_id>/kembalikan")
@finance_required
def return_batch(batch_id: int) -> ResponseReturnValue:
    """Return a batch to its agent with a reason; the agent gets a text."""
    reason = request.form.get("reason", "").strip()
    try:
        if g.user.role not in DECIDERS:
            raise Forbidden(gettext("Only branch finance or an admin approves or returns a batch."))
        payload = load_form(ReturnRequestSchema(), {"reason": reason})
        batches.return_batch(db.session, g.user, batch_id, payload["reason"], app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_batch(batch_id, error, {"reason": reason})

    schedule_outbox_delivery()
    flash(gettext("Batch returned to the agent."))
    return redirect(url_for("keuangan.batch_page", batch_id=batch_id), code=303)


@bp.post("/batch/<int:batch_id>/setoran/<int:deposit_id>/koreksi")
@finance_required
def correct_deposit(batch_id: int, deposit_id: int) -> ResponseReturnValue:
    """Correct a deposit of the batch the bank credited short to what it credited; the agent gets a text."""
    form = {name: request.form.get(name, "").strip() for name in ("amount_idr", "reason")}
    amount = form["amount_idr"].replace(".", "").replace(" ", "")
    try:
        if g.user.role not in DECIDERS:
            raise Forbidden(gettext("Only branch finance (or an admin) corrects a deposit to what the bank credited."))
        if not amount.isdecimal() or len(amount) > 12:
            raise field_error(
                "amount_idr", gettext("Amount") + ": " + gettext("a whole number of rupiah, with or without dots.")
            )
        payload = load_form(DepositCorrectionRequestSchema(), {"amount_idr": int(amount), "reason": form["reason"]})
        _, created = correct_short_deposit(
            db.session,
            g.user,
            deposit_id,
            amount_idr=payload["amount_idr"],
            reason=payload["reason"],
            now=app_now(),
            batch_id=batch_id,
        )
    except DomainError as error:
        db.session.rollback()
        return _render_batch(batch_id, error, {f"correction_{name}": value for name, value in form.items()})
    if created:
        schedule_outbox_delivery()
    flash(gettext("Deposit corrected to what the bank credited: the agent now holds the difference to deposit."))
    return redirect(url_for("keuangan.batch_page", batch_id=batch_id), code=303)
