"""The roster's API: a branch's agents (enrol, edit, list, show), their status (deactivate, terminate,
reactivate), hand-overs of their members and visits, and the proposals to deactivate idle agents."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from agents.roster import assignment, handover, proposals, services, status
from agents.roster.schemas import (
    AgentEditSchema,
    AgentQuerySchema,
    AgentRequestSchema,
    AgentSchema,
    AgentStatusReasonSchema,
    AreaAssignmentReportSchema,
    DeactivationProposalQuerySchema,
    DeactivationProposalSchema,
    HandOverReportSchema,
    HandOverRequestSchema,
    ProposalNoteSchema,
)
from core.clock import app_now
from core.extensions import db
from core.idempotency import IDEMPOTENCY_DOC, idempotency_key
from core.paging import MAX_PAGE_SIZE, PAGE_SIZE
from organisation.auth import current_user, require_roles

bp = Blueprint("roster", __name__, description="The branch's roster of field agents (Perisai)")
CHANGE = services.ROSTER_ROLES
VIEW = services.VIEW_ROLES


@bp.route("/branches/<int:branch_id>/agents")
class BranchAgents(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(AgentRequestSchema)
    @bp.response(201, AgentSchema, description="Enrolled: the agent, with his first password (shown once)")
    @bp.alt_response(200, schema=AgentSchema, description="A retry with the same key: the same agent")
    @bp.alt_response(409, description="The key was used for another agent, or a twin request took the NIK or code")
    @bp.doc(**IDEMPOTENCY_DOC)
    def post(self, payload: dict[str, Any], branch_id: int) -> Any:
        """Enrol an agent of the branch: his NIK (18 or older), name, phone, Wadah, code and areas."""
        key = idempotency_key()
        view, created = services.create_roster_agent(db.session, current_user(), branch_id, payload, app_now(), key)
        return view, 201 if created else 200, {"Cache-Control": "no-store"}  # his first password: kept by no cache

    @require_roles(*VIEW)
    @bp.arguments(AgentQuerySchema, location="query")
    @bp.response(200, AgentSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any], branch_id: int, pagination_parameters: Any) -> Any:
        """The branch's agents by code, in pages, with status, areas, members served, open visits and cash on hand."""
        pp = pagination_parameters
        views, pp.item_count = services.agent_page(
            db.session, current_user(), branch_id, query["status"], pp.first_item, pp.page_size
        )
        return views


@bp.route("/agents/<int:agent_id>")
class AgentById(MethodView):
    @require_roles(*VIEW)
    @bp.response(200, AgentSchema)
    def get(self, agent_id: int) -> Any:
        """One agent, with his cash on hand and by when he must deposit it."""
        return services.show_agent(db.session, current_user(), agent_id, app_now())

    @require_roles(*CHANGE)
    @bp.arguments(AgentEditSchema)
    @bp.response(200, AgentSchema)
    def patch(self, payload: dict[str, Any], agent_id: int) -> Any:
        """Change an agent's phone, Wadah or areas (the list given replaces his areas)."""
        return services.edit_agent(db.session, current_user(), agent_id, payload, app_now())


@bp.route("/agents/<int:agent_id>/deactivate")
class Deactivate(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(AgentStatusReasonSchema)
    @bp.response(200, AgentSchema)
    @bp.alt_response(409, description="The agent is not active")
    def post(self, payload: dict[str, Any], agent_id: int) -> Any:
        """Deactivate an agent (3 months without a transaction): his logins end at once; his cash stays his."""
        return status.deactivate_agent(db.session, current_user(), agent_id, payload["reason"], app_now())


@bp.route("/agents/<int:agent_id>/terminate")
class Terminate(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(AgentStatusReasonSchema)
    @bp.response(200, AgentSchema)
    @bp.alt_response(409, description="The agent is terminated already")
    def post(self, payload: dict[str, Any], agent_id: int) -> Any:
        """Terminate an agent at once (fraud): his logins end; he can never be reactivated."""
        return status.terminate_agent(db.session, current_user(), agent_id, payload["reason"], app_now())


@bp.route("/agents/<int:agent_id>/reactivate")
class Reactivate(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(AgentStatusReasonSchema)
    @bp.response(200, AgentSchema)
    @bp.alt_response(409, description="Not deactivated, or less than 6 months since his deactivation")
    def post(self, payload: dict[str, Any], agent_id: int) -> Any:
        """Reactivate a deactivated agent, no earlier than 6 months after his deactivation."""
        return status.reactivate_agent(db.session, current_user(), agent_id, payload["reason"], app_now())


@bp.route("/agents/<int:agent_id>/hand-over")
class HandOver(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(HandOverRequestSchema)
    @bp.response(200, HandOverReportSchema)
    @bp.alt_response(409, description="A receiving agent is not active")
    def post(self, payload: dict[str, Any], agent_id: int) -> Any:
        """Hand the members the agent serves and his open visits to another active agent of the branch (by
        village: those in that agent's areas to him, the rest to ``default_agent_id``). Again: moves nothing."""
        return handover.hand_over(
            db.session,
            current_user(),
            agent_id,
            payload["to_agent_id"],
            app_now(),
            by_village=payload["by_village"],
            default_agent_id=payload["default_agent_id"],
        )


@bp.route("/branches/<int:branch_id>/member-agents/by-area")
class MemberAgentsByArea(MethodView):
    @require_roles(*CHANGE)
    @bp.response(200, AreaAssignmentReportSchema)
    def post(self, branch_id: int) -> Any:
        """Give each member of the branch who has no serving agent to the one active agent whose areas cover his
        village, or else his district; members two agents cover, or none, are left and listed with why. Again:
        moves nothing more (members who have an agent keep him)."""
        return assignment.assign_by_area(db.session, current_user(), branch_id, app_now())


@bp.route("/branches/<int:branch_id>/agent-proposals")
class BranchProposals(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(DeactivationProposalQuerySchema, location="query")
    @bp.response(200, DeactivationProposalSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any], branch_id: int, pagination_parameters: Any) -> Any:
        """Agents proposed for deactivation after 3 months without a transaction (open ones unless asked), oldest
        first, in pages."""
        pp = pagination_parameters
        wanted = None if query["status"] == "all" else query["status"]
        rows, pp.item_count = proposals.proposal_page(
            db.session, current_user(), branch_id, wanted, pp.first_item, pp.page_size
        )
        return [{"proposal": p, "agent": a} for p, a in rows]


@bp.route("/agent-proposals/<int:proposal_id>/accept")
class AcceptProposal(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(ProposalNoteSchema)
    @bp.response(200, DeactivationProposalSchema)
    @bp.alt_response(409, description="Decided already, or the agent has transacted since")
    def post(self, payload: dict[str, Any], proposal_id: int) -> Any:
        """Accept: the agent is deactivated."""
        p, a = proposals.accept_proposal(db.session, current_user(), proposal_id, payload["note"], app_now())
        return {"proposal": p, "agent": a}


@bp.route("/agent-proposals/<int:proposal_id>/dismiss")
class DismissProposal(MethodView):
    @require_roles(*CHANGE)
    @bp.arguments(ProposalNoteSchema)
    @bp.response(200, DeactivationProposalSchema)
    @bp.alt_response(409, description="Decided already")
    def post(self, payload: dict[str, Any], proposal_id: int) -> Any:
        """Dismiss: the agent stays active, and his 3 months count again from now."""
        p, a = proposals.dismiss_proposal(db.session, current_user(), proposal_id, payload["note"], app_now())
        return {"proposal": p, "agent": a}
