"""Running the organisation: the first admin, branches, Wadah and staff accounts, password resets, disabling and
enabling a login. The API, the /admin pages and the ``flask admin`` commands call these same services.

``actor`` is the logged-in user, or None for an operator at the command line (who may do anything). An admin acts
on every branch; a supervisor on his own branch's Wadah, its finance staff and supervisors (and resets or disables
any non-admin login of his branch). Agents' rows are the agents' roster's: an agent's login can be reset or
disabled here, not created or edited. Every change is audited with its actor and the values before and after.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from core import audit
from core.clock import app_now
from core.errors import Conflict, DomainError, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.paging import page_of
from core.phones import PhoneError, normalise_phone
from organisation.branches import branch_timezone, region_problems
from organisation.logins import end_sessions_of
from organisation.models import Branch, Role, StaffUser, Wadah
from organisation.passwords import password_problem, temporary_password, username_problem
from organisation.services import hash_password

STAFF_ROLES = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)  # what this module creates; agents: the roster
SUPERVISED_ROLES = (Role.BRANCH_FINANCE, Role.SUPERVISOR)  # whom a supervisor creates and edits
BRANCH_FIELDS = (
    "code",
    "name",
    "province_code",
    "regency_code",
    "timezone",
    "cash_limit_idr",
    "deposit_deadline_working_days",
)
STAFF_FIELDS = ("username", "full_name", "role", "branch_id", "phone", "is_active", "must_change_password")


def _actor_id(actor: StaffUser | None) -> int | None:
    return actor.id if actor is not None else None


def _via(actor: StaffUser | None) -> dict[str, str]:
    return {} if actor is not None else {"via": "cli"}


def _view(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


# --- the first admin -------------------------------------------------------------------------------------------


def active_admin_exists(session: DbSession) -> bool:
    found = session.scalar(select(StaffUser.id).where(StaffUser.role == Role.ADMIN, StaffUser.is_active.is_(True)))
    return found is not None


def create_first_admin(
    session: DbSession, username: str, full_name: str, password: str, phone: str | None = None
) -> StaffUser:
    """The first admin of an empty organisation; a Conflict when an active admin exists already. Commits."""
    if active_admin_exists(session):
        raise Conflict(
            gettext(
                "An active admin exists already: log in as that admin to create more staff "
                "(or reset a password with 'flask admin reset-password')."
            ),
            reason="admin_exists",
        )
    user, _ = create_staff_account(
        session, None, username, full_name, Role.ADMIN, None, phone, password, must_change=False
    )
    return user


# --- branches --------------------------------------------------------------------------------------------------


def _require_admin(actor: StaffUser | None, what: str) -> None:
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(gettext("Only an admin may %(action)s; you are '%(role)s'.", action=what, role=actor.role))


def branch_by_code(session: DbSession, code: str) -> Branch:
    branch = session.scalar(select(Branch).where(Branch.code == code.strip().upper()))
    if branch is None:
        raise field_error("branch", gettext("There is no branch with code '%(code)s'.", code=code))
    return branch


def visible_branch(session: DbSession, actor: StaffUser | None, branch_id: int) -> Branch:
    """A branch the actor may see (an admin any, staff their own); 404 otherwise."""
    branch = session.get(Branch, branch_id)
    if branch is None or (actor is not None and actor.role != Role.ADMIN and actor.branch_id != branch_id):
        raise NotFound(gettext("There is no branch %(id)s that you can see.", id=branch_id))
    return branch


def _check_branch(session: DbSession, branch: Branch, timezone_chosen: str | None, province_changed: bool) -> None:
    if not (branch.code.isascii() and branch.code.isalnum() and 2 <= len(branch.code) <= 16):
        raise field_error("code", gettext("A branch code has 2 to 16 letters and digits, e.g. PKP."))
    problems = region_problems(branch.province_code, branch.regency_code)
    if problems:
        raise DomainError(
            gettext("The branch's region is not one Indonesia has: see errors."),
            errors={"json": {k: [v] for k, v in problems.items()}},
        )
    try:
        if timezone_chosen or province_changed:
            branch.timezone = branch_timezone(branch.province_code, timezone_chosen)
    except ValueError as error:
        raise field_error("timezone", str(error)) from None
    taken = session.scalar(select(Branch.id).where(Branch.code == branch.code, Branch.id != branch.id))
    if taken is not None:
        raise Conflict(
            gettext("Branch code %(code)s is taken by branch %(id)s: choose another.", code=branch.code, id=taken),
            reason="code_taken",
        )


def create_branch(session: DbSession, actor: StaffUser | None, values: dict[str, Any]) -> Branch:
    """A new branch office. ``values`` as BranchCreateSchema loads them (code upper-cased). Commits."""
    _require_admin(actor, gettext("create a branch"))
    fields = {k: v for k, v in values.items() if k in BRANCH_FIELDS and k != "timezone" and v is not None}
    branch = Branch(**fields)
    branch.code = branch.code.upper()
    _check_branch(session, branch, values.get("timezone"), province_changed=True)
    session.add(branch)
    _flush_unique(session, "code", gettext("Branch code %(code)s is taken: choose another.", code=branch.code))
    audit.record(
        session,
        "branch.created",
        "branch",
        branch.id,
        _actor_id(actor),
        after=_view(branch, BRANCH_FIELDS),
        **_via(actor),
    )
    session.commit()
    return branch


def update_branch(session: DbSession, actor: StaffUser | None, branch_id: int, changes: dict[str, Any]) -> Branch:
    """Change a branch's code, name, region, zone or limits; the zone follows a new province unless given. Commits."""
    _require_admin(actor, gettext("change a branch"))
    branch = visible_branch(session, actor, branch_id)
    before = _view(branch, BRANCH_FIELDS)
    for name in BRANCH_FIELDS:
        if name != "timezone" and changes.get(name) is not None:
            setattr(branch, name, changes[name].upper() if name == "code" else changes[name])
    province_changed = before["province_code"] != branch.province_code
    _check_branch(session, branch, changes.get("timezone"), province_changed)
    after = _view(branch, BRANCH_FIELDS)
    if after != before:
        _flush_unique(session, "code", gettext("Branch code %(code)s is taken: choose another.", code=branch.code))
        audit.record(
            session, "branch.updated", "branch", branch.id, _actor_id(actor), before=before, after=after, **_via(actor)
        )
    session.commit()
    return branch


