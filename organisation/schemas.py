"""Request and response schemas of the organisation's API: tokens, passwords, branches, Wadah and staff."""

from __future__ import annotations

from flask_babel import lazy_gettext
from marshmallow import Schema, fields, validate

from core.errors import UtcDateTime
from core.guards import MAX_ID
from core.regions import TIMEZONES
from organisation.administration import STAFF_ROLES


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


# --- administration: branches, Wadah, staff, passwords ----------------------------------------------------------

BRANCH_CODE = validate.Regexp(
    r"^[A-Za-z0-9]{2,16}$", error=lazy_gettext("A branch code has 2 to 16 letters and digits, e.g. PKP.")
)
PROVINCE_CODE = validate.Regexp(r"^[0-9]{2}$", error=lazy_gettext("A province code has 2 digits, e.g. 19."))
REGENCY_CODE = validate.Regexp(r"^[0-9]{4}$", error=lazy_gettext("A regency or city code has 4 digits, e.g. 1971."))
ZONE = validate.OneOf(
    TIMEZONES, error=lazy_gettext("Choose one of Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT).")
)
NAME = validate.Length(min=1, max=120, error=lazy_gettext("Write 1 to 120 characters."))
MAX_IDR = MAX_ID  # the column is a 32-bit integer
OWN_BRANCH = "An admin's choice of branch; a supervisor sees his own"
ID = validate.Range(min=1, max=MAX_ID, error=lazy_gettext("An id is a whole number from 1 to %(max)s.", max=MAX_ID))


class BranchCreateSchema(Schema):
    code = fields.String(required=True, validate=BRANCH_CODE)
    name = fields.String(required=True, validate=NAME)
    province_code = fields.String(required=True, validate=PROVINCE_CODE)
    regency_code = fields.String(required=True, validate=REGENCY_CODE)
    timezone = fields.String(
        validate=ZONE, metadata={"description": "Left out: the province's zone (WIB, WITA or WIT)"}
    )
    cash_limit_idr = fields.Integer(
        strict=True,
        validate=validate.Range(
            min=1, max=MAX_IDR, error=lazy_gettext("The cash limit is a whole number of rupiah above 0.")
        ),
    )
    deposit_deadline_working_days = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=30, error=lazy_gettext("Write 0 (the same day) to 30 working days.")),
    )


class BranchUpdateSchema(BranchCreateSchema):
    code = fields.String(validate=BRANCH_CODE)
    name = fields.String(validate=NAME)
    province_code = fields.String(validate=PROVINCE_CODE)
    regency_code = fields.String(validate=REGENCY_CODE)


class WadahSchema(Schema):
    id = fields.Integer()
    branch_id = fields.Integer()
    name = fields.String()
    agreement_ref = fields.String(allow_none=True)


class WadahCreateSchema(Schema):
    branch_id = fields.Integer(required=True, strict=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    agreement_ref = fields.String(
        allow_none=True, validate=validate.Length(max=64, error=lazy_gettext("At most 64 characters."))
    )


class WadahUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    agreement_ref = fields.String(
        allow_none=True, validate=validate.Length(max=64, error=lazy_gettext("At most 64 characters."))
    )


class WadahQuerySchema(Schema):
    branch_id = fields.Integer(
        validate=ID, metadata={"description": "An admin's choice of branch; a supervisor sees his own"}
    )


class StaffSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    branch_id = fields.Integer(allow_none=True)
    phone = fields.String(allow_none=True)
    is_active = fields.Boolean()
    must_change_password = fields.Boolean()
    created_at = UtcDateTime()


STAFF_ROLE = validate.OneOf(
    [r.value for r in STAFF_ROLES],
    error=lazy_gettext("Choose one of branch_finance, supervisor, admin; agents are created in the agents' roster."),
)
PHONE = validate.Length(
    max=32, error=lazy_gettext("At most 32 characters: write a mobile number such as 0812-3456-7890.")
)


class StaffCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    full_name = fields.String(required=True, validate=NAME)
    role = fields.String(required=True, validate=STAFF_ROLE)
    branch_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ID)
    phone = fields.String(allow_none=True, validate=PHONE)
    password = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "Left out: a temporary password is generated and returned once"},
    )


class StaffUpdateSchema(Schema):
    full_name = fields.String(validate=NAME)
    phone = fields.String(allow_none=True, validate=PHONE)
    role = fields.String(validate=STAFF_ROLE)
    branch_id = fields.Integer(strict=True, allow_none=True, validate=ID, metadata={"description": "An admin only"})


class StaffQuerySchema(Schema):
    branch_id = fields.Integer(
        validate=ID, metadata={"description": "An admin's choice of branch; a supervisor sees his own"}
    )


class StaffWithPasswordSchema(Schema):
    user = fields.Nested(StaffSchema)
    temporary_password = fields.String(
        allow_none=True, metadata={"description": "Shown this once; the user must change it at the first login"}
    )


class PasswordChangeSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class PasswordChangedSchema(Schema):
    changed = fields.Boolean()
    user = fields.Nested(UserSchema)
