"""The roster for scripting: ``flask --app app agent create|deactivate|terminate|reactivate|hand-over|assign-by-area|
list``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from agents.roster import assignment, handover, proposals, services, status
from core.clock import utcnow
from core.errors import DomainError
from core.extensions import db
from core.guards import MAX_ID
from organisation.models import Branch, Wadah

agent_cli = AppGroup("agent", help="The branch's roster of field agents (Perisai).")
F = TypeVar("F", bound=Callable[..., Any])


def _refusals(command: F) -> F:
    """A refusal of the rules is a clean error naming each field, not a traceback; the services' messages in
    English at the console (outside a request they would be in Bahasa Indonesia)."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with force_locale("en"):
                return command(*args, **kwargs)
        except DomainError as error:
            db.session.rollback()
            fields = [
                f"  {name}: {' '.join(messages)}"
                for where in (error.errors or {}).values()
                for name, messages in where.items()
            ]
            raise click.ClickException("\n".join([error.message, *fields])) from error

    return cast(F, wrapper)


def _an_id(text: str) -> bool:
    """Whether ``text`` reads as a row's id ('²' is a digit to isdigit(), not to int())."""
    return text.isascii() and text.isdecimal() and 0 < len(text) <= len(str(MAX_ID)) and int(text) <= MAX_ID


@agent_cli.command("create")
@click.option("--branch", "branch_code", required=True, help="Branch code, e.g. PKP.")
@click.option("--nik", required=True, help="The agent's own NIK (16 digits; he must be 18 or older).")
@click.option("--name", required=True, help="His name as on the KTP.")
@click.option("--phone", required=True, help="His mobile number, 08…")
@click.option("--wadah", "wadah_name", required=True, help="The name (or id) of his Wadah, of this branch.")
@click.option("--code", default=None, help="His agent code; the branch's next (PKP-P07) when left out.")
@click.option("--username", default=None, help="His login; the code in lower case when left out.")
@click.option("--area", "areas", multiple=True, help="A village name or district code he serves (repeatable).")
@_refusals
def create(
    branch_code: str,
    nik: str,
    name: str,
    phone: str,
    wadah_name: str,
    code: str | None,
    username: str | None,
    areas: tuple[str, ...],
) -> None:
    """Enrol an agent and print his first password (shown once)."""
    branch = db.session.scalar(select(Branch).where(Branch.code == branch_code.strip().upper()))
    if branch is None:
        raise click.BadParameter(f"no branch with code {branch_code!r}", param_hint="--branch")
    wadah = db.session.scalar(select(Wadah).where(Wadah.branch_id == branch.id, Wadah.name == wadah_name.strip())) or (
        db.session.get(Wadah, int(wadah_name)) if _an_id(wadah_name.strip()) else None
    )
    payload = {
        "nik": nik,
        "name": name,
        "phone": phone,
        "wadah_id": wadah.id if wadah is not None else None,
        "code": code,
        "username": username,
        "areas": list(areas),
    }
    view, _ = services.create_roster_agent(db.session, None, branch.id, payload, utcnow())
    click.echo(f"agent {view.code} (id {view.id}), login {view.username}, first password: {view.initial_password}")


@agent_cli.command("deactivate")
@click.argument("code")
@click.option("--reason", default="3 months without a transaction", show_default=True)
@_refusals
def deactivate(code: str, reason: str) -> None:
    """Deactivate an agent: his logins end at once."""
    view = status.deactivate_agent(db.session, None, services.agent_by_code(db.session, code).id, reason, utcnow())
    click.echo(f"agent {view.code}: {view.status}")


@agent_cli.command("terminate")
@click.argument("code")
@click.option("--reason", required=True, help="Why (fraud); kept in the audit log.")
@_refusals
def terminate(code: str, reason: str) -> None:
    """Terminate an agent at once (fraud): his logins end; he cannot come back."""
    view = status.terminate_agent(db.session, None, services.agent_by_code(db.session, code).id, reason, utcnow())
    click.echo(f"agent {view.code}: {view.status}")


