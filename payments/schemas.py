"""Request and response schemas of the payments API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from collection.schemas import MAX_ID, MonthField, valid_day
from core.errors import UtcDateTime


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


class CashPositionSchema(Schema):
    collected_today_idr = fields.Integer()
    collected_idr = fields.Integer()
    deposited_idr = fields.Integer()
    on_hand_idr = fields.Integer()
    limit_idr = fields.Integer()
    oldest_undeposited_on = fields.Date(allow_none=True)
    deposit_due_by = fields.Date(allow_none=True)
    blocked = fields.Boolean()


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
    new_lines = fields.Integer()
    matched = fields.Integer()
    missing_in_report = fields.List(fields.Dict(), metadata={"description": "Settled here, absent from the report"})
    missing_in_ours = fields.List(fields.Dict(), metadata={"description": "In the report, not settled here"})
    amount_mismatch = fields.List(fields.Dict())


class DebitRunSchema(Schema):
    created = fields.Integer()
    sent = fields.Integer()
    refused = fields.Integer()
    skipped = fields.List(fields.String())
