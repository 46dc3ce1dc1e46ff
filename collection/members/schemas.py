"""Request and response schemas for members, their schedules and the rate table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from operator import attrgetter, itemgetter
from typing import Any

from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Row

from collection.members.arrears import Standing
from collection.members.kpj import KpjError, kpj_digits
from collection.members.nik import NikError, nik_digits, parse_nik
from collection.members.rates import Package, Sector
from core.clock import utcnow
from core.months import Month
from core.phones import PhoneError, normalise_phone
from organisation.schemas import ID


class MonthField(fields.Field):
    """A :class:`Month` written ``YYYY-MM``."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-03"}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: Month | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Month:
        try:
            return Month.parse(value)
        except (ValueError, TypeError) as error:
            raise ValidationError(str(error)) from error


MAX_ID = 2**31 - 1
MAX_INCOME_IDR = 10**12  # only the bracket matters above Rp20.200.000; this bounds the column


def has_letters(value: str) -> None:
    """A name or occupation must have letters, not only spaces, digits or emoji (it is searched by them)."""
    if not any(ch.isalpha() for ch in value):
        raise ValidationError(gettext("Write it in letters."))


def mobile_phone(value: str) -> None:
    """An Indonesian mobile number, with the message an enrolment's phone gets (core/phones.py); an empty one is no
    number (the member has none: a search asks for at least one character itself)."""
    if value.strip():
        try:
            normalise_phone(value)
        except PhoneError as error:
            raise ValidationError(str(error)) from None


def valid_day(value: Any) -> None:
    """Business dates live in 1900–2999, like months."""
    if not 1900 <= value.year <= 2999:
        raise ValidationError(gettext("Give a date between 1900-01-01 and 2999-12-31."))


def nik_as_typed(value: str) -> None:
    """A NIK's shape, 16 digits, with the message of the rule an enrolment's NIK is checked by first (nik.py):
    checked with the other fields, so a form shows every mistake at once."""
    try:
        nik_digits(value)
    except NikError as error:
        raise ValidationError(error.message) from error


def kpj_as_typed(value: str) -> None:
    """A KPJ's shape, 11 digits, with kpj.py's message."""
    try:
        kpj_digits(value)
    except KpjError as error:
        raise ValidationError(str(error)) from error


def nik_for_enrolment(value: str) -> None:
    """A NIK by every rule that needs no branch (its shape, region, birth date, serial, the member's age as of
    tomorrow: the service checks the age again on the branch's own day), so the form shows a bad NIK beside the
    other fields' mistakes, not only after they are fixed."""
    try:
        parse_nik(value, utcnow().date() + timedelta(days=1))
    except NikError as error:
        raise ValidationError(error.message) from error


_PACKAGES = [p.value for p in Package]
_SECTORS = [s.value for s in Sector]


class MemberCreateSchema(Schema):
    nik = fields.String(
        required=True,
        validate=nik_for_enrolment,
        metadata={"description": "16 digits, as on the KTP", "example": "1971015507900001"},
    )
    name = fields.String(required=True, validate=[validate.Length(min=2, max=120), has_letters])
    birth_date = fields.Date(validate=valid_day, metadata={"description": "Optional; when given it must match the NIK"})
    sex = fields.String(validate=validate.OneOf(["M", "F"]), metadata={"description": "Optional; must match the NIK"})
    phone = fields.String(
        allow_none=True,
        validate=mobile_phone,
        metadata={"description": "Mobile, 08…, 628… or +628…", "example": "0812-3456-7890"},
    )
    occupation = fields.String(required=True, validate=[validate.Length(min=2, max=80), has_letters])
    sector = fields.String(required=True, validate=validate.OneOf(_SECTORS))
    declared_income_idr = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_INCOME_IDR))
    bracket = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=33),
        metadata={"description": "Optional; when given it must match the income"},
    )
    package = fields.String(required=True, validate=validate.OneOf(_PACKAGES))
    branch_id = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Defaults to the caller's branch"},
    )
    agent_id = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The enrolling agent; an agent enrols as himself"},
    )


