"""The roster's pages on the administration desk (/admin/agen), for a branch head (his branch) and an admin (the
branch he picks, ``?cabang=``): the branch's agents with their status, areas, members, open visits and cash; enrol
an agent (his first password shown once); change his phone, Wadah and areas; deactivate, terminate or reactivate
him with a reason; hand his members and open visits over; and the proposals to deactivate idle agents.

They attach to the desk's blueprint (organisation/admin_pages.py: its login, CSRF check, no-store answers and
refusal page), as agents/incentives/pages.py does to the finance desk's. Every form goes through the API's schema
and the service the API calls (agents/roster/services.py, status.py, handover.py, proposals.py); a refusal is shown
with the service's message and status, and a form with bad fields comes back filled in, each field's message by it.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, cast

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from marshmallow import Schema, ValidationError
from sqlalchemy import select

from agents.roster import handover, proposals, services, status
from agents.roster.models import ProposalStatus
from agents.roster.schemas import (
    AgentEditSchema,
    AgentRequestSchema,
    AgentStatusReasonSchema,
    HandOverRequestSchema,
    ProposalNoteSchema,
)
from agents.roster.services import AgentView
from core.clock import app_now, local_today
from core.errors import DomainError, field_error
from core.extensions import db
from core.guards import MAX_ID
from core.i18n import label, rupiah
from core.paging import asked_page, desk_page, desk_window
from organisation import administration as admin
from organisation.admin_pages import bp, manager_required
from organisation.models import AgentStatus, Branch, Role

# No routes: only the folder of these pages' templates, so they live beside the code that renders them.
templates = Blueprint("roster_pages", __name__, template_folder="templates")
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,80}$")  # as core/idempotency.py's header
STATUS_MOVES = {
    "deactivate": status.deactivate_agent,
    "terminate": status.terminate_agent,
    "reactivate": status.reactivate_agent,
}


# --- what every roster page shares ------------------------------------------------------------------------------


def _page(template: str, code: int = 200, **context: Any) -> ResponseReturnValue:
    return (
        render_template(
            template,
            rupiah=rupiah,
            status_label=lambda value: label("roster_status", value),
            local_day=_local_day,
            **context,
        ),
        code,
    )


def _local_day(at: datetime | None) -> str:
    """A naive-UTC moment as the branch's date (``22-11-2026``)."""
    branch = g.get("roster_branch")
    return "–" if at is None else f"{local_today(branch.timezone if branch else 'Asia/Jakarta', at):%d-%m-%Y}"


def _branch_in_view(chosen: str | None = None) -> Branch | None:
    """A supervisor's own branch; the branch an admin picked (``?cabang=``, or the form's ``branch_id``), or None
    while he has not. A branch out of reach is the service's 404."""
    if g.user.role != Role.ADMIN:
        wanted: int | None = g.user.branch_id
    else:
        text = (chosen if chosen is not None else request.args.get("cabang", "")).strip()
        readable = text.isascii() and text.isdecimal() and len(text) <= len(str(MAX_ID))  # int() refuses 4,301 digits
        wanted = int(text) if readable and int(text) <= MAX_ID else None
    if wanted is None:
        return None
    branch = services.branch_for(db.session, g.user, wanted)
    g.roster_branch = branch
    return branch


def _branch_of(view: AgentView) -> Branch:
    branch = services.branch_for(db.session, g.user, view.branch_id)
    g.roster_branch = branch
    return branch


def _load(schema: Schema, values: dict[str, Any]) -> dict[str, Any]:
    """A form through the API's schema; its field messages become a 422 naming each field."""
    try:
        return cast(dict[str, Any], schema.load(values))
    except ValidationError as error:
        messages = cast(dict[str, Any], error.messages)
        raise DomainError(
            gettext("The form has invalid fields: see each field and how to fix it."), errors={"form": messages}
        ) from None


def _whole(text: str) -> int | str:
    """A whole number as typed (else the text, for the schema to name)."""
    text = text.strip()
    return int(text) if text.isdecimal() and len(text) <= 12 else text


def _lines(text: str) -> list[str]:
    """A textarea, one entry a line, empty lines left out."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def field_messages(error: DomainError) -> dict[str, list[str]]:
    """Each field's messages in a refusal (the schema's or the service's), for the form to show by its field."""
    found: dict[str, list[str]] = {}
    for fields in (error.errors or {}).values():
        if not isinstance(fields, dict):
            continue
        for name, messages in fields.items():
            found.setdefault(str(name), []).extend(_flatten(messages))
    return found


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):  # a list's entries: {0: [...]}
        return [f"{int(k) + 1 if isinstance(k, int) else k}: {m}" for k, v in messages.items() for m in _flatten(v)]
    if isinstance(messages, list | tuple):
        return [m for item in messages for m in _flatten(item)]
    return [str(messages)]


