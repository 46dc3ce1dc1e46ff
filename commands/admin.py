"""``flask admin …``: the first admin of a new installation, and branches, staff, password resets and disabling a
login for scripts. Each command calls the service the API and the /admin pages call (organisation/administration.py),
as an operator at the console (audited with ``via: cli`` and no actor)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from core.errors import DomainError
from core.extensions import db
from core.guards import MAX_ID
from organisation import administration as admin

F = TypeVar("F", bound=Callable[..., Any])


def english(command: F) -> F:
    """The services' messages in English at the console (outside a request they would be in Bahasa Indonesia)."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with force_locale("en"):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _fail(error: DomainError) -> click.ClickException:
    details = [
        f"  {field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
        for fields in (error.errors or {}).values()
        if isinstance(fields, dict)
        for field, messages in fields.items()
    ]
    return click.ClickException("\n".join([error.message, *details]))


def read_password() -> str:
    """From a hidden prompt typed twice at a terminal, else the first line of stdin (never an argument, which
    would be seen in the process list and the shell's history)."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("No password on stdin: send it as the first line.")
    return line


@click.group("admin", cls=AppGroup)
def admin_group() -> None:
    """Administer the organisation: the first admin, branches, staff, passwords."""


@admin_group.command("create")
@click.option("--username", required=True, help="The admin's login name (letters, digits, '.', '_', '-').")
@click.option("--full-name", required=True, help="The admin's full name.")
@click.option("--phone", help="A mobile number (08… or +628…).")
@english
def create(username: str, full_name: str, phone: str | None) -> None:
    """Create the first admin of an empty installation; refused when an active admin exists."""
    if admin.active_admin_exists(db.session):
        raise click.ClickException("An active admin exists already: log in as that admin to create more staff.")
    password = read_password()
    try:
        user = admin.create_first_admin(db.session, username, full_name, password, phone)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"admin {user.username} created: log in at /admin/masuk")


@admin_group.command("branch-create")
@click.option("--code", required=True, help="Letters and digits, e.g. PKP (upper-cased).")
@click.option("--name", required=True)
@click.option("--province", "province_code", required=True, help="2-digit province code, e.g. 19.")
@click.option("--regency", "regency_code", required=True, help="4-digit regency or city code, e.g. 1971.")
@click.option("--timezone", help="Asia/Jakarta, Asia/Makassar or Asia/Jayapura (default: the province's).")
@click.option(
    "--cash-limit-idr", type=click.IntRange(min=1, max=MAX_ID), help="Cash an agent may hold (default 5000000)."
)
@click.option("--deposit-deadline-working-days", type=click.IntRange(min=0, max=30), help="Default 1.")
@english
def branch_create(**values: Any) -> None:
    """Open a branch office."""
    try:
        branch = admin.create_branch(db.session, None, values)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"branch {branch.code} ({branch.id}) created, time zone {branch.timezone}")


@admin_group.command("staff-create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in admin.STAFF_ROLES]))
@click.option("--branch", "branch_code", help="The branch's code (required unless --role admin).")
@click.option("--phone")
@english
def staff_create(username: str, full_name: str, role: str, branch_code: str | None, phone: str | None) -> None:
    """Create a finance, supervisor or admin login with a temporary password, printed once."""
    try:
        branch_id = admin.branch_by_code(db.session, branch_code).id if branch_code else None
        user, password = admin.create_staff_account(db.session, None, username, full_name, role, branch_id, phone)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"{user.username} created; temporary password (to change at the first login): {password}")


@admin_group.command("reset-password")
@click.argument("username")
@english
def reset_password(username: str) -> None:
    """Give a login a temporary password (printed once) and end its sessions and tokens."""
    try:
        user = admin.user_by_username(db.session, username)
        password = admin.reset_password(db.session, None, user.id)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"{user.username}: temporary password (to change at the next login): {password}")


@admin_group.command("disable")
@click.argument("username")
@english
def disable(username: str) -> None:
    """Disable a login at once: every session and token ends."""
    try:
        user = admin.set_active(db.session, None, admin.user_by_username(db.session, username).id, active=False)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"{user.username} disabled; its sessions and tokens have ended")


@admin_group.command("enable")
@click.argument("username")
@english
def enable(username: str) -> None:
    """Enable a disabled login again."""
    try:
        user = admin.set_active(db.session, None, admin.user_by_username(db.session, username).id, active=True)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"{user.username} enabled")