class MemberSchema(Schema):
    id = fields.Integer()
    nik = fields.String()
    kpj = fields.String()
    name = fields.String()
    birth_date = fields.Date()
    sex = fields.String()
    phone = fields.String(allow_none=True)
    occupation = fields.String()
    sector = fields.String()
    declared_income_idr = fields.Integer()
    bracket = fields.Integer()
    package = fields.String()
    branch_id = fields.Integer()
    enrolled_by_agent_id = fields.Integer(allow_none=True)
    agent_id = fields.Integer(allow_none=True, metadata={"description": "The agent who serves the member now"})
    enrolled_on = fields.Date()
    monthly_amount_idr = fields.Integer(metadata={"description": "What this month's contribution is for this member"})
    status = fields.String()
    paid_through = MonthField(allow_none=True)
    period_started_on = fields.Date()
    months_in_arrears = fields.Integer(
        allow_none=True,
        metadata={"description": "Months owed, worked out now by the member's own standing, in lists as on one"},
    )
    arrears_idr = fields.Integer(allow_none=True)
    village = fields.String(allow_none=True, metadata={"description": "Kelurahan/desa"})


# MemberSchema's fields that are the member's own columns, those of them written as text (dates, months), and
# those worked out now, for member_bodies
_FIGURES = ("monthly_amount_idr", "months_in_arrears", "arrears_idr")
_BODY_FIELDS = (
    tuple(n for n in MemberSchema().fields if n not in _FIGURES),
    tuple(n for n, f in MemberSchema().fields.items() if isinstance(f, fields.Date | MonthField)),
)

_STATUSES = ("active", "in_arrears", "lapsed")


