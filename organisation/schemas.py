"""Request and response schemas of the agents' API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.errors import UtcDateTime


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    branch_id = fields.Integer(allow_none=True)


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_at = UtcDateTime()
    user = fields.Nested(UserSchema)


class BranchSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    province_code = fields.String()
    regency_code = fields.String()
    timezone = fields.String()
    cash_limit_idr = fields.Integer()
    deposit_deadline_working_days = fields.Integer()
