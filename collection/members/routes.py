"""The members API: enrol, look up, a member's schedule, and the rate table."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from collection.members.chase import chase_csv, chase_page, owed_now
from collection.members.position import describe_member_now
from collection.members.schemas import (
    ChaseQuerySchema,
    MemberCreateSchema,
    MemberQuerySchema,
    MemberSchema,
    RatesQuerySchema,
    RateTableSchema,
    ScheduleQuerySchema,
    ScheduleSchema,
    member_bodies,
)
from collection.members.services import (
    MemberView,
    describe_members,
    enrol_member,
    find_members,
    get_member,
    member_schedule,
    monthly_amounts,
    rates_on,
)
from core.clock import app_now, local_today
from core.csvexport import csv_filename
from core.errors import query_error
from core.extensions import db
from organisation.auth import current_user, require_roles
from organisation.models import Role

bp = Blueprint("collection", __name__, description="Members, what they owe, and the contribution table")

ENROLLING_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
MAX_PAGE_SIZE = 1000  # a branch's chase list of thousands in a few pages
SEARCHES = ("nik", "kpj", "phone", "q")
BRANCH_ONLY_WITH_STATUS = (
    "branch_id chooses the branch of the list of whom to chase: give it with status (e.g. status=in_arrears,lapsed) "
    "and without nik, kpj, phone or q, which search every branch you may see."
)
CHASE_CSV_ROLES = (Role.SUPERVISOR, Role.BRANCH_FINANCE, Role.ADMIN)  # the whole list with phones: the branch office


@bp.route("/members")
class Members(MethodView):
    @require_roles(*ENROLLING_ROLES)
    @bp.arguments(MemberCreateSchema)
    @bp.response(201, MemberSchema)
    @bp.alt_response(409, description="The NIK is already a member; the body names that member")
    def post(self, payload: dict[str, Any]) -> MemberView:
        """Enrol a member: the NIK is validated and checked against every branch."""
        member = enrol_member(db.session, current_user(), payload, app_now())
        return describe_members(db.session, [member], app_now())[0]

    @require_roles()
    @bp.arguments(MemberQuerySchema, location="query")
    @bp.response(200, MemberSchema(many=True))
    @bp.paginate(max_page_size=MAX_PAGE_SIZE)
    def get(self, filters: dict[str, Any], pagination_parameters: Any) -> list[MemberView] | Response:
        """Find members by NIK, KPJ, phone, or name (``q`` tolerates misspellings), in pages.

        Each member comes with the months and amount owed worked out now (``months_in_arrears``,
        ``arrears_idr``). ``status=in_arrears,lapsed`` is the list of whom to chase: those members, by id (the CSV
        is GET /members/chase.csv); with ``branch_id``, one branch's list (an admin any branch; other staff only
        their own, another is a 404)."""
        pp = pagination_parameters
        now = app_now()
        branch_id = filters.pop("branch_id", None)
        if branch_id is not None:
            if not filters.get("status") or any(filters.get(name) for name in SEARCHES):
                raise query_error("branch_id", BRANCH_ONLY_WITH_STATUS)
            members, total = chase_page(
                db.session, current_user(), filters["status"], branch_id, pp.first_item, pp.page_size
            )
        else:
            members, total = find_members(
                db.session, current_user(), offset=pp.first_item, limit=pp.page_size, **filters
            )
        pp.item_count = total
        monthly = monthly_amounts(db.session, members, now)
        owed = owed_now(db.session, members, now)  # the page's standings at once (chase.py)
        return jsonify(member_bodies(members, monthly, owed))  # MemberSchema's output, made faster for lists


@bp.route("/members/chase.csv")
class ChaseCsv(MethodView):
    @require_roles(*CHASE_CSV_ROLES)
    @bp.arguments(ChaseQuerySchema, location="query")
    @bp.response(200, content_type="text/csv", description="One line per member, streamed")
    def get(self, query: dict[str, Any]) -> Response:
        """The list of whom to chase as CSV: KPJ, name, status, months and amount owed (rupiah), last paid month,
        agent, village, phone; the caller's branch (an admin's: every branch, or the one of ``branch_id``), by id."""
        now = app_now()
        user = current_user()
        branch_id = query.get("branch_id")
        lines = chase_csv(db.session, user, query["status"], now, branch_id)
        response = Response(stream_with_context(lines), mimetype="text/csv")
        branch_name = branch_id or user.branch_id or "all"
        name = csv_filename("chase", branch_name, *query["status"], local_today("Asia/Jakarta", now))
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "no-store"
        return response


@bp.route("/members/<int:member_id>")
class MemberById(MethodView):
    @require_roles()
    @bp.response(200, MemberSchema)
    def get(self, member_id: int) -> MemberView:
        """One member, with this month's amount and current standing."""
        member = get_member(db.session, current_user(), member_id)
        return describe_member_now(db.session, member, app_now())


@bp.route("/members/<int:member_id>/schedule")
class MemberScheduleView(MethodView):
    @require_roles()
    @bp.arguments(ScheduleQuerySchema, location="query")
    @bp.response(200, ScheduleSchema)
    def get(self, query: dict[str, Any], member_id: int) -> dict[str, Any]:
        """Each month's amount and due date (moved past Sundays and holidays), and whether it is settled."""
        member = get_member(db.session, current_user(), member_id)
        lines = member_schedule(db.session, member, query.get("first"), query.get("last"))
        return {"member_id": member.id, "package": member.package, "bracket": member.bracket, "months": lines}


@bp.route("/rates")
class Rates(MethodView):
    @bp.arguments(RatesQuerySchema, location="query")
    @bp.response(200, RateTableSchema)
    @bp.doc(security=[])
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The contribution table in force on a day (public: it is published law)."""
        day = query.get("on") or local_today("Asia/Jakarta", app_now())
        return rates_on(db.session, day)
