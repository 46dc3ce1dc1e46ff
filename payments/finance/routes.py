"""The branch finance API: bank statements, the unmatched queue with maker-checker, daily batches, reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, url_for
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint

from core.clock import app_now, local_today
from core.errors import DomainError, ServiceUnavailable, field_error, query_error
from core.extensions import db
from core.i18n import label
from core.idempotency import IDEMPOTENCY_DOC, idempotency_key
from core.months import Month
from core.paging import MAX_PAGE_SIZE, PAGE_SIZE
from organisation.auth import current_user, require_roles
from organisation.models import Role
from payments.finance import approvals, bank, batches, proposals, references, reports, statement_import
from payments.finance.answers import answer_returned_batch
from payments.finance.corrections import correct_short_deposit
from payments.finance.deposits import record_deposit, record_deposit_for_agent
from payments.finance.schemas import (
    AgeingSchema,
    AgentDepositRequestSchema,
    AnswerRequestSchema,
    ApproveCleanRequestSchema,
    ApproveCleanResultSchema,
    ApproveRequestSchema,
    BatchAnswerSchema,
    BatchQuerySchema,
    BatchSchema,
    ChannelMonthSchema,
    CloseDayRequestSchema,
    CloseDayResultSchema,
    CollectionDaySchema,
    CollectionsQuerySchema,
    CoverageQuerySchema,
    CoverageRowSchema,
    DecisionRequestSchema,
    DepositCorrectionRequestSchema,
    DepositRequestSchema,
    DepositSchema,
    ImportReportSchema,
    MonthRangeQuerySchema,
    ProposalRequestSchema,
    ProposalSchema,
    ReturnRequestSchema,
    ScorecardRowSchema,
    StatementFormatSchema,
    StatementFormSchema,
    StatementLineQuerySchema,
    StatementLineSchema,
    StatementUploadSchema,
    TargetsRequestSchema,
)
from payments.finance.statements import BANK_FORMATS
from workers.queues import queue_statement_import, schedule_outbox_delivery

bp = Blueprint("finance", __name__, description="Branch finance: bank statements, daily batches and reports")

FINANCE = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)
MAX_REPORT_DAYS = 366


@bp.route("/statement-formats")
class StatementFormats(MethodView):
    @require_roles()
    @bp.response(200, StatementFormatSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The bank formats a statement can be imported in, with the columns each needs."""
        return [
            {"code": f.code, "label": label("bank_format", f.code), "columns": f.required_columns()}
            for f in BANK_FORMATS.values()
        ]


