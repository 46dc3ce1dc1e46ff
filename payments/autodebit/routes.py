"""Auto-debit's API: mandates, the agents' visit list, callbacks to review, settlement reports and debit runs."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, url_for
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint

from core.clock import app_now
from core.errors import DomainError, ServiceUnavailable
from core.extensions import db
from core.idempotency import IDEMPOTENCY_DOC, idempotency_key
from core.paging import MAX_PAGE_SIZE, PAGE_SIZE, Page
from organisation.auth import current_user, require_roles
from organisation.models import Role
from payments.autodebit import settlements
from payments.autodebit.providers import configured_providers
from payments.autodebit.review import resolve_review, review_page
from payments.autodebit.schemas import (
    DebitRunsQueuedSchema,
    MandateChangeSchema,
    MandateQuerySchema,
    MandateRequestSchema,
    MandateSchema,
    ReviewResolutionSchema,
    SettlementImportSchema,
    SettlementReportSchema,
    VisitSchema,
    WebhookEventSchema,
)
from payments.autodebit.services import (
    change_mandate,
    create_mandate,
    mandates_of,
    queue_branch_debit_runs,
    visit_list,
)
from workers.queues import queue_settlement_import

bp = Blueprint(
    "autodebit",
    __name__,
    description="Auto-debit: mandates, debit runs, settlement reports, callbacks under review and the visit list",
)


@bp.route("/mandates")
class Mandates(MethodView):
    @require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    @bp.arguments(MandateRequestSchema)
    @bp.response(201, MandateSchema)
    @bp.alt_response(200, schema=MandateSchema, description="A retry: the mandate of the first request")
    @bp.alt_response(409, description="The member already has a live mandate")
    @bp.doc(**IDEMPOTENCY_DOC)
    def post(self, payload: dict[str, Any]) -> tuple[Any, int]:
        """Set up auto-debit for a member (one live mandate per member)."""
        mandate, created = create_mandate(
            db.session,
            current_user(),
            configured_providers(current_app.config),
            member_id=payload["member_id"],
            provider_name=payload["provider"],
            account=payload["account"],
            months_per_debit=payload["months_per_debit"],
            idempotency_key=idempotency_key(),
            now=app_now(),
        )
        return mandate, 201 if created else 200

    @require_roles()
    @bp.arguments(MandateQuerySchema, location="query")
    @bp.response(200, MandateSchema(many=True))
    @bp.paginate(Page, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any]) -> list[Any]:
        """A member's mandates, newest first, in pages."""
        return mandates_of(db.session, current_user(), query["member_id"])


def _mandate_action(target: str) -> Any:
    def action(self: Any, payload: dict[str, Any], mandate_id: int) -> Any:
        return change_mandate(db.session, current_user(), mandate_id, target, payload["reason"])

    action.__doc__ = f"Move the mandate to {target} (the rules say which moves are allowed)."
    return action


@bp.route("/mandates/<int:mandate_id>/cancel")
class MandateCancel(MethodView):
    post = require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)(
        bp.arguments(MandateChangeSchema)(bp.response(200, MandateSchema)(_mandate_action("cancelled")))
    )


@bp.route("/mandates/<int:mandate_id>/pause")
class MandatePause(MethodView):
    post = require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)(
        bp.arguments(MandateChangeSchema)(bp.response(200, MandateSchema)(_mandate_action("paused")))
    )


@bp.route("/mandates/<int:mandate_id>/resume")
class MandateResume(MethodView):
    post = require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)(
        bp.arguments(MandateChangeSchema)(bp.response(200, MandateSchema)(_mandate_action("active")))
    )


VISITS_PAGE_SIZE = 100  # a day's round; before pages the list stopped, silently, at 1,000
VISITS_MAX_PAGE_SIZE = 1000


@bp.route("/visits")
class Visits(MethodView):
    @require_roles()
    @bp.response(200, VisitSchema(many=True))
    @bp.paginate(page_size=VISITS_PAGE_SIZE, max_page_size=VISITS_MAX_PAGE_SIZE)
    def get(self, pagination_parameters: Any) -> list[Any]:
        """Members to visit, oldest first, in pages (``page``, ``page_size``; the total is in X-Pagination): an
        agent's own, or the branch's for supervisors."""
        pp = pagination_parameters
        visits, pp.item_count = visit_list(db.session, current_user(), offset=pp.first_item, limit=pp.page_size)
        return visits


