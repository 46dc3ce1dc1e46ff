"""The sponsor programmes API: sponsors, programmes and their members, CSV imports, bulk payments, the end of a
programme and its retention report."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint
from redis.exceptions import RedisError

from collection.members import csv_files
from collection.members.paylinks import signer_of
from collection.sponsors import imports as sponsor_import
from collection.sponsors import payments as sponsor_payments
from collection.sponsors import programmes as sponsors
from collection.sponsors.models import SponsorImport
from collection.sponsors.schemas import (
    AddMemberRequestSchema,
    BreakdownSchema,
    BudgetRequestSchema,
    EndResultSchema,
    ImportQuerySchema,
    ImportSchema,
    ImportUploadSchema,
    ProgrammeMemberSchema,
    ProgrammeQuerySchema,
    ProgrammeRequestSchema,
    ProgrammeSchema,
    RetentionQuerySchema,
    RetentionSchema,
    RowOutcomeSchema,
    SponsorPaymentRequestSchema,
    SponsorPaymentSchema,
    SponsorRequestSchema,
    SponsorSchema,
)
from core.clock import app_now
from core.errors import ServiceUnavailable, field_error
from core.extensions import db
from core.idempotency import IDEMPOTENCY_DOC, idempotency_key
from core.paging import MAX_PAGE_SIZE, PAGE_SIZE, Page
from organisation.auth import current_user, require_roles
from workers.queues import IMPORT_SPONSORED_FILE, LONG_JOB_TIMEOUT, LOW, job_alive, queue, schedule_outbox_delivery

bp = Blueprint("sponsors", __name__, description="Sponsor programmes: Pemda and donors paying members' contributions")
log = logging.getLogger(__name__)
ROLES = sponsors.PROGRAMME_ROLES


@bp.route("/sponsors")
class Sponsors(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(SponsorRequestSchema)
    @bp.response(201, SponsorSchema)
    @bp.alt_response(409, description="A sponsor of that kind and name exists")
    def post(self, payload: dict[str, Any]) -> Any:
        """Register a sponsor: a province, regency or city government (with its region code), or a donor."""
        return sponsors.create_sponsor(
            db.session, current_user(), payload["kind"], payload["name"], payload.get("region_code")
        )

    @require_roles(*ROLES)
    @bp.response(200, SponsorSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters: Any) -> Any:
        """Every sponsor, by name, in pages."""
        pp = pagination_parameters
        found, pp.item_count = sponsors.sponsor_page(db.session, pp.first_item, pp.page_size)
        return found


@bp.route("/sponsor-programmes")
class Programmes(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(ProgrammeRequestSchema)
    @bp.response(201, ProgrammeSchema)
    @bp.alt_response(409, description="The code is taken")
    def post(self, payload: dict[str, Any]) -> Any:
        """Open a programme: a sponsor, a package, 1 to 24 months from ``first_month``, a budget."""
        programme = sponsors.create_programme(db.session, current_user(), payload)
        return sponsors.describe_programmes(db.session, [programme])[0]

    @require_roles(*ROLES)
    @bp.arguments(ProgrammeQuerySchema, location="query")
    @bp.response(200, ProgrammeSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        """The programmes of your branch, newest first, in pages, with members and budget used and left."""
        pp = pagination_parameters
        found, pp.item_count = sponsors.programme_page(
            db.session, current_user(), query.get("status"), pp.first_item, pp.page_size
        )
        return found


@bp.route("/sponsor-programmes/<int:programme_id>")
class ProgrammeById(MethodView):
    @require_roles(*ROLES)
    @bp.response(200, ProgrammeSchema)
    def get(self, programme_id: int) -> Any:
        """One programme, with its members and its budget used and left."""
        programme = sponsors.programme_for(db.session, current_user(), programme_id)
        return sponsors.describe_programmes(db.session, [programme])[0]

    @require_roles(*ROLES)
    @bp.arguments(BudgetRequestSchema)
    @bp.response(200, ProgrammeSchema)
    def patch(self, payload: dict[str, Any], programme_id: int) -> Any:
        """Change the budget (the APBD Perubahan); never below what has been paid."""
        programme = sponsors.change_budget(db.session, current_user(), programme_id, payload["budget_idr"])
        return sponsors.describe_programmes(db.session, [programme])[0]


@bp.route("/sponsor-programmes/<int:programme_id>/members")
class ProgrammeMembers(MethodView):
    @require_roles(*ROLES)
    @bp.response(200, ProgrammeMemberSchema(many=True))
    @bp.paginate()
    def get(self, programme_id: int, pagination_parameters: Any) -> Any:
        """The programme's members, by name, in pages."""
        pp = pagination_parameters
        page, total = sponsors.list_programme_members(
            db.session, current_user(), programme_id, pp.first_item, pp.page_size
        )
        pp.item_count = total
        return page

    @require_roles(*ROLES)
    @bp.arguments(AddMemberRequestSchema)
    @bp.response(201, RowOutcomeSchema, description="Enrolled (created) or an existing member added (sponsored)")
    @bp.alt_response(200, schema=RowOutcomeSchema, description="Already in the programme: nothing changed")
    def post(self, payload: dict[str, Any], programme_id: int) -> Any:
        """Add one person by NIK, mid-year too: covered from this month. A new person needs name and birth date."""
        outcome = sponsor_import.add_member(db.session, current_user(), programme_id, payload, app_now())
        return outcome, 200 if outcome.outcome == sponsor_import.Outcome.UNCHANGED else 201