def _flush_unique(session: DbSession, field: str, message: str) -> None:
    """Flush; a unique constraint that another request won meanwhile is a 409 naming the field, not a 500."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(message, errors={"json": {field: [message]}}, reason=f"{field}_taken") from None


# --- Wadah -----------------------------------------------------------------------------------------------------


def _branch_in_reach(session: DbSession, actor: StaffUser | None, branch_id: int) -> Branch:
    """A branch the actor may administer: an admin any, a supervisor his own (403 for another's, named)."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise field_error(
            "branch_id", gettext("There is no branch %(id)s: see GET /api/v1/branches for the list.", id=branch_id)
        )
    if actor is not None and actor.role != Role.ADMIN and actor.branch_id != branch_id:
        raise Forbidden(
            gettext("You may only administer your own branch."),
            errors={"json": {"branch_id": [gettext("Not your branch.")]}},
        )
    return branch


def wadahs_of(session: DbSession, actor: StaffUser | None, branch_id: int | None) -> list[Wadah]:
    """The Wadah of one branch (a supervisor: always his own), or of every branch for an admin."""
    return wadah_page(session, actor, branch_id, 0, None)[0]


def wadah_page(
    session: DbSession, actor: StaffUser | None, branch_id: int | None, offset: int, limit: int | None
) -> tuple[list[Wadah], int]:
    """One page of ``wadahs_of`` (``limit`` None: all) and how many there are."""
    if actor is not None and actor.role != Role.ADMIN:
        branch_id = actor.branch_id
    query = select(Wadah).order_by(Wadah.branch_id, Wadah.name, Wadah.id)
    if branch_id is not None:
        query = query.where(Wadah.branch_id == branch_id)
    return page_of(session, query, offset, limit)