@bp.route("/webhook-events/review")
class ReviewQueue(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.response(200, WebhookEventSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters: Any) -> list[Any]:
        """Callbacks of the branch's orders finance must look at (an admin also sees those of no known order),
        oldest first, in pages."""
        pp = pagination_parameters
        events, pp.item_count = review_page(db.session, current_user(), pp.first_item, pp.page_size)
        return events


@bp.route("/webhook-events/<int:event_id>/resolution")
class ReviewResolution(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.arguments(ReviewResolutionSchema)
    @bp.response(200, WebhookEventSchema)
    @bp.alt_response(409, description="The callback is not under review")
    def post(self, payload: dict[str, Any], event_id: int) -> Any:
        """Resolve a callback under review of the branch's orders (auto-debits, members' own charges), saying what
        was done; it leaves the queue, audited."""
        return resolve_review(
            db.session,
            current_user(),
            event_id,
            payload["note"],
            app_now(),
            outcome=payload.get("outcome"),
            public_base_url=current_app.config["PUBLIC_BASE_URL"],
        )


@bp.route("/settlements/<string:provider_name>")
class Settlements(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.response(200, SettlementReportSchema, description="A small report, imported: what matched, what is missing")
    @bp.alt_response(
        202, schema=SettlementImportSchema, description="A large report, queued: poll the Location for its progress"
    )
    @bp.alt_response(422, description="Rows refused, by row and field; nothing was imported")
    @bp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}}}})
    def post(self, provider_name: str) -> Any:
        """Import a provider's settlement report (CSV body): the caller's branch's lines, matched both ways.

        Lines of another branch's orders, or of no order we know, are counted and left alone. A report larger
        than SETTLEMENT_INLINE_BYTES is imported by a worker: 202 with a Location to poll (200 once done; the
        same file again changes nothing)."""
        if provider_name not in current_app.config["PAYMENT_PROVIDERS"]:
            raise DomainError(
                gettext("No provider called '%(provider)s'.", provider=provider_name),
                errors={"path": {"provider_name": [gettext("unknown")]}},
            )
        content = request.get_data()
        now = app_now()
        if len(content) <= current_app.config["SETTLEMENT_INLINE_BYTES"]:
            return settlements.import_settlement(db.session, current_user(), provider_name, content, now)
        record, new = settlements.start_settlement_import(db.session, current_user(), provider_name, content, now)
        if record.status == "invalid":
            raise settlements.refusal_of(record)
        # queued unless its job is queued or running already; a 503 only when the file would otherwise wait unseen
        if record.status != "done" and not queue_settlement_import(record.id) and (new or record.status == "failed"):
            raise ServiceUnavailable(
                gettext(
                    "The report is kept but could not be queued (the job queue is unavailable): send the same file "
                    "again in a minute."
                )
            )
        response = jsonify(SettlementImportSchema().dump(settlements.describe_import(record)))
        response.status_code = 200 if record.status == "done" else 202
        response.headers["Location"] = url_for("autodebit.SettlementImportById", import_id=record.id)
        return response


@bp.route("/settlement-imports/<int:import_id>")
class SettlementImportById(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.response(200, SettlementImportSchema)
    def get(self, import_id: int) -> Any:
        """A large settlement report's import: its progress, then its report (or the rows refused)."""
        return settlements.describe_import(settlements.settlement_import_for(db.session, current_user(), import_id))


@bp.route("/debit-runs")
class DebitRuns(MethodView):
    @require_roles(Role.ADMIN)
    @bp.response(202, DebitRunsQueuedSchema)
    @bp.alt_response(503, description="The job queue is unavailable: nothing was queued; ask again in a minute")
    def post(self) -> Any:
        """Have workers run the debits that are due, one job per branch (the schedule does this every morning).

        Answers at once with the jobs; a branch whose run is still queued or running keeps that job. Running a
        branch's debits again, or twice at once, sends no debit twice."""
        return {"jobs": queue_branch_debit_runs(db.session, current_user())}
