"""The finance desk's agents who are no longer active but still hold cash: their cash on hand, and the setoran
finance records for them (payments/finance/deposits.py ``record_deposit_for_agent``, as the API does)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from core.clock import app_now
from core.errors import DomainError, Forbidden
from core.extensions import db
from core.i18n import day_label, rupiah
from core.paging import asked_page, desk_page, desk_window
from payments.finance import references
from payments.finance.deposits import (
    FOR_AGENT_ROLES,
    departed_agents_with_cash,
    deposits_for_departed,
    record_deposit_for_agent,
)
from payments.finance.desk import bp, branch_today, finance_required, load_form, messages_of
from payments.finance.models import StatementLine
from payments.finance.schemas import AgentDepositRequestSchema

FORM_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,80}$")  # as core/idempotency.py's header
FIELDS = ("amount_idr", "bank_reference", "deposited_on", "idempotency_key")


@bp.get("/agen-nonaktif")
@finance_required
def departed_page() -> ResponseReturnValue:
    """Agents deactivated or terminated who still hold cash, each with a form to record his setoran."""
    return _render()


def _render(status: int = 200, error: tuple[int, DomainError] | None = None, form: dict[str, str] | None = None) -> Any:
    today = branch_today()
    g.page_url = url_for("keuangan.departed_page")
    number = asked_page()
    recorded, count = deposits_for_departed(db.session, g.branch.id, *desk_window(number))
    page = render_template(
        "keuangan/departed.html",
        holders=departed_agents_with_cash(db.session, g.branch.id, today),
        recorded=recorded,
        page=desk_page(count, number, endpoint="keuangan.departed_page"),
        today=today,
        can_record=g.user.role in FOR_AGENT_ROLES,
        error=error,
        error_details=messages_of(error[1]) if error else [],
        error_fields={name for where in (error[1].errors or {}).values() for name in where or {}} if error else set(),
        form=form or {},
        new_key=lambda: str(uuid.uuid4()),
    )
    return page, status


@bp.post("/agen-nonaktif/<int:agent_id>/setoran")
@finance_required
def record_departed_deposit(agent_id: int) -> ResponseReturnValue:
    """Record the setoran of an agent who is no longer active; matched with the bank lines at once."""
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    data: dict[str, Any] = {k: v for k, v in form.items() if v and k != "idempotency_key"}
    amount = data.get("amount_idr", "").replace(".", "")
    if amount.isdecimal() and len(amount) < 13:
        data["amount_idr"] = int(amount)
    try:
        if g.user.role not in FOR_AGENT_ROLES:
            raise Forbidden(
                gettext("Only branch finance (or an admin) records the deposit of an agent no longer active.")
            )
        if not FORM_KEY.match(form["idempotency_key"]):
            raise DomainError(gettext("The form expired: reload the page and try again."))
        payload = load_form(AgentDepositRequestSchema(), data)
        deposit, _ = record_deposit_for_agent(
            db.session,
            g.user,
            agent_id,
            amount_idr=payload["amount_idr"],
            bank_reference=payload["bank_reference"],
            deposited_on=payload["deposited_on"],
            idempotency_key=form["idempotency_key"],
            now=app_now(),
            branch_id=g.branch.id,
        )
    except DomainError as error:
        db.session.rollback()
        return _render(error.status, (agent_id, error), form)
    matched = db.session.scalar(select(StatementLine.id).where(StatementLine.deposit_id == deposit.id))
    amount_text = rupiah(deposit.amount_idr)
    if matched:
        flash(
            gettext(
                "Deposit of %(amount)s recorded and matched with bank line #%(line)s.", amount=amount_text, line=matched
            )
        )
    else:
        flash(
            gettext(
                "Deposit of %(amount)s recorded; not on a bank statement yet: it is matched when the statement is "
                "uploaded.",
                amount=amount_text,
            )
        )
    for other in references.shared_references(db.session, g.branch.id, [(deposit.id, deposit.bank_reference)]).get(
        deposit.id, []
    ):
        flash(
            gettext(
                "Warning: bank reference %(reference)s is also on deposit #%(id)s of %(agent)s (%(amount)s, %(day)s). "
                "Recorded all the same (two deposits may share one slip): check it against the bank line.",
                reference=deposit.bank_reference,
                id=other.deposit_id,
                agent=other.agent_code,
                amount=rupiah(other.amount_idr),
                day=day_label(other.deposited_on),
            )
        )
    return redirect(url_for("keuangan.departed_page"), code=303)