def wadah_in_reach(session: DbSession, actor: StaffUser | None, wadah_id: int) -> Wadah:
    wadah = session.get(Wadah, wadah_id)
    if wadah is None or (actor is not None and actor.role != Role.ADMIN and actor.branch_id != wadah.branch_id):
        raise NotFound(gettext("There is no Wadah %(id)s in your reach.", id=wadah_id))
    return wadah


WADAH_FIELDS = ("branch_id", "name", "agreement_ref")


def create_wadah(
    session: DbSession, actor: StaffUser | None, branch_id: int, name: str, agreement_ref: str | None
) -> Wadah:
    """A new agents' association of a branch. Commits."""
    _branch_in_reach(session, actor, branch_id)
    name = _free_wadah_name(session, branch_id, name)
    wadah = Wadah(branch_id=branch_id, name=name, agreement_ref=(agreement_ref or "").strip() or None)
    session.add(wadah)
    session.flush()
    audit.record(
        session, "wadah.created", "wadah", wadah.id, _actor_id(actor), after=_view(wadah, WADAH_FIELDS), **_via(actor)
    )
    session.commit()
    return wadah


def _free_wadah_name(session: DbSession, branch_id: int, name: str, wadah_id: int | None = None) -> str:
    """The name with its spaces tidied, if no other Wadah of the branch has it (in any case): a retried creation
    must not make a second one, and the CLI finds a Wadah by its name."""
    name = " ".join(name.split())
    taken = session.scalar(
        select(Wadah.id).where(
            Wadah.branch_id == branch_id, func.lower(Wadah.name) == name.lower(), Wadah.id != (wadah_id or 0)
        )
    )
    if taken is not None:
        message = gettext(
            "Wadah %(id)s of this branch is named '%(name)s' already: use it, or choose another name.",
            id=taken,
            name=name,
        )
        raise Conflict(message, errors={"json": {"name": [message]}}, reason="name_taken")
    return name


def update_wadah(session: DbSession, actor: StaffUser | None, wadah_id: int, changes: dict[str, Any]) -> Wadah:
    """Rename a Wadah or change its agreement's reference. Commits."""
    wadah = wadah_in_reach(session, actor, wadah_id)
    before = _view(wadah, WADAH_FIELDS)
    if changes.get("name") is not None:
        wadah.name = _free_wadah_name(session, wadah.branch_id, changes["name"], wadah.id)
    if "agreement_ref" in changes:
        wadah.agreement_ref = (changes["agreement_ref"] or "").strip() or None
    after = _view(wadah, WADAH_FIELDS)
    if after != before:
        audit.record(
            session, "wadah.updated", "wadah", wadah.id, _actor_id(actor), before=before, after=after, **_via(actor)
        )
    session.commit()
    return wadah


# --- staff -----------------------------------------------------------------------------------------------------


def staff_of(session: DbSession, actor: StaffUser | None, branch_id: int | None) -> list[StaffUser]:
    """The logins of one branch (a supervisor: always his own), or everyone's for an admin; admins included."""
    return staff_page(session, actor, branch_id, 0, None)[0]


def staff_page(
    session: DbSession, actor: StaffUser | None, branch_id: int | None, offset: int, limit: int | None
) -> tuple[list[StaffUser], int]:
    """One page of ``staff_of`` (``limit`` None: all) and how many there are."""
    query = select(StaffUser).order_by(StaffUser.branch_id, StaffUser.role, StaffUser.username, StaffUser.id)
    if actor is not None and actor.role != Role.ADMIN:
        branch_id = actor.branch_id
    if branch_id is not None:
        query = query.where(StaffUser.branch_id == branch_id)
    return page_of(session, query, offset, limit)


def user_in_reach(session: DbSession, actor: StaffUser | None, user_id: int) -> StaffUser:
    """A login the actor may see: an admin any, a supervisor those of his branch (404 for the others)."""
    user = session.get(StaffUser, user_id)
    if user is None or (actor is not None and actor.role != Role.ADMIN and actor.branch_id != user.branch_id):
        raise NotFound(gettext("There is no user %(id)s in your reach.", id=user_id))
    return user


