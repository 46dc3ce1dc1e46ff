"""The agents' JSON API: tokens and branches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core.clock import app_now
from core.extensions import db
from organisation.auth import require_roles
from organisation.logins import check_password_login
from organisation.models import Branch
from organisation.schemas import BranchSchema, TokenRequestSchema, TokenSchema
from organisation.services import issue_token

bp = Blueprint("agents", __name__, description="Staff logins, API tokens and branch offices")


@bp.route("/auth/token")
class Tokens(MethodView):
    @bp.arguments(TokenRequestSchema)
    @bp.response(201, TokenSchema)
    @bp.doc(security=[])
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Exchange a username and password for a bearer token."""
        config = current_app.config
        user = check_password_login(
            db.session, payload["username"], payload["password"], request.remote_addr, config, app="api"
        )
        ttl = timedelta(seconds=config["API_TOKEN_TTL_SECONDS"])
        token, api_token = issue_token(db.session, user, app_now(), ttl)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_at": api_token.expires_at,
            "user": api_token.user,
        }


@bp.route("/branches")
class Branches(MethodView):
    @require_roles()
    @bp.response(200, BranchSchema(many=True))
    def get(self) -> list[Branch]:
        """Every branch office, for choosing one at enrolment."""
        return list(db.session.scalars(select(Branch).order_by(Branch.code)))