@bp.route("/branches/<int:branch_id>/statements")
class Statements(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(StatementFormSchema, location="form")
    @bp.arguments(StatementUploadSchema, location="files")
    @bp.response(201, ImportReportSchema, description="Imported and matched")
    @bp.alt_response(200, schema=ImportReportSchema, description="This file was imported before: nothing changed")
    @bp.alt_response(
        202,
        schema=ImportReportSchema,
        description="A large file: a worker imports it; GET the Location (/statement-imports/{id}) for its progress",
    )
    def post(self, form: dict[str, Any], files: dict[str, Any], branch_id: int) -> Any:
        """Import a bank statement (CSV, multipart field ``file``) and match its credits."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        upload = files["file"]
        content = upload.read(bank.MAX_STATEMENT_BYTES + 1)
        if len(content) > bank.MAX_STATEMENT_BYTES:
            message = gettext(
                "The file is over %(mb)s MB: split it by month.", mb=bank.MAX_STATEMENT_BYTES // 1_000_000
            )
            raise field_error("file", message, "files")
        report, status = statement_import.submit(
            db.session,
            current_user().id,
            branch,
            form["bank"],
            upload.filename or "",
            content,
            app_now(),
            current_app.config["STATEMENT_INLINE_LINES"],
        )
        if status != 202:
            return report, status
        queue_import(report.import_id)
        return report, 202, {"Location": url_for("finance.StatementImportById", import_id=report.import_id)}


def queue_import(import_id: int) -> None:
    """Have a worker run (or resume) a large import; a 503 when the queue is down (the file waits: upload it again)."""
    if not queue_statement_import(import_id):
        raise ServiceUnavailable(
            gettext(
                "The import could not be queued (the job queue is unavailable): upload the same file again in a minute."
            )
        )


@bp.route("/statement-imports/<int:import_id>")
class StatementImportById(MethodView):
    @require_roles(*FINANCE)
    @bp.response(200, ImportReportSchema)
    def get(self, import_id: int) -> bank.ImportReport:
        """A statement import: a worker's progress (status, lines_done of lines_total), then its report."""
        return statement_import.import_for(db.session, current_user(), import_id)


@bp.route("/branches/<int:branch_id>/statement-lines")
class StatementLines(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(StatementLineQuerySchema, location="query")
    @bp.response(200, StatementLineSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any], branch_id: int, pagination_parameters: Any) -> list[dict[str, Any]]:
        """The branch's bank credits, oldest first, in pages; by default the unmatched queue, each with any
        proposal awaiting a decision."""
        pp = pagination_parameters
        branch = bank.branch_for(db.session, current_user(), branch_id)
        lines, pp.item_count = proposals.line_page(db.session, branch.id, query["status"], pp.first_item, pp.page_size)
        return proposals.with_proposals(db.session, lines)


@bp.route("/statement-lines/<int:line_id>/proposals")
class Proposals(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(ProposalRequestSchema)
    @bp.response(201, ProposalSchema)
    @bp.alt_response(409, description="The line is matched already, or has a proposal awaiting a decision")
    def post(self, payload: dict[str, Any], line_id: int) -> tuple[Any, int]:
        """Propose what an unmatched credit is (a deposit, a provider payout, or not ours: ignore)."""
        proposal = proposals.propose_match(
            db.session,
            current_user(),
            line_id,
            action=payload["action"],
            deposit_id=payload.get("deposit_id"),
            provider=payload.get("provider"),
            settled_on=payload.get("settled_on"),
            reason=payload["reason"],
            now=app_now(),
        )
        return proposal, 201


def _decide(approve: bool) -> Any:
    def decide(self: Any, payload: dict[str, Any], proposal_id: int) -> Any:
        return proposals.decide_proposal(
            db.session, current_user(), proposal_id, approve=approve, note=payload.get("note"), now=app_now()
        )

    decide.__doc__ = (
        "Approve a proposal: the match is made (a second person: not the proposer)."
        if approve
        else "Reject a proposal: the line stays in the unmatched queue."
    )
    return decide


@bp.route("/match-proposals/<int:proposal_id>/approve")
class ProposalApprove(MethodView):
    post = require_roles(*FINANCE)(
        bp.arguments(DecisionRequestSchema)(bp.response(200, ProposalSchema)(_decide(approve=True)))
    )


@bp.route("/match-proposals/<int:proposal_id>/reject")
class ProposalReject(MethodView):
    post = require_roles(*FINANCE)(
        bp.arguments(DecisionRequestSchema)(bp.response(200, ProposalSchema)(_decide(approve=False)))
    )


@bp.route("/branches/<int:branch_id>/batches")
class Batches(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(BatchQuerySchema, location="query")
    @bp.response(200, BatchSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any], branch_id: int, pagination_parameters: Any) -> list[batches.BatchView]:
        """Every agent's batch of a day (default today), by agent code, in pages, with its figures, variances and
        status."""
        pp = pagination_parameters
        views, pp.item_count = batches.branch_day_page(
            db.session, current_user(), branch_id, query.get("date"), app_now(), pp.first_item, pp.page_size
        )
        return views


@bp.route("/branches/<int:branch_id>/batches/close")
class CloseDay(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(CloseDayRequestSchema)
    @bp.response(200, CloseDayResultSchema)
    def post(self, payload: dict[str, Any], branch_id: int) -> dict[str, int]:
        """Close a past day into batches now (the schedule does it at each branch's day end)."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        if payload["date"] > local_today(branch.timezone, app_now()):
            raise field_error("date", gettext("That day has not come yet: close today or an earlier day."))
        return {"created": batches.close_day(db.session, branch.id, payload["date"], app_now())}


@bp.route("/batches/<int:batch_id>")
class Batch(MethodView):
    @require_roles(*FINANCE)
    @bp.response(200, BatchSchema)
    def get(self, batch_id: int) -> batches.BatchView:
        """One batch: approved batches show the figures they were approved on."""
        return batches.get_batch(db.session, current_user(), batch_id, app_now())[1]


@bp.route("/batches/<int:batch_id>/approve")
class BatchApprove(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.arguments(ApproveRequestSchema)
    @bp.response(200, BatchSchema)
    @bp.alt_response(409, description="Something in the batch cannot be judged yet")
    def post(self, payload: dict[str, Any], batch_id: int) -> batches.BatchView:
        """Approve a batch: its figures are frozen and its day is locked. With variances, a note is required."""
        return batches.approve_batch(db.session, current_user(), batch_id, payload.get("note"), app_now())


@bp.route("/branches/<int:branch_id>/batches/approve-clean")
class BatchesApproveClean(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.arguments(ApproveCleanRequestSchema)
    @bp.response(200, ApproveCleanResultSchema)
    def post(self, payload: dict[str, Any], branch_id: int) -> approvals.CleanApproval:
        """Approve every clean batch of a day (closed, no variance, nothing pending), each audit-logged; those
        with variances or pending items are left to approve one by one. Sent again, it approves nothing more."""
        return approvals.approve_clean_batches(db.session, current_user(), branch_id, payload["date"], app_now())


@bp.route("/batches/<int:batch_id>/return")
class BatchReturn(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.arguments(ReturnRequestSchema)
    @bp.response(200, BatchSchema)
    def post(self, payload: dict[str, Any], batch_id: int) -> batches.BatchView:
        """Return a batch to its agent with a reason; the agent gets a text."""
        view = batches.return_batch(db.session, current_user(), batch_id, payload["reason"], app_now())

        schedule_outbox_delivery()
        return view


@bp.route("/batches/<int:batch_id>/answer")
class BatchAnswer(MethodView):
    @require_roles(Role.AGENT)
    @bp.arguments(AnswerRequestSchema)
    @bp.response(200, BatchAnswerSchema)
    @bp.alt_response(409, description="The batch is not returned: finance has it")
    def post(self, payload: dict[str, Any], batch_id: int) -> Any:
        """The agent answers a day finance returned to him, with a note: the batch goes back to finance's queue."""
        return answer_returned_batch(db.session, current_user(), batch_id, payload["note"], app_now())


@bp.route("/branches/<int:branch_id>/reports/arrears-ageing")
class ArrearsAgeing(MethodView):
    @require_roles(*FINANCE)
    @bp.response(200, AgeingSchema)
    def get(self, branch_id: int) -> reports.Ageing:
        """Members by months owed (1, 2, 3) and lapsed, from the last reconciliation."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        return reports.arrears_ageing(db.session, branch, local_today(branch.timezone, app_now()))


@bp.route("/branches/<int:branch_id>/reports/collections")
class Collections(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(CollectionsQuerySchema, location="query")
    @bp.response(200, CollectionDaySchema(many=True))
    def get(self, query: dict[str, Any], branch_id: int) -> list[reports.CollectionDay]:
        """Settled contributions per day and channel (default: the last 30 days)."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        today = local_today(branch.timezone, app_now())
        last = query.get("last") or today
        first = query.get("first") or last - timedelta(days=29)
        if first > last:
            raise query_error("from", gettext("'from' is after 'to': swap them."))
        if (last - first).days >= MAX_REPORT_DAYS:
            raise query_error("from", gettext("Ask for at most %(days)s days at a time.", days=MAX_REPORT_DAYS))
        return reports.collections_per_day(db.session, branch, first, last)


MAX_REPORT_MONTHS = 36


@bp.route("/branches/<int:branch_id>/reports/coverage")
class Coverage(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(CoverageQuerySchema, location="query")
    @bp.response(200, CoverageRowSchema(many=True))
    def get(self, query: dict[str, Any], branch_id: int) -> list[reports.CoverageRow]:
        """Active members per regency or city beside the branch's target population for the year."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        year = query.get("year") or local_today(branch.timezone, app_now()).year
        return reports.coverage_by_regency(db.session, branch, year)


@bp.route("/branches/<int:branch_id>/coverage-targets/<int:year>")
class CoverageTargets(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)
    @bp.arguments(TargetsRequestSchema)
    @bp.response(200, CoverageRowSchema(many=True))
    def put(self, payload: dict[str, Any], branch_id: int, year: int) -> list[reports.CoverageRow]:
        """Enter the target population (informal workers to cover) per regency or city for a year."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        if not 2015 <= year <= 2100:
            raise DomainError(
                gettext("Give a year such as 2026."), errors={"path": {"year": [gettext("2015 to 2100")]}}
            )
        reports.set_targets(db.session, branch, year, payload["targets"], current_user().id)
        return reports.coverage_by_regency(db.session, branch, year)


def _month_range(query: dict[str, Any], branch: Any, default_months: int = 12) -> tuple[Month, Month]:
    last = query.get("last") or Month.of(local_today(branch.timezone, app_now()))
    first = query.get("first") or last - (default_months - 1)
    if first > last:
        raise query_error("from", gettext("'from' is after 'to': swap them."))
    if last - first >= MAX_REPORT_MONTHS:
        raise query_error(
            "from",
            gettext("Ask for at most %(months)s months at a time.", months=MAX_REPORT_MONTHS),
        )
    return first, last


@bp.route("/branches/<int:branch_id>/reports/collections-by-channel")
class CollectionsByChannel(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(MonthRangeQuerySchema, location="query")
    @bp.response(200, ChannelMonthSchema(many=True))
    def get(self, query: dict[str, Any], branch_id: int) -> list[reports.ChannelMonth]:
        """Settled contributions per month by channel: cash, auto-debit, sponsor, bank transfer."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        first, last = _month_range(query, branch)
        return reports.collections_by_channel(db.session, branch, first, last)


@bp.route("/branches/<int:branch_id>/reports/agent-scorecard")
class AgentScorecard(MethodView):
    @require_roles(*FINANCE)
    @bp.arguments(MonthRangeQuerySchema, location="query")
    @bp.response(200, ScorecardRowSchema(many=True))
    def get(self, query: dict[str, Any], branch_id: int) -> list[reports.ScorecardRow]:
        """Each agent over the months asked (default: this month): enrolled, collected, deposit delay,
        batches and variances, members lapsed."""
        branch = bank.branch_for(db.session, current_user(), branch_id)
        first, last = _month_range(query, branch, default_months=1)
        return reports.agent_scorecard(db.session, branch, first.first_day(), last.last_day())


@bp.route("/deposits")
class Deposits(MethodView):
    @require_roles(Role.AGENT)
    @bp.arguments(DepositRequestSchema)
    @bp.response(201, DepositSchema)
    @bp.alt_response(200, schema=DepositSchema, description="A retry: the deposit of the first request")
    @bp.doc(**IDEMPOTENCY_DOC)
    def post(self, payload: dict[str, Any]) -> tuple[Any, int]:
        """Record a deposit (setoran) of collected cash, with the bank's reference."""
        deposit, created = record_deposit(
            db.session,
            current_user(),
            amount_idr=payload["amount_idr"],
            bank_reference=payload["bank_reference"],
            deposited_on=payload.get("deposited_on"),
            idempotency_key=idempotency_key(),
            now=app_now(),
        )
        return _with_same_reference(deposit, own_only=True), 201 if created else 200


def _with_same_reference(deposit: Any, own_only: bool) -> dict[str, Any]:
    """The deposit as the API answers it, with the other deposits of its bank reference (references.py)."""
    others = references.shared_references(db.session, deposit.branch_id, [(deposit.id, deposit.bank_reference)])
    same = others.get(deposit.id, [])
    if own_only:
        same = [s for s in same if s.agent_id == deposit.agent_id]
    stored = (name for name in DepositSchema._declared_fields if name != "same_reference_deposits")
    return {name: getattr(deposit, name) for name in stored} | {"same_reference_deposits": same}


@bp.route("/deposits/<int:deposit_id>/correction")
class DepositCorrection(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.arguments(DepositCorrectionRequestSchema)
    @bp.response(200, DepositSchema)
    def post(self, payload: dict[str, Any], deposit_id: int) -> dict[str, Any]:
        """Correct a short deposit to what the bank credited for it (the batch's short_in_bank variance).

        Branch finance of the deposit's branch, or an admin. The deposit's amount becomes the amount of the bank
        credit matched to it (amount_idr must be that amount); what the agent declared is kept in declared_idr.
        The agent's cash on hand grows by the difference, so he can deposit it; he gets a text saying so. A
        correction only lowers a deposit: 409 when no bank credit is matched to it (a deposit the bank never
        credited is not corrected: match its credit, or return the day to the agent), when the credit is not
        short, or when the deposit's day is approved and locked. Sending the same correction again changes
        nothing and answers the corrected deposit."""
        deposit, created = correct_short_deposit(
            db.session,
            current_user(),
            deposit_id,
            amount_idr=payload["amount_idr"],
            reason=payload["reason"],
            now=app_now(),
        )
        if created:
            schedule_outbox_delivery()
        return _with_same_reference(deposit, own_only=False)


@bp.route("/agents/<int:agent_id>/deposits")
class AgentDeposits(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.arguments(AgentDepositRequestSchema)
    @bp.response(201, DepositSchema)
    @bp.alt_response(200, schema=DepositSchema, description="A retry: the deposit of the first request")
    @bp.doc(**IDEMPOTENCY_DOC)
    def post(self, payload: dict[str, Any], agent_id: int) -> tuple[Any, int]:
        """Record the deposit (setoran) of an agent who is no longer active (deactivated or terminated): he cannot
        log in to declare it. Matched with the bank lines like his own; an active agent is a 409."""
        deposit, created = record_deposit_for_agent(
            db.session,
            current_user(),
            agent_id,
            amount_idr=payload["amount_idr"],
            bank_reference=payload["bank_reference"],
            deposited_on=payload["deposited_on"],
            idempotency_key=idempotency_key(),
            now=app_now(),
        )
        return _with_same_reference(deposit, own_only=False), 201 if created else 200
