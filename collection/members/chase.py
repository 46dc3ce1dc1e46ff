"""The list of whom to chase: a branch's members in arrears or lapsed, with the months and amount each owes.

Who is on it is the reconciled standing (``members.status``, kept by the nightly reconciliation and by every
payment; read through the index ``ix_members_branch_status``), so a member who never paid is on it as soon as the
rules put him in arrears. What each owes is worked out now by the same rule as his own position
(arrears.py's ``standing_on`` over his period's months and his settled months), for a page of members at once:
one query for their settled months, and the lists of dues shared by members on the same terms.
The CSV walks the list in chunks by id (keyset), so a branch of any size is never in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import cast

from flask_babel import gettext
from sqlalchemy import func, literal_column, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by

from collection.members.arrears import MemberStatus, MonthDue, Standing, standing_on
from collection.members.due_dates import due_date
from collection.members.models import Member, PaymentAllocation
from collection.members.services import Scope, holidays_for, load_rate_table, member_rows
from collection.members.standing_sql import TermsKey, month_amount
from core.clock import local_today
from core.csvexport import csv_lines
from core.errors import NotFound
from core.extensions import DbSession, among
from core.months import Month
from core.paging import capped_offset, count_of
from organisation.models import Agent, Branch, StaffUser

CHASE_STATUSES = (MemberStatus.IN_ARREARS, MemberStatus.LAPSED)
CSV_CHUNK = 1000  # members read per statement while streaming the CSV
NONE_SETTLED: frozenset[date] = frozenset()

_month_amount = lru_cache(maxsize=65536)(month_amount)  # the table is immutable and hashable: kept for the process

CSV_HEADER = (
    "kpj",
    "name",
    "status",
    "months_owed",
    "amount_owed_idr",
    "last_paid_month",
    "agent_code",
    "agent_name",
    "village",
    "phone",
)


def owed_now(session: DbSession, members: Sequence[Member], now: datetime) -> dict[int, Standing]:
    """Each member's standing on his branch's today, by ``standing_on`` (the rule of his own position). Members
    on the same terms, in the same period and with the same settled months share one derivation."""
    if not members:
        return {}
    table = load_rate_table(session)
    settled = _settled_months(session, [m.id for m in members])
    branches = {b.id: b for b in session.scalars(select(Branch).where(Branch.id.in_({m.branch_id for m in members})))}

    standings: dict[int, Standing] = {}
    for branch_id, branch in branches.items():
        today = local_today(branch.timezone, now)
        this_month = Month.of(today)
        mine = [m for m in members if m.branch_id == branch_id]
        latest = max((max(days) for days in {settled.get(m.id, NONE_SETTLED) for m in mine} if days), default=today)
        first = min(m.first_month for m in mine)
        holidays = holidays_for(session, branch, first.first_day(), max(Month.of(latest), this_month).last_day())
        due_dates: dict[Month, date] = {}
        dues_cache: dict[tuple[TermsKey, Month, Month], list[MonthDue]] = {}
        derived: dict[tuple[object, ...], Standing] = {}
        for m in mine:
            all_days = settled.get(m.id, NONE_SETTLED)
            same = (m.bracket, m.package, m.sector, m.first_month, m.period_started_on, all_days)  # one lookup each
            standing = derived.get(same)
            if standing is None:
                terms: TermsKey = (m.bracket, m.package, m.sector)
                first_day = m.first_month.first_day()
                months = {Month.of(d) for d in all_days if d >= first_day}  # the period's settled months
                last = max(this_month, m.first_month, *months)
                key = (terms, m.first_month, last)
                dues = dues_cache.get(key)
                if dues is None:
                    dues = dues_cache[key] = []
                    for month in m.first_month.until(last):
                        amount = _month_amount(table, terms, month)
                        if amount > 0:
                            if month not in due_dates:
                                due_dates[month] = due_date(month, holidays)
                            dues.append(MonthDue(month, amount, due_dates[month]))
                standing = derived[same] = standing_on(dues, months, today, m.period_started_on)
            standings[m.id] = standing
    return standings


def _settled_months(session: DbSession, member_ids: list[int]) -> dict[int, frozenset[date]]:
    """The first days of the members' settled (NOT reversed) months: one row a member, his months as one text
    (a page of a thousand members has several thousand months, and a row costs more to read than its text),
    parsed once for each distinct text (members who paid the same months share it)."""
    month = PaymentAllocation.__table__.c.month
    if session.get_bind().dialect.name == "postgresql":
        listed = func.string_agg(func.to_char(month, "YYYY-MM-DD"), aggregate_order_by(literal_column("','"), month))
    else:  # SQLite keeps a month as its ISO text
        listed = func.group_concat(month, ",")
    rows = session.execute(
        select(PaymentAllocation.member_id, listed)
        .where(
            among(session, PaymentAllocation.member_id, member_ids),
            text("NOT payment_allocations.reversed"),  # the partial index's own predicate, on SQLite too
        )
        .group_by(PaymentAllocation.member_id)
    )
    parsed: dict[str, frozenset[date]] = {}
    settled: dict[int, frozenset[date]] = {}
    for member_id, raw in rows:
        days = parsed.get(raw)
        if days is None:
            days = parsed[raw] = frozenset(date.fromisoformat(day) for day in raw.split(","))
        settled[member_id] = days
    return settled


def chase_branch(session: DbSession, actor: StaffUser, branch_id: int | None) -> int | None:
    """The branch whose list the caller gets: staff their own (naming another branch is a 404, as another
    branch's member is), an admin the one named, or every branch (None) when none is."""
    scope = Scope.of(actor)
    if branch_id is None:
        return scope.branch_id
    if (scope.branch_id is not None and branch_id != scope.branch_id) or session.get(Branch, branch_id) is None:
        raise NotFound(gettext("There is no branch %(id)s among yours.", id=branch_id))

    return branch_id


def chase_page(
    session: DbSession, actor: StaffUser, statuses: Sequence[str], branch_id: int | None, offset: int, limit: int
) -> tuple[list[Member], int]:
    """One page of the members the caller may see with one of ``statuses`` (of ``branch_id`` when given, see
    ``chase_branch``), by id as the CSV, as plain rows (services.member_rows), and how many there are."""
    query = select(Member).where(Member.status.in_(list(statuses)))  # ix_members_branch_status
    branch = chase_branch(session, actor, branch_id)
    if branch is not None:
        query = query.where(Member.branch_id == branch)
    rows = session.execute(member_rows(query).order_by(Member.id).offset(capped_offset(offset)).limit(limit))
    return cast(list[Member], list(rows)), count_of(session, query)


@dataclass(frozen=True)
class ChaseRow:
    member: Member
    standing: Standing
    agent_code: str | None
    agent_name: str | None


def chase_rows(
    session: DbSession, actor: StaffUser, statuses: Sequence[str], now: datetime, branch_id: int | None = None
) -> Iterator[ChaseRow]:
    """Every member the caller may see with one of ``statuses`` (of ``branch_id`` when given, see
    ``chase_branch``), by id, read CSV_CHUNK at a time."""
    branch = chase_branch(session, actor, branch_id)
    after = 0
    while True:
        query = (
            member_rows(select(Member))
            .add_columns(Agent.code.label("agent_code"), StaffUser.full_name.label("agent_name"))
            .outerjoin(Agent, Agent.id == Member.agent_id)
            .outerjoin(StaffUser, StaffUser.id == Agent.user_id)
            .where(Member.status.in_(list(statuses)), Member.id > after)
            .order_by(Member.id)
            .limit(CSV_CHUNK)
        )
        if branch is not None:
            query = query.where(Member.branch_id == branch)
        rows = session.execute(query).all()
        if not rows:
            return
        members = cast(list[Member], rows)  # plain rows, read as members (services.member_rows)
        standings = owed_now(session, members, now)
        for row in rows:
            yield ChaseRow(cast(Member, row), standings[row.id], row.agent_code, row.agent_name)
        after = rows[-1].id


def chase_csv(
    session: DbSession, actor: StaffUser, statuses: Sequence[str], now: datetime, branch_id: int | None = None
) -> Iterator[str]:
    """The chase list as CSV text, a chunk of lines at a time (core/csvexport.py: no cell starts a formula); the
    branch is checked here, before the first line is sent (see ``chase_branch``)."""
    chase_branch(session, actor, branch_id)
    rows = (
        (
            r.member.kpj,
            r.member.name,
            r.member.status,
            r.standing.months_in_arrears,
            r.standing.arrears_idr,
            str(r.standing.paid_through) if r.standing.paid_through else None,
            r.agent_code,
            r.agent_name,
            r.member.village,
            r.member.phone,
        )
        for r in chase_rows(session, actor, statuses, now, branch_id)
    )
    return csv_lines(CSV_HEADER, rows, every=CSV_CHUNK)
