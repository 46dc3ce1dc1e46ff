"""The finance desk's incentive pages (/keuangan/insentif): the month's statements of agents and Wadahs,
finance's approval, and their CSV."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from agents.incentives import statements as incentive_statements
from agents.incentives.rules import AgentStatement, WadahStatement
from agents.incentives.texts import CSV_COLUMNS, csv_row, share_explanation, worded_share, worded_statement
from collection.members.models import Member
from core.charts import Series, bar_chart
from core.clock import app_now
from core.csvexport import csv_filename
from core.errors import DomainError
from core.extensions import db
from core.i18n import rupiah
from core.months import Month
from payments.finance.desk import (
    DECIDERS,
    bp,
    branch_today,
    csv_response,
    finance_required,
    messages_of,
    month_arg,
    refusal_page,
    wants_csv,
)
from payments.ledger.models import Receipt

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
    return Month.of(branch_today()) - 1


@bp.get("/insentif")
@finance_required
def incentives_page() -> ResponseReturnValue:
    """Every agent's and Wadah's statement for a month (last month by default), draft or approved, and the
    approval form. ``?format=csv`` is one row per agent; ``&holder=wadah`` one row per Wadah."""
    return _render_incentives(month_arg("month", _last_month()))


def _render_incentives(month: Month, error: DomainError | None = None) -> Any:
    try:
        result = incentive_statements.branch_month(db.session, g.user, g.branch.id, month, app_now())
    except DomainError as refused:
        return refusal_page(refused)
    if error is None and wants_csv():
        if request.args.get("holder") == "wadah":
            rows: list[list[object]] = [
                [
                    month,
                    result.approved,
                    w.id,
                    w.name,
                    len(s.agent_totals),
                    s.base_idr,
                    s.share_idr,
                    share_explanation(s),
                ]
                for w, s in result.wadahs
            ]
            name = csv_filename("incentives", g.branch.code, month, "wadahs")
            return csv_response(name, INCENTIVE_WADAH_HEADER, rows)
        rows = [
            [month, result.approved, a.id, a.code, a.user.full_name, a.wadah_id, s.new_nik_count, s.threshold_met]
            + [getattr(s, name) for name in STATEMENT_SUMS]
            for a, s in result.agents
        ]
        return csv_response(csv_filename("incentives", g.branch.code, month, "agents"), INCENTIVE_AGENT_HEADER, rows)
    totals = {name: sum(getattr(s, name) for _, s in result.agents) for name in STATEMENT_SUMS}
    totals["wadah_share_idr"] = sum(s.share_idr for _, s in result.wadahs)
    totals["payable_with_wadahs_idr"] = totals["payable_idr"] + totals["wadah_share_idr"]
    chart = None
    if result.agents:
        payable = [s.payable_idr for _, s in result.agents]
        best = max(range(len(payable)), key=lambda i: payable[i])
        chart = bar_chart(
            [a.code for a, _ in result.agents],
            [Series(gettext("Payable"), payable)],
            title=gettext("Payable per agent, %(month)s", month=str(month)),
            description=gettext(
                "%(agents)s agents, %(total)s in all; the highest %(best)s (%(agent)s).",
                agents=len(payable),
                total=rupiah(sum(payable)),
                best=rupiah(payable[best]),
                agent=result.agents[best][0].code,
            ),
            height=260,
        )
    g.page_url = url_for("keuangan.incentives_page")
    result = replace(result, wadahs=[(w, cast(WadahStatement, worded_share(s))) for w, s in result.wadahs])
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
        error_details=messages_of(error) if error else [],
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
        return refusal_page(
            DomainError(gettext("Not a month: write YYYY-MM, e.g. 2026-10.") + f" (month={text[:20]})"), status=400
        )
    try:
        incentive_statements.approve_month(db.session, g.user, g.branch.id, month, app_now())
    except DomainError as error:
        db.session.rollback()
        return _render_incentives(month, error)
    flash(gettext("Incentives for %(month)s approved: final.", month=str(month)))
    return redirect(url_for("keuangan.incentives_page", month=str(month)), code=303)


@bp.get("/insentif/<int:agent_id>")
@finance_required
def agent_incentive_page(agent_id: int) -> ResponseReturnValue:
    """One agent's statement for a month: every line with its base, rate and explanation, pending apart."""
    month = month_arg("month", _last_month())
    try:
        result = incentive_statements.branch_month(db.session, g.user, g.branch.id, month, app_now())
    except DomainError as refused:
        return refusal_page(refused)
    found = [(agent, s) for agent, s in result.agents if agent.id == agent_id]
    if not found:
        return refusal_page(
            DomainError(
                gettext("Agent %(agent)s has no %(month)s statement in this branch.", agent=agent_id, month=str(month))
            ),
            status=404,
        )
    agent, statement = found[0]
    if wants_csv():
        rows = [csv_row(line) for line in (*statement.lines, *statement.pending_lines)]
        return csv_response(csv_filename("incentive", agent.code, month), CSV_COLUMNS, rows)
    g.page_url = url_for("keuangan.agent_incentive_page", agent_id=agent_id)
    return render_template(
        "keuangan/agent_incentive.html",
        result=result,
        agent=agent,
        statement=worded_statement(statement),
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