def user_by_username(session: DbSession, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None:
        raise NotFound(gettext("There is no user '%(username)s'.", username=username))
    return user


def _may_set_role(actor: StaffUser | None, role: str) -> Role:
    if role not in {r.value for r in STAFF_ROLES}:
        raise field_error(
            "role",
            gettext(
                "Choose one of %(roles)s; agents are created in the agents' roster, not here.",
                roles=", ".join(STAFF_ROLES),
            ),
        )
    if actor is not None and actor.role == Role.SUPERVISOR and role not in SUPERVISED_ROLES:
        raise Forbidden(
            gettext(
                "A supervisor may give the roles %(roles)s only; ask an admin for '%(role)s'.",
                roles=", ".join(SUPERVISED_ROLES),
                role=role,
            ),
            errors={"json": {"role": [gettext("Not a role a supervisor may give: %(role)s.", role=role)]}},
        )
    return Role(role)


def _phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    try:
        return normalise_phone(phone)
    except PhoneError as error:
        raise field_error("phone", str(error)) from None


def create_staff_account(
    session: DbSession,
    actor: StaffUser | None,
    username: str,
    full_name: str,
    role: str,
    branch_id: int | None,
    phone: str | None = None,
    password: str | None = None,
    must_change: bool = True,
) -> tuple[StaffUser, str | None]:
    """A new finance, supervisor or admin login; the generated password (to hand over once) when none is given.

    A password someone else chose must be changed at the first login (``must_change``). Commits.
    """
    if actor is not None and actor.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden(gettext("Only an admin or a supervisor may create staff; you are '%(role)s'.", role=actor.role))
    role = _may_set_role(actor, role)
    username = username.strip().lower()
    problem = username_problem(username)
    if problem:
        raise field_error("username", problem)
    if role != Role.ADMIN and branch_id is None:
        raise field_error("branch_id", gettext("Every login but an admin's belongs to a branch: give its branch_id."))
    if branch_id is not None:
        _branch_in_reach(session, actor, branch_id)
    generated = None
    if password is None:
        password = generated = temporary_password()
    problem = password_problem(username, password)
    if problem:
        raise field_error("password", problem)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Conflict(
            gettext("The username %(username)s is taken: choose another.", username=username), reason="username_taken"
        )
    user = StaffUser(
        username=username,
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        role=role,
        branch_id=branch_id,
        phone=_phone(phone),
        must_change_password=must_change,
    )
    session.add(user)
    _flush_unique(
        session, "username", gettext("The username %(username)s is taken: choose another.", username=username)
    )
    audit.record(
        session,
        "staff.created",
        "staff_user",
        user.id,
        _actor_id(actor),
        after=_view(user, STAFF_FIELDS),
        **_via(actor),
    )
    session.commit()
    return user, generated


def _may_manage(actor: StaffUser | None, user: StaffUser, what: str, roles: tuple[Role, ...]) -> None:
    """An admin manages anyone; a supervisor the logins of his branch whose role is in ``roles``."""
    if actor is None or actor.role == Role.ADMIN:
        return
    if actor.role != Role.SUPERVISOR:
        raise Forbidden(
            gettext("Only an admin or a supervisor may %(action)s; you are '%(role)s'.", action=what, role=actor.role)
        )
    if user.role not in roles:
        raise Forbidden(
            gettext(
                "A supervisor may not %(action)s of a user with role '%(role)s': ask an admin.",
                action=what,
                role=user.role,
            )
        )


def update_staff(session: DbSession, actor: StaffUser | None, user_id: int, changes: dict[str, Any]) -> StaffUser:
    """Change a login's full name, phone, role (and, for an admin, its branch). Commits."""
    user = user_in_reach(session, actor, user_id)
    _may_manage(actor, user, gettext("edit the account"), SUPERVISED_ROLES)
    if user.role == Role.AGENT:
        raise Conflict(
            gettext("An agent's account is changed in the agents' roster, not here."), reason="agent_account"
        )
    before = _view(user, STAFF_FIELDS)
    if changes.get("full_name") is not None:
        user.full_name = changes["full_name"].strip()
    if "phone" in changes:
        user.phone = _phone(changes["phone"])
    if "branch_id" in changes and changes["branch_id"] != user.branch_id:
        _require_admin(actor, gettext("move a login to another branch"))
        if changes["branch_id"] is not None:
            _branch_in_reach(session, actor, changes["branch_id"])
        user.branch_id = changes["branch_id"]
    if changes.get("role") is not None and changes["role"] != user.role:
        new_role = _may_set_role(actor, changes["role"])
        if actor is not None and actor.id == user.id:
            raise Conflict(gettext("You may not change your own role: ask another admin."), reason="own_account")
        user.role = new_role
    if user.role != Role.ADMIN and user.branch_id is None:
        raise field_error("branch_id", gettext("Every login but an admin's belongs to a branch: give its branch_id."))
    after = _view(user, STAFF_FIELDS)
    if after != before:
        audit.record(
            session, "staff.updated", "staff_user", user.id, _actor_id(actor), before=before, after=after, **_via(actor)
        )
    session.commit()
    return user


def reset_password(session: DbSession, actor: StaffUser | None, user_id: int) -> str:
    """Give a login a temporary password (returned once) that must be changed at the next login, and end every
    session and token it has. Commits."""
    user = user_in_reach(session, actor, user_id)
    _may_manage(actor, user, gettext("reset the password"), (Role.AGENT, *SUPERVISED_ROLES))
    if actor is not None and actor.id == user.id:
        raise Conflict(
            gettext("Change your own password with POST /api/v1/auth/password, not a reset."), reason="own_account"
        )
    password = temporary_password()
    before = _view(user, STAFF_FIELDS)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    ended = end_sessions_of(session, user.id, _actor_id(actor), app_now())
    audit.record(
        session,
        "staff.password_reset",
        "staff_user",
        user.id,
        _actor_id(actor),
        before=before,
        after=_view(user, STAFF_FIELDS),
        sessions_ended=ended,
        **_via(actor),
    )
    session.commit()
    return password


def set_active(session: DbSession, actor: StaffUser | None, user_id: int, active: bool) -> StaffUser:
    """Disable a login (it stops at once: every session and token ends) or enable it again. Commits."""
    user = user_in_reach(session, actor, user_id)
    what = gettext("enable the login") if active else gettext("disable the login")
    _may_manage(actor, user, what, (Role.AGENT, *SUPERVISED_ROLES))
    if actor is not None and actor.id == user.id:
        raise Conflict(gettext("You may not disable or enable your own login."), reason="own_account")
    before = _view(user, STAFF_FIELDS)
    if user.is_active == active:
        session.rollback()
        return user
    user.is_active = active
    ended = 0 if active else end_sessions_of(session, user.id, _actor_id(actor), app_now())
    action = "staff.enabled" if active else "staff.disabled"
    audit.record(
        session,
        action,
        "staff_user",
        user.id,
        _actor_id(actor),
        before=before,
        after=_view(user, STAFF_FIELDS),
        sessions_ended=ended,
        **_via(actor),
    )
    session.commit()
    return user


def change_own_password(session: DbSession, user: StaffUser, new_password: str, field: str = "new_password") -> None:
    """A user's own new password (his current one already checked): clears ``must_change_password`` and ends
    every other session and token (the caller may start a new one). Commits."""
    problem = password_problem(user.username, new_password)
    if problem:
        raise field_error(field, problem)
    if check_same_password(user, new_password):
        raise field_error(field, gettext("The new password must differ from the current one."))

    before = _view(user, STAFF_FIELDS)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    ended = end_sessions_of(session, user.id, user.id, app_now())
    audit.record(
        session,
        "staff.password_changed",
        "staff_user",
        user.id,
        user.id,
        before=before,
        after=_view(user, STAFF_FIELDS),
        sessions_ended=ended,
    )
    session.commit()


def check_same_password(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
