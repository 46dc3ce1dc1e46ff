"""Request and response schemas of the ledger's API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from collection.members.schemas import MAX_ID, MonthField, valid_day
from core.errors import UtcDateTime
from payments.ledger.texts import alert_text


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
    message = fields.Function(
        alert_text, metadata={"type": "string", "description": "In words (English unless ?lang=id)"}, allow_none=True
    )
    held_idr = fields.Integer(allow_none=True, metadata={"description": "cash_limit: the cash the agent held"})
    oldest_on = fields.Date(allow_none=True, metadata={"description": "cash_limit, overdue: the oldest cash's day"})
    due_by = fields.Date(allow_none=True, metadata={"description": "cash_limit, overdue: its deposit deadline"})
    raised_on = fields.Date()
    resolved_at = UtcDateTime(allow_none=True)


# Branch finance: bank statements, matches, daily batches, reports.
