"""The incentives API: each agent's and Wadah's monthly statement, line by line, and finance's approval."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from agents.incentives.rules import AgentStatement, Reason, facts_json
from agents.incentives.statements import BranchMonth, approve_month, branch_month, own_statement
from agents.incentives.texts import explanation, rate_label, share_explanation
from collection.members.schemas import MonthField
from core.clock import app_now
from core.errors import DomainError, NotFound, UtcDateTime
from core.extensions import db
from core.months import Month
from organisation.auth import current_user, require_roles
from organisation.models import Role

bp = Blueprint("incentives", __name__, description="Agents' and Wadahs' monthly incentives (Perdir 13/2022)")


class IncentiveLineSchema(Schema):
    kind = fields.String(metadata={"description": "acquisition, collection, clawback, carried or pending"})
    member_id = fields.Integer(allow_none=True)
    payment_id = fields.Integer(allow_none=True)
    contribution_month = MonthField(allow_none=True)
    base_idr = fields.Integer()
    rate_bp = fields.Integer(allow_none=True, metadata={"description": "The rate in basis points (1500 = 15%)"})
    month_number = fields.Integer(
        allow_none=True, metadata={"description": "The contribution month's place among the member's settled months"}
    )
    amount_idr = fields.Integer()
    reason = fields.String(
        metadata={"description": "How the figure was computed: " + ", ".join(reason.value for reason in Reason)}
    )
    facts = fields.Function(
        lambda line: facts_json(line.facts),
        metadata={
            "type": "object",
            "description": "The reason's figures: days (YYYY-MM-DD: enrolled_on, collected_on, eligible_on, "
            "reversed_on), months (YYYY-MM: carried_from, earned_in), integers (new_nik_count, threshold, "
            "earned_idr), package",
        },
    )
    rate_label = fields.Function(rate_label, metadata={"type": "string", "description": "The rate, worded"})
    explanation = fields.Function(
        explanation, metadata={"type": "string", "description": "The reason and its figures, worded"}
    )


class AgentTotalsSchema(Schema):
    agent_id = fields.Integer()
    month = MonthField()
    new_nik_count = fields.Integer()
    threshold_met = fields.Boolean()
    acquisition_idr = fields.Integer()
    collection_idr = fields.Integer()
    clawback_idr = fields.Integer()
    carried_in_idr = fields.Integer()
    total_idr = fields.Integer()
    payable_idr = fields.Integer()
    carried_out_idr = fields.Integer()
    pending_idr = fields.Integer(metadata={"description": "What collected cash will earn once deposited and approved"})


class AgentStatementSchema(AgentTotalsSchema):
    lines = fields.List(fields.Nested(IncentiveLineSchema))
    pending_lines = fields.List(fields.Nested(IncentiveLineSchema))


class AgentRowSchema(Schema):
    agent_id = fields.Integer()
    agent_code = fields.String()
    agent_name = fields.String()
    wadah_id = fields.Integer()
    statement = fields.Nested(AgentTotalsSchema)


class WadahRowSchema(Schema):
    wadah_id = fields.Integer()
    wadah_name = fields.String()
    base_idr = fields.Integer()
    share_idr = fields.Integer()
    rate_bp = fields.Integer(metadata={"description": "The Wadah's share of base_idr, in basis points"})
    carrying_agents = fields.Integer(metadata={"description": "Agents whose negative month adds nothing"})
    explanation = fields.String(metadata={"description": "How the share was computed, worded"})


class BranchMonthSchema(Schema):
    branch_id = fields.Integer()
    month = MonthField()
    approved = fields.Boolean(metadata={"description": "Final: finance approved the month"})
    approved_by = fields.String(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    agents = fields.List(fields.Nested(AgentRowSchema))
    wadahs = fields.List(fields.Nested(WadahRowSchema))
    payable_idr = fields.Integer()


def parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as error:
        message = gettext("'%(text)s' is not a month: write it YYYY-MM, e.g. 2026-10.", text=text)
        raise DomainError(message, errors={"path": {"month": [message]}}) from error


def branch_month_body(result: BranchMonth) -> dict[str, Any]:
    return {
        "branch_id": result.branch_id,
        "month": result.month,
        "approved": result.approved,
        "approved_by": result.approved_by,
        "approved_at": result.approved_at,
        "agents": [
            {
                "agent_id": agent.id,
                "agent_code": agent.code,
                "agent_name": agent.user.full_name,
                "wadah_id": agent.wadah_id,
                "statement": statement,
            }
            for agent, statement in result.agents
        ],
        "wadahs": [
            {
                "wadah_id": wadah.id,
                "wadah_name": wadah.name,
                "base_idr": share.base_idr,
                "share_idr": share.share_idr,
                "rate_bp": share.rate_bp,
                "carrying_agents": share.carrying_agents,
                "explanation": share_explanation(share),
            }
            for wadah, share in result.wadahs
        ],
        "payable_idr": sum(s.payable_idr for _, s in result.agents) + sum(w.share_idr for _, w in result.wadahs),
    }


FINANCE = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)


@bp.route("/branches/<int:branch_id>/incentives/<string:month>")
class BranchIncentives(MethodView):
    @require_roles(*FINANCE)
    @bp.response(200, BranchMonthSchema)
    def get(self, branch_id: int, month: str) -> dict[str, Any]:
        """Every agent's and Wadah's statement for a month: final once approved, else a draft as of now."""
        return branch_month_body(branch_month(db.session, current_user(), branch_id, parse_month(month), app_now()))


@bp.route("/branches/<int:branch_id>/incentives/<string:month>/agents/<int:agent_id>")
class AgentIncentive(MethodView):
    @require_roles(*FINANCE)
    @bp.response(200, AgentStatementSchema)
    def get(self, branch_id: int, month: str, agent_id: int) -> AgentStatement:
        """One agent's statement, each line with how it was computed."""
        result = branch_month(db.session, current_user(), branch_id, parse_month(month), app_now())
        for agent, statement in result.agents:
            if agent.id == agent_id:
                return statement
        raise NotFound(
            gettext(
                "Agent %(agent)s has no statement in branch %(branch)s for %(month)s.",
                agent=agent_id,
                branch=branch_id,
                month=month,
            )
        )


@bp.route("/branches/<int:branch_id>/incentives/<string:month>/approve")
class ApproveIncentives(MethodView):
    @require_roles(Role.BRANCH_FINANCE, Role.ADMIN)
    @bp.response(200, BranchMonthSchema)
    @bp.alt_response(409, description="The month has not ended, or an earlier month is not approved yet")
    def post(self, branch_id: int, month: str) -> dict[str, Any]:
        """Make the month final: statements and lines are stored; approving again returns them."""
        return branch_month_body(approve_month(db.session, current_user(), branch_id, parse_month(month), app_now()))


@bp.route("/agents/me/incentives/<string:month>")
class MyIncentive(MethodView):
    @require_roles(Role.AGENT)
    @bp.response(200, AgentStatementSchema)
    def get(self, month: str) -> AgentStatement:
        """The agent's own statement for a month, with what his pending cash will earn."""
        return own_statement(db.session, current_user(), parse_month(month), app_now())
