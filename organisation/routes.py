"""The organisation's JSON API: tokens and passwords, branches, Wadah and staff accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core.clock import app_now
from core.extensions import db
from core.paging import MAX_PAGE_SIZE, PAGE_SIZE, Page
from organisation import administration as admin
from organisation.auth import current_user, refuse_if_password_must_change, require_roles
from organisation.logins import check_password_login
from organisation.models import Branch, Role, StaffUser, Wadah
from organisation.schemas import (
    BranchCreateSchema,
    BranchSchema,
    BranchUpdateSchema,
    PasswordChangedSchema,
    PasswordChangeSchema,
    StaffCreateSchema,
    StaffQuerySchema,
    StaffSchema,
    StaffUpdateSchema,
    StaffWithPasswordSchema,
    TokenRequestSchema,
    TokenSchema,
    WadahCreateSchema,
    WadahQuerySchema,
    WadahSchema,
    WadahUpdateSchema,
)
from organisation.services import issue_token

bp = Blueprint("agents", __name__, description="Staff logins, API tokens, branch offices, Wadah and staff accounts")
MANAGERS = (Role.SUPERVISOR, Role.ADMIN)


@bp.after_request
def _not_cached(response: Response) -> Response:
    """Tokens and temporary passwords are answered once, and kept by no cache (as the /admin pages do)."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/auth/token")
class Tokens(MethodView):
    @bp.arguments(TokenRequestSchema)
    @bp.response(201, TokenSchema)
    @bp.doc(security=[])
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Exchange a username and password for a bearer token (403 ``password_change_required`` after a reset)."""
        config = current_app.config
        user = check_password_login(
            db.session, payload["username"], payload["password"], request.remote_addr, config, app="api"
        )
        refuse_if_password_must_change(user)
        ttl = timedelta(seconds=config["API_TOKEN_TTL_SECONDS"])
        token, api_token = issue_token(db.session, user, app_now(), ttl)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_at": api_token.expires_at,
            "user": api_token.user,
        }


@bp.route("/auth/password")
class OwnPassword(MethodView):
    @bp.arguments(PasswordChangeSchema)
    @bp.response(200, PasswordChangedSchema)
    @bp.doc(security=[])
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Change one's own password (username, current password, new one of at least 10 characters, not the
        username). Clears a reset's must-change flag and ends every session and token of the user; get a new token."""
        user = check_password_login(
            db.session, payload["username"], payload["password"], request.remote_addr, current_app.config, app="api"
        )
        admin.change_own_password(db.session, user, payload["new_password"])
        return {"changed": True, "user": user}


@bp.route("/branches")
class Branches(MethodView):
    @require_roles()
    @bp.response(200, BranchSchema(many=True))
    @bp.paginate(Page, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self) -> list[Branch]:
        """Every branch office, for choosing one at enrolment."""
        return list(db.session.scalars(select(Branch).order_by(Branch.code)))

    @require_roles(Role.ADMIN)
    @bp.arguments(BranchCreateSchema)
    @bp.response(201, BranchSchema)
    def post(self, payload: dict[str, Any]) -> Branch:
        """Open a branch (admin): code (unique, upper-cased), region, zone (the province's unless given), limits."""
        return admin.create_branch(db.session, current_user(), payload)


@bp.route("/branches/<int:branch_id>")
class BranchItem(MethodView):
    @require_roles()
    @bp.response(200, BranchSchema)
    def get(self, branch_id: int) -> Branch:
        """One branch: an admin any, staff their own."""
        return admin.visible_branch(db.session, current_user(), branch_id)

    @require_roles(Role.ADMIN)
    @bp.arguments(BranchUpdateSchema)
    @bp.response(200, BranchSchema)
    def patch(self, payload: dict[str, Any], branch_id: int) -> Branch:
        """Change a branch (admin); a new province brings its zone unless a zone is given."""
        return admin.update_branch(db.session, current_user(), branch_id, payload)


