"""Request and response schemas of the roster: agents, their status moves, hand-overs and deactivation proposals."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from agents.roster.models import ProposalStatus
from agents.roster.rules import MAX_AREAS
from collection.members.schemas import MAX_ID, has_letters
from core.errors import UtcDateTime
from organisation.models import AgentStatus

_ID = validate.Range(min=1, max=MAX_ID)


class AgentRequestSchema(Schema):
    nik = fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata={"example": "1971011201900001"}
    )
    name = fields.String(required=True, validate=[validate.Length(min=2, max=120), has_letters])
    phone = fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata={"example": "0812-3456-7890"}
    )
    wadah_id = fields.Integer(required=True, validate=_ID)
    code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "Made if left out"},
    )
    username = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Za-z0-9._\-]{3,64}$", error="3 to 64 letters, digits, '.', '_' or '-'."),
        metadata={"description": "The agent's code in lower case if left out"},
    )
    areas = fields.List(
        fields.String(validate=validate.Length(min=1, max=120)),
        load_default=list,
        validate=validate.Length(max=MAX_AREAS),
        metadata={"description": "Village names and/or district (kecamatan) codes of 6 digits"},
    )


class AgentEditSchema(Schema):
    phone = fields.String(validate=validate.Length(min=1, max=40))
    wadah_id = fields.Integer(validate=_ID)
    areas = fields.List(
        fields.String(validate=validate.Length(min=1, max=120)), validate=validate.Length(max=MAX_AREAS)
    )


class AgentQuerySchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in AgentStatus]))


class AgentAreaSchema(Schema):
    kind = fields.String()
    key = fields.String()
    label = fields.String()


class AgentSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    user_id = fields.Integer()
    username = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    branch_id = fields.Integer()
    wadah_id = fields.Integer()
    wadah_name = fields.String()
    status = fields.String()
    status_changed_at = UtcDateTime(allow_none=True)
    nik = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    sex = fields.String(allow_none=True)
    member_id = fields.Integer(allow_none=True, metadata={"description": "His own membership, when iuran has it"})
    areas = fields.List(fields.Nested(AgentAreaSchema))
    members_served = fields.Integer()
    open_visits = fields.Integer()
    cash_on_hand_idr = fields.Integer(metadata={"description": "Cash collected and not yet deposited"})
    deposit_due_by = fields.Date(allow_none=True)
    created_at = UtcDateTime()
    initial_password = fields.String(
        allow_none=True, metadata={"description": "Only in the answer that enrolled him: give it to the agent"}
    )


class AgentStatusReasonSchema(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=3, max=200), has_letters])


class HandOverRequestSchema(Schema):
    to_agent_id = fields.Integer(required=True, validate=_ID)
    by_village = fields.Boolean(load_default=False)
    default_agent_id = fields.Integer(load_default=None, allow_none=True, validate=_ID)


class HandedOverSchema(Schema):
    agent_id = fields.Integer()
    agent_code = fields.String()
    members = fields.Integer()
    visits = fields.Integer()
    members_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    visits_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())


class HandOverReportSchema(Schema):
    from_agent_id = fields.Integer()
    from_agent_code = fields.String()
    by_village = fields.Boolean()
    members_moved = fields.Integer()
    visits_moved = fields.Integer()
    moved = fields.List(fields.Nested(HandedOverSchema))


class LeftMemberSchema(Schema):
    member_id = fields.Integer()
    kpj = fields.String(allow_none=True)
    village = fields.String(allow_none=True)
    district_code = fields.String()
    reason = fields.String(metadata={"description": "no_area, ambiguous_village or ambiguous_district"})
    agent_codes = fields.List(fields.String(), metadata={"description": "the agents whose areas all cover him"})


class AreaAssignmentReportSchema(Schema):
    branch_id = fields.Integer()
    without_agent = fields.Integer(metadata={"description": "members who had no serving agent before this run"})
    assigned = fields.Integer()
    left = fields.Integer()
    assigned_by_agent = fields.Dict(keys=fields.String(), values=fields.Integer())
    left_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    left_members = fields.List(fields.Nested(LeftMemberSchema), metadata={"description": "the first 1,000 left"})


class DeactivationProposalQuerySchema(Schema):
    status = fields.String(
        load_default=ProposalStatus.OPEN.value, validate=validate.OneOf([*(s.value for s in ProposalStatus), "all"])
    )


class ProposalNoteSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class DeactivationProposalSchema(Schema):
    id = fields.Integer(attribute="proposal.id")
    agent_id = fields.Integer(attribute="agent.id")
    agent_code = fields.String(attribute="agent.code")
    agent_name = fields.String(attribute="agent.user.full_name")
    agent_status = fields.String(attribute="agent.status")
    branch_id = fields.Integer(attribute="proposal.branch_id")
    idle_since = UtcDateTime(attribute="proposal.idle_since")
    proposed_at = UtcDateTime(attribute="proposal.proposed_at")
    status = fields.String(attribute="proposal.status")
    decided_at = UtcDateTime(attribute="proposal.decided_at", allow_none=True)
    decided_by_user_id = fields.Integer(attribute="proposal.decided_by_user_id", allow_none=True)
    note = fields.String(attribute="proposal.note", allow_none=True)
