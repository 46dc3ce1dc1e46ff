"""A member's position: the months he owes and has paid, what a payment may cover, and his standing kept current."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from collection.members.arrears import LAPSE_AFTER_MONTHS, MemberStatus, MonthDue, Standing, standing_on
from collection.members.breakdown import MonthRun, month_runs
from collection.members.due_dates import due_date
from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.rates import ContributionTerms, RateTable, amount_due
from collection.members.services import MemberView, describe_members, holidays_for, load_rate_table, terms_of
from core.clock import local_today
from core.extensions import DbSession
from core.months import Month
from organisation.models import Branch


@dataclass(frozen=True)
class PaymentChoice:
    """One way to pay at the counter: this many months, from ``first`` to ``last``, for this amount."""

    months: int
    first: Month
    last: Month
    amount_idr: int
    months_covered: tuple[Month, ...]


@dataclass(frozen=True)
class MemberPosition:
    """What a member owes on a day, and the ways the agent may offer to pay."""

    standing: Standing
    starts_new_period: bool  # lapsed: the next payment opens a new protection period
    next_due_month: Month
    next_due_on: date
    choices: tuple[PaymentChoice, ...]
    open_dues: tuple[MonthDue, ...]  # every payable month, earliest first, for allocation
    period_dues: tuple[MonthDue, ...] = ()  # the period's months from its first to the horizon
    settled: frozenset[Month] = frozenset()
    period_started_on: date | None = None

    def standing_after(self, paid: tuple[Month, ...], today: date) -> Standing:
        """The standing once ``paid`` months are settled too: no query, the same rule."""
        settled = self.settled | set(paid)
        until = max(Month.of(today), *settled) if settled else Month.of(today)
        dues = [d for d in self.period_dues if d.month <= until]
        return standing_on(dues, settled, today, self.period_started_on)


COUNTER_MONTHS = (1, 3, 6, 12)  # what agents offer (domain.md §3); in arrears, the arrears come first
PAYABLE_AHEAD_MONTHS = 24  # how far ahead of the current month a payment may reach


def current_period(session: DbSession, member: Member) -> MembershipPeriod:
    """The member's latest protection period."""
    period = session.scalar(
        select(MembershipPeriod)
        .where(MembershipPeriod.member_id == member.id)
        .order_by(MembershipPeriod.started_on.desc(), MembershipPeriod.id.desc())
        .limit(1)
    )
    assert period is not None, f"member {member.id} has no membership period"
    return period


_DUES_KEPT = 4096  # members share their terms and months: what every request of a day asks, many times over
_dues_kept: dict[tuple[Any, ...], tuple[RateTable, tuple[MonthDue, ...]]] = {}


def _dues(terms: ContributionTerms, first: Month, last: Month, table: RateTable, holidays: set[date]) -> list[MonthDue]:
    """The months from ``first`` to ``last`` with their amounts and due dates (kept per table and holidays: the
    same arguments always give the same months)."""
    key = (id(table), terms, first, last, frozenset(holidays))
    kept = _dues_kept.get(key)
    if kept is not None and kept[0] is table:
        return list(kept[1])
    dues = tuple(MonthDue(m, amount_due(table, terms, m).total_idr, due_date(m, holidays)) for m in first.until(last))
    if len(_dues_kept) >= _DUES_KEPT:
        _dues_kept.clear()
    _dues_kept[key] = (table, dues)
    return list(dues)


HolidaysBetween = Callable[[date, date], set[date]]


def member_position(session: DbSession, member: Member, today: date) -> MemberPosition:
    """Standing on ``today`` and the counter's choices: arrears first, then 1, 3, 6 or 12 months."""
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    table = load_rate_table(session)
    period = current_period(session, member)
    settled = set(
        session.scalars(
            select(PaymentAllocation.month).where(
                PaymentAllocation.member_id == member.id,
                ~PaymentAllocation.reversed,  # NOT reversed: the partial index's own predicate
                PaymentAllocation.month >= period.first_month,
            )
        )
    )
    return position_from(
        terms_of(member),
        period.first_month,
        period.started_on,
        settled,
        table,
        lambda first, last: holidays_for(session, branch, first, last),
        today,
    )


