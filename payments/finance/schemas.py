"""Branch finance's request and response schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from collection.members.schemas import MAX_ID, MonthField, valid_day
from core.errors import UtcDateTime
from core.months import Month
from payments.finance.statements import BANK_FORMATS
from payments.finance.texts import line_note, pending_text, variance_cause


def worded(word: Callable[[Any], str | None], description: str, **kwargs: Any) -> fields.Function:
    """The whole object worded (a variance's cause, a line's note), documented as a string."""
    return fields.Function(word, metadata={"type": "string", "description": description}, **kwargs)


class DepositRequestSchema(Schema):
    amount_idr = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    bank_reference = fields.String(required=True, validate=validate.Length(min=3, max=64))
    deposited_on = fields.Date(validate=valid_day)


class AgentDepositRequestSchema(Schema):
    """Finance declares the setoran of an agent who is no longer active: the date on the bank slip is needed."""

    amount_idr = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    bank_reference = fields.String(required=True, validate=validate.Length(min=3, max=64))
    deposited_on = fields.Date(required=True, validate=valid_day, metadata={"description": "The bank slip's date"})


class DepositCorrectionRequestSchema(Schema):
    """Finance lowers a short deposit to what the bank credited for it."""

    amount_idr = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "What the bank credited: the amount of the bank credit matched to the deposit"},
    )
    reason = fields.String(required=True, validate=validate.Length(min=3, max=300))


class SameReferenceSchema(Schema):
    deposit_id = fields.Integer()
    agent_code = fields.String()
    amount_idr = fields.Integer()
    deposited_on = fields.Date()


class DepositSchema(Schema):
    id = fields.Integer()
    agent_id = fields.Integer()
    amount_idr = fields.Integer()
    bank_reference = fields.String()
    deposited_on = fields.Date()
    recorded_at = UtcDateTime()
    recorded_by_user_id = fields.Integer(metadata={"description": "The agent's login, or finance's who declared it"})
    declared_idr = fields.Integer(
        allow_none=True,
        metadata={
            "description": "What the agent declared, when finance corrected the deposit to what the bank credited "
            "(amount_idr); null when never corrected"
        },
    )
    corrected_at = UtcDateTime(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    same_reference_deposits = fields.List(
        fields.Nested(SameReferenceSchema),
        metadata={
            "description": "A warning, not a refusal: other deposits declared with this bank reference (its case "
            "and surrounding spaces aside). An agent sees his own; finance sees every deposit of the branch. "
            "The bank statement settles which of them the bank holds."
        },
    )


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
    note = worded(
        line_note,
        "Why it is unmatched, how it was matched, or finance's reason, in words (English unless ?lang=id)",
        allow_none=True,
    )
    note_code = fields.String(
        allow_none=True,
        metadata={
            "description": "no_match, many_by_reference (note_count deposits could be it), many_by_amount (likewise), "
            "declared_differs (the deposit was declared as note_amount_idr), provider_payout (note_count debits "
            "settled on note_on); null with finance's own reason"
        },
    )
    note_count = fields.Integer(allow_none=True)
    note_amount_idr = fields.Integer(allow_none=True)
    note_on = fields.Date(allow_none=True)
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
    cause = worded(variance_cause, "The cause in words (English unless ?lang=id)")
    reference = fields.String(allow_none=True, metadata={"description": "The deposit's bank reference"})
    declared_idr = fields.Integer(allow_none=True, metadata={"description": "What the agent declared"})
    banked_idr = fields.Integer(allow_none=True, metadata={"description": "What the bank credited (short, over)"})
    collected_on = fields.Date(allow_none=True, metadata={"description": "missing_deposit: the day of the cash"})
    due_by = fields.Date(allow_none=True, metadata={"description": "missing_deposit: its deposit deadline"})
    deposit_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The deposit (not for missing_deposit); short: POST /deposits/{id}/correction"},
    )


class PendingSchema(Schema):
    code = fields.String(
        metadata={"description": "cash_due (the day's cash before its deadline) or no_statement (no statement yet)"}
    )
    amount_idr = fields.Integer()
    reference = fields.String(allow_none=True, metadata={"description": "no_statement: the deposit's bank reference"})
    day = fields.Date(allow_none=True, metadata={"description": "no_statement: the day no statement covers yet"})
    due_by = fields.Date(allow_none=True, metadata={"description": "cash_due: the deposit deadline"})
    message = worded(pending_text, "In words (English unless ?lang=id)")


class DepositFigureSchema(Schema):
    id = fields.Integer()
    amount_idr = fields.Integer()
    bank_reference = fields.String()
    banked_idr = fields.Integer()
    statement_line_id = fields.Integer(allow_none=True)
    match_kind = fields.String(allow_none=True)
    declared_idr = fields.Integer(
        allow_none=True,
        metadata={"description": "What the agent declared, when finance corrected the deposit to the bank's credit"},
    )


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
    pending_words = fields.Function(
        lambda figures: [pending_text(p) for p in figures.pending],
        data_key="pending",
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "What cannot be judged yet, in words (English unless ?lang=id): each of pending_items",
        },
    )
    pending_items = fields.List(
        fields.Nested(PendingSchema), attribute="pending", metadata={"description": "What cannot be judged yet"}
    )


class BatchSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "None while the day is still open"})
    branch_id = fields.Integer()
    status = fields.String(metadata={"description": "open, closed, returned or approved (locked)"})
    figures = fields.Nested(BatchFiguresSchema)
    decided_by = fields.String(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    answer_note = fields.String(allow_none=True, metadata={"description": "The agent's answer to a returned day"})
    answered_at = UtcDateTime(allow_none=True)


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
    virtual_account_idr = fields.Integer()
    qris_idr = fields.Integer()
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
        raise ValidationError(gettext("Ask for a month between 2000-01 and 2099-12."))


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


class AnswerRequestSchema(Schema):
    note = fields.String(
        required=True,
        validate=validate.Length(min=3, max=300),
        metadata={"description": "What the agent did about the returned day (a corrected deposit, a slip sent)"},
    )


class BatchAnswerSchema(Schema):
    id = fields.Integer()
    business_date = fields.Date()
    status = fields.String(metadata={"description": "closed: back in finance's queue"})
    returned_reason = fields.String(attribute="decision_note", allow_none=True)
    answer_note = fields.String(allow_none=True)
    answered_at = UtcDateTime(allow_none=True)


class ApproveCleanRequestSchema(Schema):
    date = fields.Date(required=True, validate=valid_day, metadata={"description": "The business day"})


class ApproveCleanResultSchema(Schema):
    date = fields.Date()
    approved = fields.List(fields.Integer(), metadata={"description": "Batch ids approved by this request"})
    left = fields.List(
        fields.Integer(), metadata={"description": "Batch ids still to judge one by one: variances, pending, returned"}
    )