@agent_cli.command("reactivate")
@click.argument("code")
@click.option("--reason", required=True, help="Why he comes back; kept in the audit log.")
@_refusals
def reactivate(code: str, reason: str) -> None:
    """Reactivate a deactivated agent (6 months after his deactivation at the earliest)."""
    view = status.reactivate_agent(db.session, None, services.agent_by_code(db.session, code).id, reason, utcnow())
    click.echo(f"agent {view.code}: {view.status}")


@agent_cli.command("hand-over")
@click.argument("code")
@click.option("--to", "to_code", required=True, help="The active agent who takes his members and visits.")
@click.option("--by-village", is_flag=True, help="Only members in the receiving agent's areas go to him.")
@click.option("--default", "default_code", default=None, help="With --by-village: who takes the other members.")
@_refusals
def hand_over(code: str, to_code: str, by_village: bool, default_code: str | None) -> None:
    """Hand an agent's members and open visits to another agent; again, it moves nothing."""
    source = services.agent_by_code(db.session, code)
    target = services.agent_by_code(db.session, to_code)
    default = services.agent_by_code(db.session, default_code).id if default_code else None
    report = handover.hand_over(db.session, None, source.id, target.id, utcnow(), by_village, default)
    click.echo(f"{report.from_agent_code}: {report.members_moved} members and {report.visits_moved} open visits moved")
    for moved in report.moved:
        if moved.members or moved.visits:
            click.echo(f"  to {moved.agent_code}: {moved.members} members, {moved.visits} visits")


@agent_cli.command("assign-by-area")
@click.option("--branch", "branch_code", required=True, help="Branch code, e.g. PKP.")
@_refusals
def assign_by_area(branch_code: str) -> None:
    """Give members without a serving agent to the one active agent whose areas cover their village or district."""
    branch = db.session.scalar(select(Branch).where(Branch.code == branch_code.strip().upper()))
    if branch is None:
        raise click.BadParameter(f"no branch with code {branch_code!r}", param_hint="--branch")
    echo_area_assignment(assignment.assign_by_area(db.session, None, branch.id, utcnow()))


def echo_area_assignment(report: assignment.AreaAssignmentReport) -> None:
    """What an assignment by area did, with the first members it left and why."""
    click.echo(
        f"by area: {report.without_agent} members without an agent: {report.assigned} assigned, {report.left} left"
    )
    for code, count in report.assigned_by_agent.items():
        click.echo(f"  to {code}: {count}")
    for reason, count in report.left_by_reason.items():
        click.echo(f"  left, {reason}: {count}")
    for left in report.left_members[:50]:
        agents = f" ({', '.join(left.agent_codes)})" if left.agent_codes else ""
        where = f"{left.kpj}, {left.village or '-'}, {left.district_code}"
        click.echo(f"  member {left.member_id} ({where}): {left.reason}{agents}")


@agent_cli.command("list")
@click.option("--branch", "branch_code", required=True, help="Branch code, e.g. PKP.")
@_refusals
def list_agents(branch_code: str) -> None:
    """The branch's agents with their status, members and cash on hand."""
    branch = db.session.scalar(select(Branch).where(Branch.code == branch_code.strip().upper()))
    if branch is None:
        raise click.BadParameter(f"no branch with code {branch_code!r}", param_hint="--branch")
    for view in services.list_agents(db.session, None, branch.id):
        click.echo(
            f"{view.code:<16} {view.status:<12} {view.name:<30} members {view.members_served:>6}  "
            f"cash Rp{view.cash_on_hand_idr:,}".replace(",", ".")
        )


@agent_cli.command("propose-idle")
@_refusals
def propose_idle() -> None:
    """Propose idle agents for deactivation now (the schedule does it every morning)."""
    result = proposals.propose_idle_deactivations(db.session, utcnow())
    click.echo(f"{result['proposed']} proposed, {result['superseded']} open proposals closed (the agent transacted)")
