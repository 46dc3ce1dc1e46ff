"""The remittance API's requests and answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.errors import UtcDateTime
from payments.remittance.services import MAX_REFERENCE


class RemittanceFileSchema(Schema):
    id = fields.Integer()
    branch_id = fields.Integer()
    sequence = fields.Integer()
    name = fields.String(metadata={"description": "<branch code>-<sequence, 6 digits>-<YYYYMMDD>.csv"})
    business_date = fields.Date(metadata={"description": "The branch's day whose end made the file"})
    made_at = UtcDateTime()
    line_count = fields.Integer()
    total_idr = fields.Integer(metadata={"description": "Sum of the lines: payments less reversals"})
    body_sha256 = fields.String(metadata={"description": "SHA-256 of the header and lines: the trailer's checksum"})
    sha256 = fields.String(metadata={"description": "SHA-256 of the whole file as downloaded"})
    size_bytes = fields.Integer()
    acknowledged_at = UtcDateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    acknowledgement_reference = fields.String(allow_none=True)
    acknowledgement_due_on = fields.Date(metadata={"description": "The 2nd working day after the file's day"})
    overdue = fields.Boolean(metadata={"description": "Not acknowledged and its due day has passed"})


class AcknowledgementSchema(Schema):
    reference = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_REFERENCE),
        metadata={"description": "The national system's acknowledgement reference"},
    )