@bp.route("/wadahs")
class Wadahs(MethodView):
    @require_roles(*MANAGERS)
    @bp.arguments(WadahQuerySchema, location="query")
    @bp.response(200, WadahSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[Wadah]:
        """The Wadah of a branch: an admin any (or all), a supervisor his own; in pages."""
        pp = pagination_parameters
        wadahs, pp.item_count = admin.wadah_page(
            db.session, current_user(), query.get("branch_id"), pp.first_item, pp.page_size
        )
        return wadahs

    @require_roles(*MANAGERS)
    @bp.arguments(WadahCreateSchema)
    @bp.response(201, WadahSchema)
    @bp.alt_response(409, description="The branch has a Wadah of that name already")
    def post(self, payload: dict[str, Any]) -> Wadah:
        """Add a Wadah to a branch (an admin any, a supervisor his own)."""
        return admin.create_wadah(
            db.session, current_user(), payload["branch_id"], payload["name"], payload.get("agreement_ref")
        )


@bp.route("/wadahs/<int:wadah_id>")
class WadahItem(MethodView):
    @require_roles(*MANAGERS)
    @bp.arguments(WadahUpdateSchema)
    @bp.response(200, WadahSchema)
    @bp.alt_response(409, description="The branch has another Wadah of that name")
    def patch(self, payload: dict[str, Any], wadah_id: int) -> Wadah:
        """Rename a Wadah or change its agreement's reference."""
        return admin.update_wadah(db.session, current_user(), wadah_id, payload)


@bp.route("/staff")
class StaffList(MethodView):
    @require_roles(*MANAGERS)
    @bp.arguments(StaffQuerySchema, location="query")
    @bp.response(200, StaffSchema(many=True))
    @bp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[StaffUser]:
        """The logins of a branch: an admin any (or all), a supervisor his own; in pages."""
        pp = pagination_parameters
        people, pp.item_count = admin.staff_page(
            db.session, current_user(), query.get("branch_id"), pp.first_item, pp.page_size
        )
        return people

    @require_roles(*MANAGERS)
    @bp.arguments(StaffCreateSchema)
    @bp.response(201, StaffWithPasswordSchema)
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a finance, supervisor or admin login (a supervisor: finance or supervisor of his branch). Without
        a password one is generated and returned once; either must be changed at the first login."""
        user, generated = admin.create_staff_account(
            db.session,
            current_user(),
            payload["username"],
            payload["full_name"],
            payload["role"],
            payload.get("branch_id"),
            payload.get("phone"),
            payload.get("password"),
        )
        return {"user": user, "temporary_password": generated}


@bp.route("/staff/<int:user_id>")
class StaffItem(MethodView):
    @require_roles(*MANAGERS)
    @bp.arguments(StaffUpdateSchema)
    @bp.response(200, StaffSchema)
    def patch(self, payload: dict[str, Any], user_id: int) -> StaffUser:
        """Change a login's name, phone or role (an admin also its branch)."""
        return admin.update_staff(db.session, current_user(), user_id, payload)


@bp.route("/staff/<int:user_id>/password-reset")
class PasswordReset(MethodView):
    @require_roles(*MANAGERS)
    @bp.response(200, StaffWithPasswordSchema)
    def post(self, user_id: int) -> dict[str, Any]:
        """A temporary password (returned once) that must be changed at the next login; every session and token
        of the user ends."""
        password = admin.reset_password(db.session, current_user(), user_id)
        return {"user": db.session.get(StaffUser, user_id), "temporary_password": password}


@bp.route("/staff/<int:user_id>/disable")
class Disable(MethodView):
    @require_roles(*MANAGERS)
    @bp.response(200, StaffSchema)
    def post(self, user_id: int) -> StaffUser:
        """Disable a login: it stops at once (every session and token ends)."""
        return admin.set_active(db.session, current_user(), user_id, active=False)


@bp.route("/staff/<int:user_id>/enable")
class Enable(MethodView):
    @require_roles(*MANAGERS)
    @bp.response(200, StaffSchema)
    def post(self, user_id: int) -> StaffUser:
        """Enable a disabled login again (with the password it had)."""
        return admin.set_active(db.session, current_user(), user_id, active=True)