@bp.route("/sponsor-programmes/<int:programme_id>/imports")
class Imports(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(ImportUploadSchema, location="files")
    @bp.response(201, ImportSchema, description="Imported: the counts and the rejected rows")
    @bp.alt_response(202, schema=ImportSchema, description="A large file: queued; GET the import for its progress")
    @bp.alt_response(200, schema=ImportSchema, description="This file was imported before: nothing changed")
    def post(self, files: dict[str, Any], programme_id: int) -> Any:
        """Enrol a sponsor's list from CSV (nik,name,birth_date,phone,occupation,village; multipart field ``file``)."""
        programme = sponsors.programme_for(db.session, current_user(), programme_id)
        upload = files["file"]
        content = upload.read(sponsor_import.MAX_IMPORT_BYTES + 1)
        if len(content) > sponsor_import.MAX_IMPORT_BYTES:
            raise field_error("file", sponsor_import.too_large(), "files")
        now = app_now()
        record, new = sponsor_import.start_import(
            db.session, current_user(), programme, upload.filename or "", content, now
        )
        if not new and record.status == "running" and not job_alive(f"sponsor-import-{record.id}"):
            _queue_import(record, content, now)  # its worker died (a timeout, a deploy): the import resumes
            return _import_view(record, True, "rejected", 1, 100), 202
        if not new and record.status != "failed":
            status = 200 if record.status == "done" else 202
            return _import_view(record, not new, "rejected", 1, 100), status
        inline_rows = current_app.config.get("SPONSOR_IMPORT_INLINE_ROWS", sponsor_import.INLINE_ROWS)
        if record.rows_total <= inline_rows:
            record = sponsor_import.run_import(db.session, record.id, content, now)
            return _import_view(record, False, "rejected", 1, 100), 201
        _queue_import(record, content, now)
        return _import_view(record, False, "rejected", 1, 100), 202


@bp.route("/sponsor-imports/<int:import_id>")
class ImportById(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(ImportQuerySchema, location="query")
    @bp.response(200, ImportSchema)
    def get(self, query: dict[str, Any], import_id: int) -> Any:
        """An import's progress (rows_done of rows_total) and, once done, its per-row report in pages."""
        record = sponsor_import.import_for(db.session, current_user(), import_id)
        return _import_view(record, False, query.get("outcome"), query["page"], query["page_size"])


@bp.route("/sponsor-programmes/<int:programme_id>/payments")
class ProgrammePayments(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(SponsorPaymentRequestSchema)
    @bp.response(201, SponsorPaymentSchema, description="Recorded: one receipt, one payment per member")
    @bp.alt_response(200, schema=SponsorPaymentSchema, description="A retry: the payment of the first request")
    @bp.alt_response(409, description="Over budget, nothing due, or the key reused for other content")
    @bp.doc(**IDEMPOTENCY_DOC)
    def post(self, payload: dict[str, Any], programme_id: int) -> Any:
        """Record the sponsor's bulk payment for the programme's months (default: all of them)."""
        key = idempotency_key()
        view, created = sponsor_payments.pay_programme(
            db.session,
            current_user(),
            programme_id,
            first=payload.get("first_month"),
            last=payload.get("last_month"),
            paid_on=payload.get("paid_on"),
            bank_reference=payload.get("bank_reference"),
            branch_arrangement=payload["branch_arrangement"],
            idempotency_key=key,
            now=app_now(),
        )
        return view, 201 if created else 200

    @require_roles(*ROLES)
    @bp.response(200, SponsorPaymentSchema(many=True))
    @bp.paginate(Page, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, programme_id: int) -> Any:
        """The programme's sponsor payments, oldest first, in pages."""
        return sponsor_payments.list_sponsor_payments(db.session, current_user(), programme_id)


@bp.route("/sponsor-payments/<int:sponsor_payment_id>")
class SponsorPaymentById(MethodView):
    @require_roles(*ROLES)
    @bp.response(200, SponsorPaymentSchema)
    def get(self, sponsor_payment_id: int) -> Any:
        """One sponsor payment: its receipt and totals (the per-member breakdown is at .../members)."""
        record = sponsor_payments.sponsor_payment_for(db.session, current_user(), sponsor_payment_id)
        return sponsor_payments.describe(db.session, record)


@bp.route("/sponsor-payments/<int:sponsor_payment_id>/members")
class SponsorPaymentBreakdown(MethodView):
    @require_roles(*ROLES)
    @bp.response(200, BreakdownSchema(many=True))
    @bp.paginate()
    def get(self, sponsor_payment_id: int, pagination_parameters: Any) -> Any:
        """The per-member breakdown of a sponsor payment, by name, in pages: each member's amount and months."""
        record = sponsor_payments.sponsor_payment_for(db.session, current_user(), sponsor_payment_id)
        pp = pagination_parameters
        page, total = sponsor_payments.breakdown(db.session, record, pp.first_item, pp.page_size)
        pp.item_count = total
        return page


@bp.route("/sponsor-programmes/<int:programme_id>/end")
class EndProgramme(MethodView):
    @require_roles(*ROLES)
    @bp.response(200, EndResultSchema)
    @bp.alt_response(409, description="The programme's last month has not begun")
    def post(self, programme_id: int) -> Any:
        """End the programme (supervisor): its members pay themselves; each gets a text and a visit, once."""
        links = signer_of(current_app.config)
        result = sponsors.end_programme_by_staff(db.session, current_user(), programme_id, app_now(), links=links)
        if result.notices:
            schedule_outbox_delivery()
        return result


@bp.route("/sponsor-programmes/<int:programme_id>/retention")
class ProgrammeRetention(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(RetentionQuerySchema, location="query")
    @bp.response(200, RetentionSchema)
    def get(self, query: dict[str, Any], programme_id: int) -> Any:
        """The share of members still paying 1, 3, 6 and 12 months after the sponsorship ended."""
        return sponsors.retention(db.session, current_user(), programme_id, query.get("on"), app_now())


def _import_view(
    record: SponsorImport, already_imported: bool, outcome: str | None, page: int, page_size: int
) -> dict[str, Any]:
    rows = sponsor_import.report_rows(record, outcome)
    start = (page - 1) * page_size
    view = {column: getattr(record, column) for column in ImportSchema().fields if hasattr(record, column)}
    page_rows = csv_files.worded_rows(rows[start : start + page_size])
    view |= {"already_imported": already_imported, "rows": page_rows, "rows_matching": len(rows)}
    return view


def _queue_import(record: SponsorImport, content: bytes, now: datetime) -> None:
    """Keep the file in the database, where a worker on any host finds it, and enqueue its import (after the
    commit that registered it)."""
    sponsor_import.keep_upload(db.session, record.id, content, now)
    try:
        queue(LOW).enqueue(
            IMPORT_SPONSORED_FILE, record.id, job_id=f"sponsor-import-{record.id}", job_timeout=LONG_JOB_TIMEOUT
        )
    except RedisError as error:
        log.exception("could not enqueue sponsor import %s", record.id)
        sponsor_import.not_queued(db.session, record.id, now)
        raise ServiceUnavailable(
            gettext(
                "The import could not be queued (the job queue is unavailable): upload the same file again in a minute."
            )
        ) from error
