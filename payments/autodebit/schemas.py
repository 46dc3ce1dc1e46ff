"""Auto-debit's request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from collection.members.schemas import MAX_ID
from core.errors import UtcDateTime
from payments.autodebit.orders import OUTCOMES


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


class ReviewResolutionSchema(Schema):
    note = fields.String(
        required=True,
        validate=validate.Length(min=3, max=200),
        metadata={"description": "What finance did: refunded the member, applied the money by hand, and so on"},
    )
    outcome = fields.String(
        load_default=None,
        validate=validate.OneOf(OUTCOMES),
        metadata={
            "description": "What became of the money: settled (kept; a member's own payment is booked on his ledger "
            "with a receipt), refunded (given back to the member), rejected (no payment stands). Required for a "
            "member's own charge (SP-…) under review: the member's page shows it."
        },
    )


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


class DebitRunJobSchema(Schema):
    branch_id = fields.Integer()
    job_id = fields.String(metadata={"description": "The RQ job that runs the branch's debits"})


class DebitRunsQueuedSchema(Schema):
    jobs = fields.List(fields.Nested(DebitRunJobSchema), metadata={"description": "One job per branch"})
