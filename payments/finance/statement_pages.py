"""The finance desk's bank statements: uploads, their imports, and the unmatched credits, matched by a maker
and a checker."""

from __future__ import annotations

from typing import Any, cast

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from core.clock import app_now
from core.csvexport import csv_filename
from core.errors import DomainError, ServiceUnavailable
from core.extensions import db
from core.paging import asked_page, desk_page, desk_window
from organisation.models import StaffUser
from payments.finance import bank, candidates, proposals, statement_import
from payments.finance.desk import (
    bp,
    branch_today,
    csv_response,
    finance_required,
    load_form,
    messages_of,
    refusal_page,
    wants_csv,
)
from payments.finance.models import MatchProposal, StatementLineStatus
from payments.finance.schemas import DecisionRequestSchema, ProposalRequestSchema
from payments.finance.statements import BANK_FORMATS
from payments.finance.texts import line_note
from workers.queues import queue_statement_import

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
    csv_asked = wants_csv() and status == 200 and not shown
    number = asked_page()
    offset, limit = (0, None) if csv_asked else desk_window(number)  # the CSV: every line
    unmatched, count = proposals.line_page(db.session, g.branch.id, StatementLineStatus.UNMATCHED, offset, limit)
    lines = proposals.with_proposals(db.session, unmatched)
    open_proposals = [cast(MatchProposal | None, line["open_proposal"]) for line in lines]
    proposer_ids = {p.proposed_by_user_id for p in open_proposals if p is not None}
    names: dict[int, str] = {}
    if proposer_ids:
        found = db.session.execute(select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(proposer_ids)))
        names = {user_id: name for user_id, name in found}
    if csv_asked:
        rows = []
        for line, p in zip(lines, open_proposals, strict=True):
            rows.append(
                [
                    line["id"],
                    line["booked_on"],
                    line["amount_idr"],
                    line["description"],
                    line["reference"],
                    line_note(line),
                    p.id if p else None,
                    p.action if p else None,
                    p.deposit_id if p else None,
                    names.get(p.proposed_by_user_id) if p else None,
                    p.reason if p else None,
                ]
            )
        return csv_response(csv_filename("unmatched", g.branch.code, branch_today()), UNMATCHED_HEADER, rows)
    g.page_url = url_for("keuangan.unmatched_page")
    page = render_template(
        "keuangan/unmatched.html",
        lines=lines,
        page=desk_page(count, number, endpoint="keuangan.unmatched_page"),
        names=names,
        candidates=candidates.candidates_for(db.session, g.branch.id, lines),
        providers=sorted(current_app.config.get("PAYMENT_PROVIDERS", {})),
        bank_formats=BANK_FORMATS.values(),
        **shown,
    )
    return page, status


@bp.post("/mutasi/unggah")
@finance_required
def upload_statement() -> ResponseReturnValue:
    """Import a bank statement (CSV) and match its credits; shows the import report or every bad row."""
    bank_code = request.form.get("bank", "")
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise DomainError(gettext("Choose the statement file (CSV)."))
        content = upload.read(bank.MAX_STATEMENT_BYTES + 1)
        if len(content) > bank.MAX_STATEMENT_BYTES:
            raise DomainError(
                gettext("The file is over %(mb)s MB: split it by month.", mb=bank.MAX_STATEMENT_BYTES // 1_000_000)
            )
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
            raise ServiceUnavailable(gettext("The job queue is unavailable: upload the same file again in a minute."))
    except DomainError as error:
        db.session.rollback()
        return _render_unmatched(
            error.status, upload_error=error, upload_errors=messages_of(error), chosen_bank=bank_code
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
        return refusal_page(error, status=error.status)
    return _render_unmatched(200, report=report)


@bp.post("/mutasi/<int:line_id>/usul")
@finance_required
def propose(line_id: int) -> ResponseReturnValue:
    """The maker: propose what an unmatched credit is; nothing changes until a second person approves."""
    form = {k: request.form.get(k, "").strip() for k in ("action", "deposit_id", "provider", "settled_on", "reason")}
    other = request.form.get("deposit_other", "").strip().lstrip("#")  # a deposit the list does not offer, by id
    if other:
        form["deposit_id"] = other
    data: dict[str, Any] = {k: v for k, v in form.items() if v}
    if data.get("action") != "deposit":
        data.pop("deposit_id", None)
    if data.get("action") != "settlement":
        data.pop("provider", None)
        data.pop("settled_on", None)
    if "deposit_id" in data and data["deposit_id"].isdecimal() and len(data["deposit_id"]) < 11:
        data["deposit_id"] = int(data["deposit_id"])
    try:
        payload = load_form(ProposalRequestSchema(), data)
        proposals.propose_match(
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
    flash(gettext("Proposal saved; it waits for a second person."))
    return redirect(url_for("keuangan.unmatched_page"), code=303)


@bp.post("/usulan/<int:proposal_id>/putuskan")
@finance_required
def decide(proposal_id: int) -> ResponseReturnValue:
    """The checker: approve (the match is made) or reject (the credit stays in the queue); never the proposer."""
    approve = request.form.get("decision") == "approve"
    note = request.form.get("note", "").strip()
    try:
        if request.form.get("decision") not in ("approve", "reject"):
            raise DomainError(gettext("decision: approve or reject"))
        payload = load_form(DecisionRequestSchema(), {"note": note} if note else {})
        proposals.decide_proposal(
            db.session, g.user, proposal_id, approve=approve, note=payload.get("note"), now=app_now()
        )
    except DomainError as error:
        db.session.rollback()
        return _render_unmatched(error.status, decide_error=(proposal_id, error))
    flash(gettext("Proposal approved.") if approve else gettext("Proposal rejected."))
    return redirect(url_for("keuangan.unmatched_page"), code=303)
