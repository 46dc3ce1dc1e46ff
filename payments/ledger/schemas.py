"""Request and response schemas of the payments API."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from collection.members.schemas import MAX_ID, MonthField, valid_day
from core.errors import UtcDateTime
from core.months import Month
from payments.finance.statements import BANK_FORMATS


class ContributionRequestSchema(Schema):
    member_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    months = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=36),
        metadata={"description": "1, 3, 6 or 12 (after any arrears)"},
    )
    amount_idr = fields.Integer(
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "Instead of months: an exact whole number of months"},
    )
    paid_on = fields.Date(
        validate=valid_day, metadata={"description": "The day the cash was received (default: today)"}
    )


class ReceiptSchema(Schema):
    number = fields.String()
    verification_code = fields.String()
    payment_id = fields.Integer()
    amount_idr = fields.Integer()
    months_covered = fields.List(MonthField())
    member_id = fields.Integer()
    agent_id = fields.Integer(allow_none=True)
    paid_on = fields.Date()
    recorded_at = UtcDateTime(metadata={"description": "UTC"})
    status = fields.String(metadata={"description": "settled or reversed"})
    deposited = fields.Boolean(metadata={"description": "Whether the agent has deposited this cash"})
    reversal_reason = fields.String(allow_none=True)


class ReversalRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=200))


class DepositRequestSchema(Schema):
    amount_idr = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    bank_reference = fields.String(required=True, validate=validate.Length(min=3, max=64))
    deposited_on = fields.Date(validate=valid_day)


class DepositSchema(Schema):
    id = fields.Integer()
    agent_id = fields.Integer()
    amount_idr = fields.Integer()
    bank_reference = fields.String()
    deposited_on = fields.Date()
    recorded_at = UtcDateTime()


class ReturnedBatchSchema(Schema):
    business_date = fields.Date()
    reason = fields.String(allow_none=True)
    returned_at = UtcDateTime(allow_none=True)


class CashPositionSchema(Schema):
    collected_today_idr = fields.Integer()
    collected_idr = fields.Integer()
    deposited_idr = fields.Integer()
    on_hand_idr = fields.Integer()
    limit_idr = fields.Integer()
    oldest_undeposited_on = fields.Date(allow_none=True)
    deposit_due_by = fields.Date(allow_none=True)
    blocked = fields.Boolean()
    returned_batches = fields.List(
        fields.Nested(ReturnedBatchSchema), metadata={"description": "Days finance sent back to fix, with the reason"}
    )


class AlertSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    agent_id = fields.Integer(allow_none=True)
    message = fields.String()
    raised_on = fields.Date()
    resolved_at = UtcDateTime(allow_none=True)


class MandateRequestSchema(Schema):
    member_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    provider = fields.String(required=True, metadata={"example": "midtrans"})
    account = fields.String(
        required=True,
        validate=validate.Length(min=4, max=40),
        metadata={"description": "Bank account or e-wallet number; only its last 4 digits are kept"},
    )
    months_per_debit = fields.Integer(strict=True, load_default=1, validate=validate.OneOf([1, 3, 6, 12]))


class MandateSchema(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    provider = fields.String()
    provider_ref = fields.String(allow_none=True)
    account_label = fields.String()
    months_per_debit = fields.Integer()
    status = fields.String()
    created_at = UtcDateTime()


class MandateChangeSchema(Schema):
    reason = fields.String(load_default="requested by the member", validate=validate.Length(min=3, max=200))


class MandateQuerySchema(Schema):
    member_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class VisitSchema(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    agent_id = fields.Integer(allow_none=True)
    reason = fields.String()
    note = fields.String()
    created_at = UtcDateTime()


class WebhookEventSchema(Schema):
    id = fields.Integer()
    provider = fields.String()
    event_key = fields.String()
    order_id = fields.String(allow_none=True)
    state = fields.String()
    note = fields.String(allow_none=True)
    received_at = UtcDateTime()
    raw_body = fields.String()


class SettlementReportSchema(Schema):
    lines = fields.Integer()
    new_lines = fields.Integer(metadata={"description": "Lines of the caller's branch stored for the first time"})
    matched = fields.Integer()
    not_this_branch = fields.Integer(
        metadata={"description": "Lines of another branch's orders: left for that branch's finance, not stored"}
    )
    unknown_order = fields.Integer(metadata={"description": "Lines naming no order of ours: not stored"})
    missing_in_report = fields.List(fields.Dict(), metadata={"description": "Settled here, absent from the report"})
    missing_in_ours = fields.List(fields.Dict(), metadata={"description": "In the report, not settled here"})
    amount_mismatch = fields.List(fields.Dict())


class SettlementImportSchema(Schema):
    """A large settlement report imported by a worker: its progress, then its report or the rows refused."""

    id = fields.Integer()
    provider = fields.String()
    branch_id = fields.Integer(allow_none=True, metadata={"description": "None: an admin's import, every branch"})
    status = fields.String(metadata={"description": "queued, running, done, invalid (rows refused) or failed"})
    rows_total = fields.Integer(metadata={"description": "Known once the worker has read the file"})
    rows_done = fields.Integer()
    size_bytes = fields.Integer()
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    report = fields.Nested(SettlementReportSchema, allow_none=True)
    errors = fields.Dict(allow_none=True, metadata={"description": "Rows refused, by row and field"})


class DebitRunSchema(Schema):
    created = fields.Integer()
    sent = fields.Integer()
    refused = fields.Integer()
    skipped = fields.List(fields.String())


# Branch finance: bank statements, matches, daily batches, reports.


class StatementUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "The bank's CSV export of the branch account"})


class StatementFormSchema(Schema):
    bank = fields.String(
        required=True,
        validate=validate.OneOf(sorted(BANK_FORMATS)),
        metadata={
            "description": "The column mapping: " + "; ".join(f"{k}: {v.label}" for k, v in BANK_FORMATS.items())
        },
    )


class StatementFormatSchema(Schema):
    code = fields.String()
    label = fields.String()
    columns = fields.List(fields.String())


class ImportReportSchema(Schema):
    import_id = fields.Integer()
    bank = fields.String()
    filename = fields.String()
    already_imported = fields.Boolean(metadata={"description": "The same file was imported before: nothing changed"})
    credit_lines = fields.Integer()
    new_lines = fields.Integer(metadata={"description": "Credits not already known from an overlapping file"})
    debit_lines = fields.Integer(metadata={"description": "Money going out: skipped"})
    skipped_credits = fields.Integer(metadata={"description": "Credits with sen (interest): never contributions"})
    first_booked_on = fields.Date(allow_none=True)
    last_booked_on = fields.Date(allow_none=True)
    matched = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "By match kind"})
    unmatched = fields.Integer()
    status = fields.String(
        metadata={
            "description": "done; a large file's import by a worker: queued, storing, matching, then done, or "
            "refused (rows that cannot be read: errors) or failed (upload the same file again to resume)"
        }
    )
    lines_total = fields.Integer(metadata={"description": "Credit lines in the file, once a worker has read it"})
    lines_done = fields.Integer(metadata={"description": "Lines of the current stage done: stored, then matched"})
    errors = fields.List(fields.String(), metadata={"description": "Why the file was refused or the import broke off"})


class ProposalSchema(Schema):
    id = fields.Integer()
    statement_line_id = fields.Integer()
    action = fields.String()
    deposit_id = fields.Integer(allow_none=True)
    provider = fields.String(allow_none=True)
    settled_on = fields.Date(allow_none=True)
    reason = fields.String()
    proposed_by_user_id = fields.Integer()
    proposed_at = UtcDateTime()
    decision = fields.String(allow_none=True)
    decided_by_user_id = fields.Integer(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class StatementLineSchema(Schema):
    id = fields.Integer()
    booked_on = fields.Date()
    amount_idr = fields.Integer()
    description = fields.String()
    reference = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "unmatched, matched or ignored"})
    match_kind = fields.String(allow_none=True)
    deposit_id = fields.Integer(allow_none=True)
    provider = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    open_proposal = fields.Nested(ProposalSchema, allow_none=True)


class StatementLineQuerySchema(Schema):
    status = fields.String(load_default="unmatched", validate=validate.OneOf(["unmatched", "matched", "ignored"]))


class ProposalRequestSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(["deposit", "settlement", "ignore"]))
    deposit_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID))
    provider = fields.String(validate=validate.Length(min=1, max=32))
    settled_on = fields.Date(validate=valid_day)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=200))


class DecisionRequestSchema(Schema):
    note = fields.String(validate=validate.Length(max=200))


class VarianceSchema(Schema):
    kind = fields.String(metadata={"description": "missing_deposit, not_in_bank, short_in_bank or over_in_bank"})
    amount_idr = fields.Integer()
    cause = fields.String()


class DepositFigureSchema(Schema):
    id = fields.Integer()
    amount_idr = fields.Integer()
    bank_reference = fields.String()
    banked_idr = fields.Integer()
    statement_line_id = fields.Integer(allow_none=True)
    match_kind = fields.String(allow_none=True)


class BatchFiguresSchema(Schema):
    agent_id = fields.Integer()
    agent_code = fields.String()
    agent_name = fields.String()
    business_date = fields.Date()
    contributions = fields.Integer()
    collected_idr = fields.Integer()
    reversed_idr = fields.Integer()
    held_at_start_idr = fields.Integer()
    held_at_end_idr = fields.Integer()
    deposits = fields.List(fields.Nested(DepositFigureSchema))
    deposited_idr = fields.Integer()
    banked_idr = fields.Integer()
    undeposited_idr = fields.Integer()
    deposit_due_by = fields.Date(allow_none=True)
    variances = fields.List(fields.Nested(VarianceSchema))
    variance_idr = fields.Integer()
    pending = fields.List(fields.String(), metadata={"description": "What cannot be judged yet"})


class BatchSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "None while the day is still open"})
    branch_id = fields.Integer()
    status = fields.String(metadata={"description": "open, closed, returned or approved (locked)"})
    figures = fields.Nested(BatchFiguresSchema)
    decided_by = fields.String(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class BatchQuerySchema(Schema):
    date = fields.Date(validate=valid_day, metadata={"description": "The business day (default: today)"})


class CloseDayRequestSchema(Schema):
    date = fields.Date(required=True, validate=valid_day)


class CloseDayResultSchema(Schema):
    created = fields.Integer()


class ApproveRequestSchema(Schema):
    note = fields.String(validate=validate.Length(max=300), metadata={"description": "Required with variances"})


class ReturnRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=300))


class AgeingRowSchema(Schema):
    bucket = fields.String()
    members = fields.Integer()


class AgeingSchema(Schema):
    on = fields.Date()
    active = fields.Integer()
    in_arrears = fields.Integer()
    rows = fields.List(fields.Nested(AgeingRowSchema))


class ChannelTotalsSchema(Schema):
    cash_idr = fields.Integer()
    auto_debit_idr = fields.Integer()
    sponsor_idr = fields.Integer()
    bank_transfer_idr = fields.Integer()
    total_idr = fields.Integer()
    payments = fields.Integer()


class CollectionDaySchema(ChannelTotalsSchema):
    day = fields.Date()


class CollectionsQuerySchema(Schema):
    first = fields.Date(validate=valid_day, data_key="from", metadata={"description": "Default: 30 days ago"})
    last = fields.Date(validate=valid_day, data_key="to", metadata={"description": "Default: today"})


class CoverageQuerySchema(Schema):
    year = fields.Integer(validate=validate.Range(min=2015, max=2100), metadata={"description": "Default: this year"})


class CoverageRowSchema(Schema):
    regency_code = fields.String()
    regency_name = fields.String()
    active_members = fields.Integer()
    target_population = fields.Integer(allow_none=True)
    coverage_percent = fields.Float(allow_none=True)
    source = fields.String(allow_none=True)


class TargetRowSchema(Schema):
    regency_code = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$", error="4 digits, e.g. 1903"))
    target_population = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**9))
    source = fields.String(validate=validate.Length(max=200), metadata={"example": "BPS Sakernas 2025"})


class TargetsRequestSchema(Schema):
    targets = fields.List(fields.Nested(TargetRowSchema), required=True, validate=validate.Length(min=1, max=600))


def report_month(value: Month) -> None:
    if not 2000 <= value.year <= 2099:
        raise ValidationError("Ask for a month between 2000-01 and 2099-12.")


class MonthRangeQuerySchema(Schema):
    first = MonthField(
        data_key="from", validate=report_month, metadata={"description": "Default: 11 months before 'to'"}
    )
    last = MonthField(data_key="to", validate=report_month, metadata={"description": "Default: this month"})


class ChannelMonthSchema(ChannelTotalsSchema):
    month = MonthField()


class ScorecardRowSchema(Schema):
    agent_id = fields.Integer()
    agent_code = fields.String()
    agent_name = fields.String()
    status = fields.String()
    members_enrolled = fields.Integer()
    collected_idr = fields.Integer()
    payments = fields.Integer()
    average_deposit_delay_days = fields.Float(allow_none=True)
    undeposited_idr = fields.Integer()
    batches_approved = fields.Integer()
    batches_returned = fields.Integer()
    variance_idr = fields.Integer(metadata={"description": "In approved batches, as approved"})
    members_lapsed = fields.Integer(metadata={"description": "Members he enrolled who lapsed in the period"})