def _admin_branches() -> list[Branch]:
    return list(db.session.scalars(select(Branch).order_by(Branch.code))) if g.user.role == Role.ADMIN else []


# --- the branch's agents, and enrolling one --------------------------------------------------------------------


@bp.route("/agen", methods=["GET", "POST"])
@manager_required
def agents_page() -> ResponseReturnValue:
    """The branch's agents by code, and the form that enrols one (his first password shown once, 201)."""
    if request.method == "GET":
        return _agents_list(_branch_in_view())
    branch = _branch_in_view(request.form.get("branch_id", ""))
    if branch is None:
        raise field_error("branch_id", gettext("Choose the branch the agent works in."), "form")
    form = {
        "nik": request.form.get("nik", "").strip(),
        "name": request.form.get("name", "").strip(),
        "phone": request.form.get("phone", "").strip(),
        "wadah_id": _whole(request.form.get("wadah_id", "")),
        "areas": _lines(request.form.get("areas", "")),
    }
    if request.form.get("code", "").strip():
        form["code"] = request.form["code"].strip()
    key = request.form.get("idempotency_key", "").strip()
    try:
        if key and not _KEY.match(key):
            raise field_error(
                "idempotency_key", gettext("The form is damaged: reload the page and fill it in again."), "form"
            )
        payload = _load(AgentRequestSchema(), form)
        view, created = services.create_roster_agent(db.session, g.user, branch.id, payload, app_now(), key or None)
    except DomainError as refused:
        if not field_messages(refused) or refused.status != 422:
            raise
        db.session.rollback()
        return _agents_list(branch, refused, key if _KEY.match(key) else "")
    return _page("admin/agent_created.html", 201 if created else 200, agent=view)


def _agents_list(branch: Branch | None, refused: DomainError | None = None, key: str = "") -> ResponseReturnValue:
    chosen = request.args.get("status", "")
    wanted = chosen if chosen in {s.value for s in AgentStatus} else None
    number = asked_page()
    agents, count = (
        services.agent_page(db.session, g.user, branch.id, wanted, *desk_window(number)) if branch else ([], 0)
    )
    wadahs = admin.wadahs_of(db.session, g.user, branch.id) if branch else []
    return _page(
        "admin/agents.html",
        refused.status if refused else 200,
        branch=branch,
        branches=_admin_branches(),
        agents=agents,
        page=desk_page(count, number),
        wadahs=wadahs,
        chosen_status=wanted,
        statuses=[s.value for s in AgentStatus],
        form=request.form if refused else {},
        errors=field_messages(refused) if refused else {},
        refusal=refused.message if refused else None,
        idempotency_key=key or str(uuid.uuid4()),  # one per form shown: a second click is the same agent
    )


# --- one agent: his details, changes, status and hand-over ------------------------------------------------------


@bp.route("/agen/<int:agent_id>", methods=["GET", "POST"])
@manager_required
def agent_page(agent_id: int) -> ResponseReturnValue:
    """One agent with his cash position; the form that changes his phone, Wadah and areas (all three, as shown)."""
    if request.method == "GET":
        return _agent_detail(agent_id)
    form = {
        "phone": request.form.get("phone", "").strip(),
        "wadah_id": _whole(request.form.get("wadah_id", "")),
        "areas": _lines(request.form.get("areas", "")),
    }
    try:
        services.agent_for(db.session, g.user, agent_id)  # another branch's agent is a 404 before any field
        payload = _load(AgentEditSchema(), form)
        view = services.edit_agent(db.session, g.user, agent_id, payload, app_now())
    except DomainError as refused:
        if not field_messages(refused) or refused.status != 422:
            raise
        db.session.rollback()
        return _agent_detail(agent_id, refused)
    flash(gettext("Saved."))
    return redirect(url_for("admin.agent_page", agent_id=view.id), code=303)


def _agent_detail(agent_id: int, refused: DomainError | None = None) -> ResponseReturnValue:
    view = services.show_agent(db.session, g.user, agent_id, app_now())
    branch = _branch_of(view)
    others = [a for a in services.list_agents(db.session, g.user, branch.id, AgentStatus.ACTIVE) if a.id != view.id]
    return _page(
        "admin/agent.html",
        refused.status if refused else 200,
        agent=view,
        branch=branch,
        wadahs=admin.wadahs_of(db.session, g.user, branch.id),
        receivers=others,
        form=request.form if refused else {},
        errors=field_messages(refused) if refused else {},
        refusal=refused.message if refused else None,
    )


