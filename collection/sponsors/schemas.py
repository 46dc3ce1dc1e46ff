"""Request and response schemas for sponsors, their programmes, imports, payments and the retention report."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from collection.members.rates import Package
from collection.members.schemas import MAX_ID, MonthField, has_letters, valid_day
from collection.sponsors.programmes import MAX_PROGRAMME_MONTHS, SponsorKind
from collection.sponsors.rows import Outcome
from core.errors import UtcDateTime

MAX_BUDGET_IDR = 10**15


class SponsorRequestSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in SponsorKind]))
    name = fields.String(required=True, validate=[validate.Length(min=2, max=120), has_letters])
    region_code = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Province (2 digits) or regency/city (4 digits) as in the NIK; none for a donor"},
    )


class SponsorSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    region_code = fields.String(allow_none=True)
    created_at = UtcDateTime()


class ProgrammeRequestSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={"example": "BASEL-2025"})
    name = fields.String(required=True, validate=[validate.Length(min=2, max=160), has_letters])
    sponsor_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    branch_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    package = fields.String(required=True, validate=validate.OneOf([p.value for p in Package]))
    first_month = MonthField(required=True)
    months = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_PROGRAMME_MONTHS))
    budget_idr = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_BUDGET_IDR))


class BudgetRequestSchema(Schema):
    budget_idr = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_BUDGET_IDR))


class ProgrammeQuerySchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "ended"]))


class ProgrammeSchema(Schema):
    id = fields.Integer(attribute="programme.id")
    code = fields.String(attribute="programme.code")
    name = fields.String(attribute="programme.name")
    sponsor_id = fields.Integer(attribute="programme.sponsor_id")
    sponsor_name = fields.String(attribute="sponsor.name")
    sponsor_kind = fields.String(attribute="sponsor.kind")
    branch_id = fields.Integer(attribute="programme.branch_id")
    package = fields.String(attribute="programme.package")
    first_month = MonthField(attribute="programme.first_month")
    last_month = MonthField(attribute="programme.last_month")
    months = fields.Integer(attribute="programme.months")
    status = fields.String(attribute="programme.status")
    ended_on = fields.Date(attribute="programme.ended_on", allow_none=True)
    members = fields.Integer()
    budget_idr = fields.Integer(attribute="programme.budget_idr")
    budget_used_idr = fields.Integer()
    budget_left_idr = fields.Integer()
    payments = fields.Integer()


class ProgrammeMemberSchema(Schema):
    member_id = fields.Integer()
    nik = fields.String()
    kpj = fields.String(allow_none=True)
    name = fields.String()
    village = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    status = fields.String()
    paid_through = MonthField(allow_none=True)
    covered_from = MonthField()
    covered_to = MonthField()
    added_on = fields.Date()
    created_member = fields.Boolean(metadata={"description": "Enrolled by the programme (not a member before)"})
    import_id = fields.Integer(allow_none=True)


class AddMemberRequestSchema(Schema):
    nik = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(load_default=None, validate=validate.Length(max=200))
    birth_date = fields.Date(load_default=None, validate=valid_day)
    phone = fields.String(load_default=None, validate=validate.Length(max=40))
    occupation = fields.String(load_default=None, validate=validate.Length(max=200))
    village = fields.String(load_default=None, validate=validate.Length(max=200))


class RowOutcomeSchema(Schema):
    row = fields.Integer(metadata={"description": "The line in the file (the header is line 1)"})
    nik = fields.String()
    outcome = fields.String(metadata={"description": "created, sponsored, unchanged or rejected"})
    member_id = fields.Integer(allow_none=True)
    field = fields.String(allow_none=True, metadata={"description": "For a rejected row: the column at fault"})
    reason = fields.String(allow_none=True)


class ImportUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "CSV: nik,name,birth_date,phone,occupation,village"})


class ImportQuerySchema(Schema):
    outcome = fields.String(
        load_default=None,
        validate=validate.OneOf([Outcome.CREATED, Outcome.SPONSORED, Outcome.UNCHANGED, Outcome.REJECTED]),
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10**6))
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ImportSchema(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    filename = fields.String()
    status = fields.String(metadata={"description": "running, done or failed"})
    rows_total = fields.Integer()
    rows_done = fields.Integer(metadata={"description": "Progress of a running import"})
    created = fields.Integer()
    sponsored = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    already_imported = fields.Boolean(metadata={"description": "This file was imported before: nothing changed"})
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    rows = fields.List(fields.Nested(RowOutcomeSchema), metadata={"description": "One page of the per-row report"})
    rows_matching = fields.Integer(metadata={"description": "Rows of the report with the outcome asked for"})


class SponsorPaymentRequestSchema(Schema):
    first_month = MonthField(load_default=None, metadata={"description": "Default: the programme's first month"})
    last_month = MonthField(load_default=None, metadata={"description": "Default: the programme's last month"})
    paid_on = fields.Date(load_default=None, validate=valid_day)
    bank_reference = fields.String(load_default=None, validate=validate.Length(max=64))
    branch_arrangement = fields.Boolean(
        load_default=False,
        metadata={"description": "Supervisor only: also settle members who lapsed because the sponsor paid late"},
    )


class SponsorPaymentSchema(Schema):
    id = fields.Integer(attribute="payment.id")
    programme_id = fields.Integer(attribute="payment.programme_id")
    programme_code = fields.String()
    sponsor_name = fields.String()
    amount_idr = fields.Integer(attribute="payment.amount_idr")
    members = fields.Integer(attribute="payment.members")
    member_months = fields.Integer(attribute="payment.member_months")
    first_month = MonthField(attribute="payment.first_month")
    last_month = MonthField(attribute="payment.last_month")
    paid_on = fields.Date(attribute="payment.paid_on")
    bank_reference = fields.String(attribute="payment.bank_reference", allow_none=True)
    receipt_number = fields.String(attribute="payment.receipt_number")
    verification_code = fields.String(attribute="payment.verification_code")
    branch_arrangement = fields.Boolean(attribute="payment.branch_arrangement")
    recorded_at = UtcDateTime(attribute="payment.recorded_at")
    awaiting_arrangement = fields.Integer(
        allow_none=True, metadata={"description": "Members left out: lapsed because the sponsor paid late"}
    )
    restored = fields.Integer(allow_none=True, metadata={"description": "Periods a branch arrangement restored"})
    new_periods = fields.Integer(allow_none=True, metadata={"description": "Members restarted after an old lapse"})


class BreakdownMonthSchema(Schema):
    month = MonthField()
    amount_idr = fields.Integer()


class BreakdownSchema(Schema):
    payment_id = fields.Integer()
    member_id = fields.Integer()
    nik = fields.String()
    kpj = fields.String(allow_none=True)
    name = fields.String()
    amount_idr = fields.Integer()
    status = fields.String()
    months = fields.List(fields.Nested(BreakdownMonthSchema))


class EndResultSchema(Schema):
    programme_id = fields.Integer()
    ended_on = fields.Date()
    already_ended = fields.Boolean()
    members = fields.Integer()
    notices = fields.Integer()
    visits = fields.Integer()
    still_sponsored = fields.Integer()


class RetentionQuerySchema(Schema):
    on = fields.Date(load_default=None, validate=valid_day, metadata={"description": "Default: today"})


class RetentionPointSchema(Schema):
    months_after = fields.Integer()
    month = MonthField()
    due_on = fields.Date()
    measured = fields.Boolean()
    paying = fields.Integer(allow_none=True)
    share = fields.Float(allow_none=True, metadata={"description": "paying / members, 0 to 1"})


class RetentionSchema(Schema):
    programme_id = fields.Integer()
    code = fields.String()
    last_month = MonthField()
    on = fields.Date()
    members = fields.Integer()
    points = fields.List(fields.Nested(RetentionPointSchema))
