"""Member services: enrol, find, describe, and list what a member owes month by month."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from collection.members import nik as nik_rule
from collection.members.arrears import MemberStatus
from collection.members.due_dates import due_date
from collection.members.kpj import KpjError, is_valid_kpj, kpj_digits, kpj_for
from collection.members.models import (
    Holiday,
    Member,
    MemberNameKey,
    MembershipPeriod,
    MemberStatusChange,
    PaymentAllocation,
    RateDiscountRow,
    RateScheduleRow,
)
from collection.members.names import display_name, name_keys
from collection.members.rates import Bracket as BracketRule
from collection.members.rates import (
    ContributionTerms,
    Discount,
    Package,
    Payer,
    Programme,
    RateError,
    RateSchedule,
    RateTable,
    Sector,
    amount_due,
)
from collection.members.search import find_by_name
from core import audit
from core.clock import local_today
from core.errors import Conflict, DomainError, Forbidden, NotFound, field_error, query_error
from core.extensions import DbSession, database_name
from core.i18n import label, rupiah
from core.months import Month
from core.phones import PhoneError, normalise_phone
from organisation.models import Agent, AgentStatus, Branch, Role, StaffUser
from organisation.services import agent_of, branch_or_404

MAX_SCHEDULE_MONTHS = 120


@dataclass(frozen=True)
class Scope:
    """Which members a caller may see: one branch, or every branch (``branch_id`` None, admins)."""

    branch_id: int | None

    @classmethod
    def of(cls, user: StaffUser) -> Scope:
        return cls(None if user.role == Role.ADMIN else user.branch_id)


@dataclass(frozen=True)
class MemberView:
    """A member as the API shows it, with this month's amount worked out."""

    id: int
    nik: str
    kpj: str | None
    name: str
    birth_date: date
    sex: str
    phone: str | None
    occupation: str
    sector: str
    declared_income_idr: int
    bracket: int
    package: str
    branch_id: int
    enrolled_by_agent_id: int | None
    agent_id: int | None
    enrolled_on: date
    monthly_amount_idr: int
    status: str
    paid_through: Month | None
    period_started_on: date
    months_in_arrears: int | None = None  # worked out now: one member, and each page of a list (chase.owed_now)
    arrears_idr: int | None = None
    village: str | None = None


@dataclass(frozen=True)
class ScheduleLine:
    month: Month
    due_on: date
    amount_idr: int
    jkk_idr: int
    jkm_idr: int
    jht_idr: int
    discount_idr: int
    discounts: tuple[str, ...]
    settled: bool


def _split(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


REFERENCE_TTL_SECONDS = 60.0  # rates and holidays change by migration or by an admin, not per request
_reference_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}