def _move_status(agent_id: int, move: str) -> ResponseReturnValue:
    services.agent_for(db.session, g.user, agent_id)  # another branch's agent is a 404 before any field
    reason = _load(AgentStatusReasonSchema(), {"reason": request.form.get("reason", "").strip()})["reason"]
    view = STATUS_MOVES[move](db.session, g.user, agent_id, reason, app_now())
    flash(gettext("Agent %(code)s is now %(status)s.", code=view.code, status=label("roster_status", view.status)))
    return redirect(url_for("admin.agent_page", agent_id=agent_id), code=303)


@bp.post("/agen/<int:agent_id>/nonaktifkan")
@manager_required
def deactivate_agent_page(agent_id: int) -> ResponseReturnValue:
    """Deactivate an agent (3 months without a transaction), with the reason the form gives."""
    return _move_status(agent_id, "deactivate")


@bp.post("/agen/<int:agent_id>/berhentikan")
@manager_required
def terminate_agent_page(agent_id: int) -> ResponseReturnValue:
    """Terminate an agent (fraud), with the reason the form gives."""
    return _move_status(agent_id, "terminate")


@bp.post("/agen/<int:agent_id>/aktifkan")
@manager_required
def reactivate_agent_page(agent_id: int) -> ResponseReturnValue:
    """Reactivate a deactivated agent (6 months on), with the reason the form gives."""
    return _move_status(agent_id, "reactivate")


@bp.post("/agen/<int:agent_id>/serahkan")
@manager_required
def hand_over_page(agent_id: int) -> ResponseReturnValue:
    """Hand the agent's members and open visits over; the page shows what went to whom."""
    services.agent_for(db.session, g.user, agent_id)  # another branch's agent is a 404 before any field
    form: dict[str, Any] = {"to_agent_id": _whole(request.form.get("to_agent_id", ""))}
    if request.form.get("by_village"):
        form["by_village"] = True
    if request.form.get("default_agent_id", "").strip():
        form["default_agent_id"] = _whole(request.form["default_agent_id"])
    payload = _load(HandOverRequestSchema(), form)
    report = handover.hand_over(
        db.session,
        g.user,
        agent_id,
        payload["to_agent_id"],
        app_now(),
        by_village=payload["by_village"],
        default_agent_id=payload["default_agent_id"],
    )
    return _page("admin/agent_handover.html", report=report)


# --- the proposals to deactivate idle agents --------------------------------------------------------------------


@bp.get("/agen/usulan")
@manager_required
def agent_proposals_page() -> ResponseReturnValue:
    """The branch's open proposals, oldest first, each with its accept and dismiss forms."""
    branch = _branch_in_view()
    number = asked_page()
    rows, count = (
        proposals.proposal_page(db.session, g.user, branch.id, ProposalStatus.OPEN, *desk_window(number))
        if branch
        else ([], 0)
    )
    return _page(
        "admin/agent_proposals.html",
        branch=branch,
        branches=_admin_branches(),
        rows=rows,
        page=desk_page(count, number),
    )


@bp.post("/agen/usulan/<int:proposal_id>/terima")
@manager_required
def accept_proposal_page(proposal_id: int) -> ResponseReturnValue:
    """Accept a proposal: the agent is deactivated."""
    return _decide(proposal_id, accept=True)


@bp.post("/agen/usulan/<int:proposal_id>/tolak")
@manager_required
def dismiss_proposal_page(proposal_id: int) -> ResponseReturnValue:
    """Dismiss a proposal: the agent stays active and his 3 months count again from now."""
    return _decide(proposal_id, accept=False)


def _decide(proposal_id: int, accept: bool) -> ResponseReturnValue:
    note = _load(ProposalNoteSchema(), {"note": request.form.get("note", "").strip() or None})["note"]
    decide = proposals.accept_proposal if accept else proposals.dismiss_proposal
    proposal, agent = decide(db.session, g.user, proposal_id, note, app_now())
    if accept:
        flash(gettext("Proposal #%(id)s accepted: agent %(code)s deactivated.", id=proposal.id, code=agent.code))
    else:
        flash(gettext("Proposal #%(id)s dismissed: agent %(code)s stays active.", id=proposal.id, code=agent.code))
    return redirect(url_for("admin.agent_proposals_page", cabang=proposal.branch_id), code=303)