def position_from(
    terms: ContributionTerms,
    first_month: Month,
    period_started_on: date,
    settled: set[Month],
    table: RateTable,
    holidays_between: HolidaysBetween,
    today: date,
) -> MemberPosition:
    """The position worked out from rows already read: the period's first month and start, the months settled in
    it (not reversed), the rate table and the branch's holidays (no query of its own beyond ``holidays_between``)."""
    settled = {m for m in settled if m >= first_month}
    this_month = Month.of(today)
    horizon = this_month + PAYABLE_AHEAD_MONTHS
    owed_until = max(this_month, first_month, *settled)  # through any months paid ahead
    # one month past what is paid: a member paid through the horizon is next due then
    holidays = holidays_between(first_month.first_day(), max(horizon, owed_until + 1).last_day())
    every_due = _dues(terms, first_month, max(horizon, owed_until), table, holidays)
    standing = standing_on([d for d in every_due if d.month <= owed_until], settled, today, period_started_on)
    lapsed = standing.status == MemberStatus.LAPSED
    if lapsed:
        open_dues = tuple(_dues(terms, this_month, horizon, table, holidays))
    else:
        open_dues = tuple(d for d in every_due if d.month not in settled and d.month <= horizon)
    arrears = 0 if lapsed else standing.months_in_arrears
    counts = sorted({n for n in ([arrears] if arrears else []) + [arrears + k for k in COUNTER_MONTHS]})
    choices = []
    for count in counts:
        window = open_dues[:count]
        if len(window) < count:
            break
        choices.append(
            PaymentChoice(
                months=count,
                first=window[0].month,
                last=window[-1].month,
                amount_idr=sum(d.amount_idr for d in window),
                months_covered=tuple(d.month for d in window),
            )
        )
    # Paid through the horizon (PAYABLE_AHEAD_MONTHS): nothing can be paid yet, and the next due is past it.
    next_due = open_dues[0] if open_dues else _dues(terms, owed_until + 1, owed_until + 1, table, holidays)[0]
    return MemberPosition(
        standing=standing,
        starts_new_period=lapsed,
        next_due_month=next_due.month,
        next_due_on=next_due.due_on,
        choices=tuple(choices),
        open_dues=open_dues,
        period_dues=tuple(every_due),
        settled=frozenset(settled),
        period_started_on=period_started_on,
    )


def choice_breakdown(
    session: DbSession, member: Member, position: MemberPosition, today: date
) -> dict[int, tuple[MonthRun, ...]]:
    """For each payment choice (by its number of months), its months in runs of one price and reason."""
    table = load_rate_table(session)
    started = today if position.starts_new_period else (position.period_started_on or today)
    return {
        choice.months: month_runs(position.open_dues[: choice.months], table, terms_of(member), started, today)
        for choice in position.choices
    }


def refresh_standing(
    session: DbSession, member: Member, today: date, cause: str, standing: Standing | None = None
) -> Standing:
    """Re-derive the member's standing now (or take one just derived) and record a status change when it
    moved (the caller commits)."""
    if standing is None:
        standing = member_position(session, member, today).standing
    member.paid_through = standing.paid_through
    if standing.status != member.status:
        session.add(
            MemberStatusChange(
                member_id=member.id,
                from_status=member.status,
                to_status=standing.status,
                changed_on=standing.lapsed_on or today,
                cause=cause,
            )
        )
        member.status = standing.status
        if standing.status == MemberStatus.LAPSED:
            period = current_period(session, member)
            period.ended_on = standing.lapsed_on
            period.end_cause = f"more than {LAPSE_AFTER_MONTHS} consecutive unpaid months"
    return standing


def open_new_period(session: DbSession, member: Member, today: date, cause: str) -> MembershipPeriod:
    """After a lapse, a payment starts a new protection period from the month it pays for (domain.md §3)."""
    old = current_period(session, member)
    if old.ended_on is None:
        old.ended_on = today
        old.end_cause = old.end_cause or f"more than {LAPSE_AFTER_MONTHS} consecutive unpaid months"
    period = MembershipPeriod(member_id=member.id, started_on=today, first_month=Month.of(today))
    session.add(period)
    member.first_month = period.first_month
    member.period_started_on = today
    session.add(
        MemberStatusChange(
            member_id=member.id, from_status=member.status, to_status=MemberStatus.ACTIVE, changed_on=today, cause=cause
        )
    )
    member.status = MemberStatus.ACTIVE
    session.flush()
    return period


def describe_member_now(session: DbSession, member: Member, now: datetime) -> MemberView:
    """One member with the standing worked out now (the stored status is what the last change left)."""
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    standing = member_position(session, member, local_today(branch.timezone, now)).standing
    view = describe_members(session, [member], now)[0]
    return replace(
        view,
        status=standing.status,
        paid_through=standing.paid_through,
        months_in_arrears=standing.months_in_arrears,
        arrears_idr=standing.arrears_idr,
    )
