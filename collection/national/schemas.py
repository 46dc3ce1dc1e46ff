"""Request and response schemas for the national import and the agents' assignment."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from collection.national.rows import EXAMPLE_HEADER, Outcome
from core.errors import UtcDateTime


class NationalUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": f"CSV: {EXAMPLE_HEADER} (Indonesian headers too)"})


class MemberAgentsUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "CSV: kpj,agent_code (no_kpj,kode_agen)"})


class NationalRowSchema(Schema):
    row = fields.Integer(metadata={"description": "The line in the file (the header is line 1)"})
    kpj = fields.String()
    nik = fields.String()
    outcome = fields.String(metadata={"description": "created, existing, unchanged or rejected"})
    member_id = fields.Integer(allow_none=True)
    field = fields.String(allow_none=True, metadata={"description": "The column at fault (rejected, existing)"})
    reason = fields.String(allow_none=True)


class NationalImportQuerySchema(Schema):
    outcome = fields.String(
        load_default=None,
        validate=validate.OneOf([Outcome.CREATED, Outcome.EXISTING, Outcome.UNCHANGED, Outcome.REJECTED]),
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10**6))
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class NationalImportSchema(Schema):
    id = fields.Integer()
    branch_id = fields.Integer()
    filename = fields.String()
    status = fields.String(metadata={"description": "running, done or failed"})
    rows_total = fields.Integer()
    rows_done = fields.Integer(metadata={"description": "Progress of a running import"})
    created = fields.Integer()
    existing = fields.Integer(metadata={"description": "Members of iuran already (by NIK): reported, not added"})
    unchanged = fields.Integer(metadata={"description": "Imported before from the national system"})
    rejected = fields.Integer()
    already_imported = fields.Boolean(metadata={"description": "This file was imported before: nothing changed"})
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    rows = fields.List(fields.Nested(NationalRowSchema), metadata={"description": "One page of the per-row report"})
    rows_matching = fields.Integer(metadata={"description": "Rows of the report with the outcome asked for"})


class MemberAgentRowSchema(Schema):
    row = fields.Integer()
    kpj = fields.String()
    agent_code = fields.String()
    outcome = fields.String(metadata={"description": "assigned, unchanged or rejected"})
    member_id = fields.Integer(allow_none=True)
    field = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class MemberAgentsSchema(Schema):
    rows_total = fields.Integer()
    assigned = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    rows = fields.List(fields.Nested(MemberAgentRowSchema))
