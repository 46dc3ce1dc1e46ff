"""The ledger's API: agents' cash contributions with receipts, reversals, an agent's cash and the branch's alerts."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from core.clock import app_now
from core.extensions import db
from core.idempotency import IDEMPOTENCY_DOC, idempotency_key
from core.paging import MAX_PAGE_SIZE, PAGE_SIZE
from organisation.auth import current_user, require_roles
from organisation.models import Role
from payments.ledger.alerts import alert_page
from payments.ledger.contributions import record_cash_contribution
from payments.ledger.schemas import (
    AlertSchema,
    CashPositionSchema,
    ContributionRequestSchema,
    ReceiptSchema,
    ReversalRequestSchema,
)
from payments.ledger.services import (
    ReceiptView,
    agent_day,
    receipt_by_number,
    reverse_payment,
)
from workers.queues import schedule_outbox_delivery

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__, description="Cash contributions, receipts, reversals and deposits")


@bp.route("/contributions")
class Contributions(MethodView):
    @require_roles(Role.AGENT)
    @bp.arguments(ContributionRequestSchema())  # one instance (a class is instantiated per request by webargs)
    @bp.response(201, ReceiptSchema, description="Recorded: the new receipt")
    @bp.alt_response(200, schema=ReceiptSchema, description="A retry: the receipt of the first request")
    @bp.alt_response(409, description="Key reused for other content, or cash must be deposited first")
    @bp.doc(**IDEMPOTENCY_DOC)
    def post(self, payload: dict[str, Any]) -> tuple[ReceiptView, int]:
        """Record cash for 1, 3, 6 or 12 months (after any arrears), or an exact amount, with its receipt."""
        receipt, created = record_cash_contribution(
            db.session,
            current_user(),
            member_id=payload["member_id"],
            months=payload.get("months"),
            amount_idr=payload.get("amount_idr"),
            paid_on=payload.get("paid_on"),
            idempotency_key=idempotency_key(),
            now=app_now(),
            public_base_url=current_app.config["PUBLIC_BASE_URL"],
        )
        if created:
            schedule_outbox_delivery()
        return receipt, 201 if created else 200


@bp.route("/contributions/<int:payment_id>/reversal")
class Reversal(MethodView):
    @require_roles(Role.SUPERVISOR, Role.ADMIN)
    @bp.arguments(ReversalRequestSchema)
    @bp.response(200, ReceiptSchema)
    @bp.alt_response(409, description="History imported from the national system: it cannot be reversed")
    def post(self, payload: dict[str, Any], payment_id: int) -> ReceiptView:
        """Reverse a wrong contribution (supervisors only): its months reopen and its receipt says reversed."""
        receipt = reverse_payment(db.session, current_user(), payment_id, payload["reason"], app_now())
        schedule_outbox_delivery()
        return receipt


@bp.route("/receipts/<string:number>")
class ReceiptByNumber(MethodView):
    @require_roles()
    @bp.response(200, ReceiptSchema)
    def get(self, number: str) -> ReceiptView:
        """A receipt of the caller's branch by its number."""
        return receipt_by_number(db.session, current_user(), number)


@bp.route("/agents/me/cash")
class MyCash(MethodView):
    @require_roles(Role.AGENT)
    @bp.response(200, CashPositionSchema)
    def get(self) -> dict[str, Any]:
        """The agent's day: collected today, cash on hand, and by when it must be deposited."""
        return agent_day(db.session, current_user(), app_now())


@bp.route("/alerts")
class Alerts(MethodView):
    @require_roles(Role.SUPERVISOR, Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.response(200, AlertSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters: Any) -> list[Any]:
        """Open alerts of the branch, such as agents blocked by the cash rules, newest first, in pages."""
        pp = pagination_parameters
        alerts, pp.item_count = alert_page(db.session, current_user(), pp.first_item, pp.page_size)
        return alerts