class StatusListField(fields.Field):
    """Statuses separated by commas, ``in_arrears,lapsed``: a list of distinct known statuses."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": r"^[a-z_]+(,[a-z_]+)*$", "example": "in_arrears,lapsed"}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, str):
            raise ValidationError(gettext("Give statuses separated by commas, e.g. in_arrears,lapsed."))
        parts = [p.strip() for p in value.split(",")]
        unknown = [p for p in parts if p not in _STATUSES]
        if unknown or not parts:
            raise ValidationError(
                gettext(
                    "Unknown status %(unknown)s: give %(statuses)s, separated by commas (e.g. in_arrears,lapsed).",
                    unknown=", ".join(repr(p) for p in unknown),
                    statuses=", ".join(_STATUSES),
                )
            )
        return sorted(set(parts))


def member_bodies(members: Sequence[Any], monthly: Sequence[int], owed: Mapping[int, Standing]) -> list[dict[str, Any]]:
    """Members (rows or objects with a member's attributes) as MemberSchema dumps them, each with his amount for
    this month (``monthly``, in the same order) and what he owes now (``owed`` by id), without marshmallow's
    per-field cost or a view object per member (a chase list is thousands of members): dates in ISO, months as
    YYYY-MM. A test holds it to the schema."""
    names, written = _BODY_FIELDS
    values = attrgetter(*names)
    if members and isinstance(members[0], Row):  # plain rows (services.member_rows) read by position: 3× faster
        columns = members[0]._fields
        values = itemgetter(*(columns.index(name) for name in names))  # type: ignore[assignment]
    bodies = []
    for member, amount in zip(members, monthly, strict=True):
        body = dict(zip(names, values(member), strict=True))
        for name in written:  # dates and months, each None or its text
            value = body[name]
            if value is not None:
                body[name] = value.isoformat() if isinstance(value, date) else str(value)
        standing = owed[body["id"]]
        body["monthly_amount_idr"] = amount
        body["months_in_arrears"] = standing.months_in_arrears
        body["arrears_idr"] = standing.arrears_idr
        bodies.append(body)
    return bodies


CHASE_BRANCH_DOC = (
    "The list of whom to chase of one branch (with status): an admin any branch (default every branch), other "
    "staff only their own (another branch is a 404)"
)


class MemberQuerySchema(Schema):
    nik = fields.String(
        validate=[validate.Length(max=32), nik_as_typed],
        metadata={"description": "16 digits, as on the KTP", "pattern": r"^[0-9 .-]{16,32}$"},
    )
    kpj = fields.String(
        validate=[validate.Length(max=32), kpj_as_typed],
        metadata={"description": "11 digits, as on the member's card", "pattern": r"^[0-9 .-]{11,32}$"},
    )
    phone = fields.String(
        validate=[validate.Length(min=1, max=32), mobile_phone],
        metadata={"description": "Mobile, 08…, 628… or +628…", "pattern": r"^\+?[0-9 ().-]{9,32}$"},
    )
    q = fields.String(
        validate=validate.Length(
            min=2, max=120, error="Type at least 2 and at most 120 characters: a name, NIK, KPJ or phone number."
        ),
        metadata={"description": "A name (misspellings tolerated), or a NIK, KPJ or phone number"},
    )
    status = StatusListField(
        metadata={
            "description": "Only members with these reconciled statuses, by id (the list of whom to chase: "
            "in_arrears,lapsed); each with months_in_arrears and arrears_idr worked out now"
        }
    )
    branch_id = fields.Integer(validate=ID, metadata={"description": CHASE_BRANCH_DOC})


class ChaseQuerySchema(Schema):
    status = StatusListField(
        load_default=["in_arrears", "lapsed"],
        metadata={"description": "The statuses to list (default in_arrears,lapsed)"},
    )
    branch_id = fields.Integer(validate=ID, metadata={"description": CHASE_BRANCH_DOC})


class ScheduleQuerySchema(Schema):
    first = MonthField(
        data_key="from", metadata={"description": "First month, YYYY-MM (default: the member's first month)"}
    )
    last = MonthField(data_key="to", metadata={"description": "Last month, YYYY-MM (default: 11 months after 'from')"})


class ScheduleLineSchema(Schema):
    month = MonthField()
    due_on = fields.Date()
    amount_idr = fields.Integer()
    jkk_idr = fields.Integer()
    jkm_idr = fields.Integer()
    jht_idr = fields.Integer()
    discount_idr = fields.Integer()
    discounts = fields.List(fields.String())
    settled = fields.Boolean()


class ScheduleSchema(Schema):
    member_id = fields.Integer()
    package = fields.String()
    bracket = fields.Integer()
    months = fields.List(fields.Nested(ScheduleLineSchema))


class RatesQuerySchema(Schema):
    on = fields.Date(validate=valid_day, metadata={"description": "The day the table is in force (default: today)"})


class BracketRateSchema(Schema):
    number = fields.Integer()
    income_from_idr = fields.Integer()
    income_to_idr = fields.Integer(allow_none=True)
    base_idr = fields.Integer()
    jkk_idr = fields.Integer()
    jkm_idr = fields.Integer()
    jht_idr = fields.Integer()
    jkk_jkm_idr = fields.Integer()
    jkk_jkm_jht_idr = fields.Integer()


class DiscountSchema(Schema):
    name = fields.String()
    programmes = fields.List(fields.String())
    percent = fields.Integer()
    sectors = fields.List(fields.String())
    first_month = MonthField()
    last_month = MonthField()
    excluded_payers = fields.List(fields.String())
    source = fields.String()


class RateTableSchema(Schema):
    on = fields.Date()
    effective_from = MonthField()
    effective_to = MonthField(allow_none=True)
    jkk_rate_percent = fields.Float()
    jkm_flat_idr = fields.Integer()
    jht_rate_percent = fields.Float()
    source = fields.String()
    brackets = fields.List(fields.Nested(BracketRateSchema))
    discounts = fields.List(fields.Nested(DiscountSchema), metadata={"description": "Discounts in force that month"})