def _cached(session: DbSession, key: tuple[Any, ...], load: Any) -> Any:
    """Reference data kept per process and per database for REFERENCE_TTL_SECONDS."""
    full_key = (database_name(session), *key)
    hit = _reference_cache.get(full_key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    if hit is not None and hit[1] == value:
        value = hit[1]  # unchanged: the same object, so caches keyed on it (chase.py's amounts) stay warm and quick
    _reference_cache[full_key] = (now + REFERENCE_TTL_SECONDS, value)
    return value


def load_rate_table(session: DbSession) -> RateTable:
    """The effective-dated contribution table as the database holds it (cached briefly per process)."""
    return cast(RateTable, _cached(session, ("rates",), lambda: _load_rate_table(session)))


def _load_rate_table(session: DbSession) -> RateTable:
    schedules = tuple(
        RateSchedule(
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            jkk_rate_bp=row.jkk_rate_bp,
            jkm_flat_idr=row.jkm_flat_idr,
            jht_rate_bp=row.jht_rate_bp,
            brackets=tuple(BracketRule(b.number, b.income_from_idr, b.income_to_idr, b.base_idr) for b in row.brackets),
            source=row.source,
        )
        for row in session.scalars(select(RateScheduleRow).order_by(RateScheduleRow.effective_from))
    )
    discounts = tuple(
        Discount(
            name=row.name,
            programmes=frozenset(Programme(p) for p in _split(row.programmes)),
            percent=row.percent,
            sectors=frozenset(Sector(s) for s in _split(row.sectors)),
            first_month=row.first_month,
            last_month=row.last_month,
            excluded_payers=frozenset(Payer(p) for p in _split(row.excluded_payers)),
            source=row.source,
        )
        for row in session.scalars(select(RateDiscountRow).order_by(RateDiscountRow.id))
    )
    return RateTable(schedules=schedules, discounts=discounts)


def holidays_for(session: DbSession, branch: Branch, first: date, last: date) -> set[date]:
    """National holidays plus those of the branch's province and regency, between two dates."""
    return regional_holidays(session, branch.province_code, branch.regency_code, first, last)


def regional_holidays(session: DbSession, province_code: str, regency_code: str, first: date, last: date) -> set[date]:
    """National holidays plus those of a province and a regency, between two dates (cached like the rates)."""
    regions = ("", province_code, regency_code)

    def load() -> frozenset[date]:
        rows = session.scalars(select(Holiday.on).where(Holiday.region_code.in_(regions)))
        return frozenset(rows)

    every = cast(frozenset[date], _cached(session, ("holidays", *regions), load))
    return {day for day in every if first <= day <= last}


def terms_of(member: Member, payer: Payer = Payer.SELF) -> ContributionTerms:
    """What a member's contribution depends on, besides the month."""
    return ContributionTerms(
        bracket=member.bracket, package=Package(member.package), sector=Sector(member.sector), payer=payer
    )


def _view(member: Member, monthly: int) -> MemberView:
    return MemberView(
        id=member.id,
        nik=member.nik,
        kpj=member.kpj,
        name=member.name,
        birth_date=member.birth_date,
        sex=member.sex,
        phone=member.phone,
        occupation=member.occupation,
        sector=member.sector,
        declared_income_idr=member.declared_income_idr,
        bracket=member.bracket,
        package=member.package,
        branch_id=member.branch_id,
        enrolled_by_agent_id=member.enrolled_by_agent_id,
        agent_id=member.agent_id,
        enrolled_on=member.enrolled_on,
        monthly_amount_idr=monthly,
        status=member.status,
        paid_through=member.paid_through,
        period_started_on=member.period_started_on,
        village=member.village,
    )


def describe_members(session: DbSession, members: Iterable[Member], now: datetime) -> list[MemberView]:
    """API views of members, each with the amount due for the current month in its branch's zone."""
    members = list(members)
    return [_view(m, monthly) for m, monthly in zip(members, monthly_amounts(session, members, now), strict=True)]


def monthly_amounts(session: DbSession, members: Sequence[Member], now: datetime) -> list[int]:
    """Each member's amount due for the current month in his branch's zone (0 where no rate table covers it);
    members on the same terms share one reckoning, so a page of a thousand costs a few."""
    if not members:
        return []
    table = load_rate_table(session)
    zones = dict(
        session.execute(select(Branch.id, Branch.timezone).where(Branch.id.in_({m.branch_id for m in members}))).all()
    )
    months = {branch_id: Month.of(local_today(zone, now)) for branch_id, zone in zones.items()}
    amounts: dict[tuple[Any, ...], int] = {}
    monthly = []
    for member in members:
        key = (member.bracket, member.package, member.sector, member.branch_id)
        amount = amounts.get(key)
        if amount is None:
            try:
                amount = amount_due(table, terms_of(member), months[member.branch_id]).total_idr
            except RateError:
                amount = 0  # no table covers the month: nothing can be charged for it
            amounts[key] = amount
        monthly.append(amount)
    return monthly


def enrol_member(session: DbSession, actor: StaffUser, data: dict[str, Any], now: datetime) -> Member:
    """Validate and enrol a new member; a NIK that is already a member is a 409 naming that member."""
    scope = Scope.of(actor)
    branch_id = data.get("branch_id") or actor.branch_id
    if branch_id is None:
        raise field_error("branch_id", gettext("Choose the member's branch: an admin has no branch of his own."))
    if scope.branch_id is not None and branch_id != scope.branch_id:
        raise field_error(
            "branch_id",
            gettext("You can enrol members only into your own branch (%(branch_id)s).", branch_id=scope.branch_id),
        )
    branch = branch_or_404(session, branch_id)
    today = local_today(branch.timezone, now)

    # Check every field before answering, so the agent fixes the whole form in one go.
    errors: dict[str, list[str]] = {}
    nik: nik_rule.NikInfo | None = None
    try:
        nik = nik_rule.parse_nik(
            data["nik"],
            today,
            typed_birth_date=data.get("birth_date"),
            typed_sex=nik_rule.Sex(data["sex"]) if data.get("sex") else None,
        )
    except nik_rule.NikError as error:
        errors[error.field] = [error.message]
    phone = None
    if data.get("phone"):
        try:
            phone = normalise_phone(data["phone"])
        except PhoneError as error:
            errors["phone"] = [str(error)]
    month = Month.of(today)
    table = load_rate_table(session)
    bracket = None
    try:
        bracket = table.bracket_for_income(data["declared_income_idr"], month)
    except RateError as error:
        errors["declared_income_idr"] = [str(error)]
    if bracket is not None and data.get("bracket") is not None and data["bracket"] != bracket.number:
        errors["bracket"] = [
            gettext(
                "An income of %(income)s is bracket %(bracket)s, not %(given)s: leave 'bracket' out or correct the "
                "income.",
                income=rupiah(data["declared_income_idr"]),
                bracket=bracket.number,
                given=data["bracket"],
            )
        ]
    if errors or nik is None or bracket is None:
        fields = ", ".join(sorted(errors))
        raise DomainError(gettext("Correct these fields: %(fields)s.", fields=fields), errors={"json": errors})

    existing = session.scalar(select(Member).where(Member.nik == nik.nik))
    if existing is not None:
        raise _already_member(existing)
    agent = _enrolling_agent(session, actor, branch, data.get("agent_id"))

    member = Member(
        nik=nik.nik,
        name=display_name(data["name"]),
        birth_date=nik.birth_date,
        sex=nik.sex.value,
        phone=phone,
        occupation=data["occupation"].strip(),
        sector=data["sector"],
        district_code=nik.district_code,
        declared_income_idr=data["declared_income_idr"],
        bracket=bracket.number,
        package=data["package"],
        branch_id=branch.id,
        enrolled_by_agent_id=agent.id if agent else None,
        agent_id=agent.id if agent else None,
        enrolled_on=today,
        status=MemberStatus.ACTIVE,
        first_month=month,
        paid_through=None,
        period_started_on=today,
        name_keys=[MemberNameKey(key=key, branch_id=branch.id) for key in name_keys(data["name"])],
    )
    session.add(member)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent enrolment of the same NIK won the race
        session.rollback()
        winner = session.scalar(select(Member).where(Member.nik == nik.nik))
        if winner is not None:
            raise _already_member(winner) from error
        raise
    member.kpj = kpj_for(member.id)
    session.add(MembershipPeriod(member_id=member.id, started_on=today, first_month=month))
    session.add(
        MemberStatusChange(
            member_id=member.id, from_status=None, to_status=MemberStatus.ACTIVE, changed_on=today, cause="enrolled"
        )
    )
    audit.record(session, "member.enrolled", "member", member.id, actor.id, branch_id=branch.id, kpj=member.kpj)
    session.commit()
    return member


def _already_member(member: Member) -> Conflict:
    return Conflict(
        gettext(
            "NIK %(nik)s is already member %(kpj)s (id %(id)s) of branch %(branch_id)s; one member per NIK: look that "
            "member up instead of enrolling again.",
            nik=member.nik,
            kpj=member.kpj,
            id=member.id,
            branch_id=member.branch_id,
        ),
        existing_member={"id": member.id, "kpj": member.kpj, "branch_id": member.branch_id},
    )


def _enrolling_agent(session: DbSession, actor: StaffUser, branch: Branch, agent_id: int | None) -> Agent | None:
    if actor.role == Role.AGENT:
        agent = agent_of(session, actor)
        if agent is None or agent.status != AgentStatus.ACTIVE:
            raise Forbidden(gettext("Your agent account is not active: ask your branch supervisor."))
        if agent_id is not None and agent_id != agent.id:
            raise field_error("agent_id", gettext("An agent enrols members as himself: leave 'agent_id' out."))
        return agent
    if agent_id is None:
        return None
    agent = session.get(Agent, agent_id)
    if agent is None or agent.branch_id != branch.id:
        raise field_error(
            "agent_id", gettext("There is no agent %(agent_id)s in branch %(id)s.", agent_id=agent_id, id=branch.id)
        )
    if agent.status != AgentStatus.ACTIVE:
        raise field_error(
            "agent_id",
            gettext(
                "Agent %(agent_id)s is not active (%(status)s): choose an active agent of the branch.",
                agent_id=agent_id,
                status=label("roster_status", agent.status),
            ),
        )
    return agent


def get_member(session: DbSession, actor: StaffUser, member_id: int, lock: bool = False) -> Member:
    """A member the caller may see (locked FOR UPDATE when asked); another branch's is a 404, as if absent."""
    member = session.get(Member, member_id, with_for_update=lock or None)
    scope = Scope.of(actor)
    if member is None or (scope.branch_id is not None and member.branch_id != scope.branch_id):
        raise NotFound(gettext("There is no member %(member_id)s in your branch.", member_id=member_id))
    return member


def find_members(
    session: DbSession,
    actor: StaffUser,
    *,
    nik: str | None = None,
    kpj: str | None = None,
    phone: str | None = None,
    q: str | None = None,
    status: list[str] | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[Member], int]:
    """Members matching every given filter, visible to the caller: one page and the total count (by name; by id
    when filtered by status)."""
    scope = Scope.of(actor)
    offset = min(offset, 10**7)  # a page past every member is empty, not an overflow
    query = select(Member)
    if scope.branch_id is not None:
        query = query.where(Member.branch_id == scope.branch_id)
    typed_phone = phone
    if q:
        nik, kpj, phone, name = _classify_query(q, nik, kpj, phone)
    else:
        name = None
    if nik is not None:
        try:
            query = query.where(Member.nik == nik_rule.nik_digits(nik))
        except nik_rule.NikError as error:
            raise query_error("nik", error.message) from error
    if kpj is not None:
        try:
            query = query.where(Member.kpj == kpj_digits(kpj))
        except KpjError as error:
            raise query_error("kpj", str(error)) from error
    if phone is not None:
        try:
            query = query.where(Member.phone == normalise_phone(phone))
        except PhoneError as error:  # named as typed: a number in the search box is q's fault, not phone's
            raise query_error("phone" if phone is typed_phone else "q", str(error)) from error
    if status:
        query = query.where(Member.status.in_(status))  # ix_members_branch_status
    if name is None:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        if status:  # the chase list, by id (the CSV's keyset order), as plain rows (see member_rows)
            rows = session.execute(member_rows(query).order_by(Member.id).offset(offset).limit(limit))
            return cast(list[Member], list(rows)), total
        page = list(session.scalars(query.order_by(Member.name, Member.id).offset(offset).limit(limit)))
        return page, total
    filtered = nik is not None or kpj is not None or phone is not None or bool(status)
    return find_by_name(session, query if filtered else None, scope.branch_id, name, offset, limit)


def member_rows(query: Any) -> Any:
    """``query`` selecting the members' columns as plain rows, not ORM objects: read-only lists of thousands (the
    chase list) read them as they would members (same names) without the identity map and object state, a third
    of such a list's time."""
    return query.with_only_columns(*cast(Any, Member.__table__).c)


def _classify_query(
    q: str, nik: str | None, kpj: str | None, phone: str | None
) -> tuple[str | None, str | None, str | None, str | None]:
    """One search box: 16 digits is a NIK, a valid KPJ is a KPJ, 08…/+62… is a phone, anything else a name."""
    compact = "".join(ch for ch in q if ch not in " .-")
    if not compact.isascii():  # other scripts' digits (Arabic-Indic ١٢٣) are no NIK, KPJ or phone: a name, or a 422
        return nik, kpj, phone, q
    if compact.isdecimal() and len(compact) == 16:
        return compact, kpj, phone, None
    if compact.isdecimal() and is_valid_kpj(compact):
        return nik, compact, phone, None
    if compact.lstrip("+").isdecimal() and (
        compact.startswith("08") or compact.startswith("+62") or compact.startswith("62")
    ):
        return nik, kpj, compact, None
    return nik, kpj, phone, q


def member_schedule(session: DbSession, member: Member, first: Month | None, last: Month | None) -> list[ScheduleLine]:
    """Each month from ``first`` to ``last`` with its amount, due date and whether it is settled."""
    first = first or member.first_month
    last = last or Month.from_index(min(first.index + 11, Month(2999, 12).index))
    if last < first:
        raise DomainError(
            gettext("'to' is before 'from': give the months in order, e.g. from=2026-01&to=2026-12."),
            errors={"query": {"to": [gettext("must not be before 'from'")]}},
        )
    if last - first >= MAX_SCHEDULE_MONTHS:
        raise DomainError(
            gettext("Ask for at most %(months)s months at a time.", months=MAX_SCHEDULE_MONTHS),
            errors={"query": {"to": [gettext("at most %(months)s months after 'from'", months=MAX_SCHEDULE_MONTHS)]}},
        )
    table = load_rate_table(session)
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    holidays = holidays_for(session, branch, first.first_day(), last.last_day())
    settled = set(
        session.scalars(
            select(PaymentAllocation.month).where(
                PaymentAllocation.member_id == member.id,
                ~PaymentAllocation.reversed,  # NOT reversed: the partial index's own predicate
                PaymentAllocation.month.between(first, last),
            )
        )
    )
    lines = []
    for month in first.until(last):
        try:
            due = amount_due(table, terms_of(member), month)
        except RateError as error:
            raise DomainError(str(error), errors={"query": {"from": [str(error)]}}) from error
        lines.append(
            ScheduleLine(
                month=month,
                due_on=due_date(month, holidays),
                amount_idr=due.total_idr,
                jkk_idr=due.jkk_idr,
                jkm_idr=due.jkm_idr,
                jht_idr=due.jht_idr,
                discount_idr=due.discount_idr,
                discounts=due.discounts,
                settled=month in settled,
            )
        )
    return lines


def rates_on(session: DbSession, day: date) -> dict[str, Any]:
    """The contribution table in force on a day: every bracket's amounts and the discounts of that month."""
    table = load_rate_table(session)
    month = Month.of(day)
    try:
        schedule = table.schedule_for(month)
    except RateError as error:
        raise DomainError(str(error), errors={"query": {"on": [str(error)]}}) from error
    brackets = []
    for bracket in schedule.brackets:
        jkk = bracket.base_idr * schedule.jkk_rate_bp // 10_000
        jht = bracket.base_idr * schedule.jht_rate_bp // 10_000
        brackets.append(
            {
                "number": bracket.number,
                "income_from_idr": bracket.income_from_idr,
                "income_to_idr": bracket.income_to_idr,
                "base_idr": bracket.base_idr,
                "jkk_idr": jkk,
                "jkm_idr": schedule.jkm_flat_idr,
                "jht_idr": jht,
                "jkk_jkm_idr": jkk + schedule.jkm_flat_idr,
                "jkk_jkm_jht_idr": jkk + schedule.jkm_flat_idr + jht,
            }
        )
    discounts = [
        {
            "name": d.name,
            "programmes": sorted(d.programmes),
            "percent": d.percent,
            "sectors": sorted(d.sectors),
            "first_month": d.first_month,
            "last_month": d.last_month,
            "excluded_payers": sorted(d.excluded_payers),
            "source": d.source,
        }
        for d in table.discounts
        if d.first_month <= month <= d.last_month
    ]
    return {
        "on": day,
        "effective_from": schedule.effective_from,
        "effective_to": schedule.effective_to,
        "jkk_rate_percent": schedule.jkk_rate_bp / 100,
        "jkm_flat_idr": schedule.jkm_flat_idr,
        "jht_rate_percent": schedule.jht_rate_bp / 100,
        "source": schedule.source,
        "brackets": brackets,
        "discounts": discounts,
    }
