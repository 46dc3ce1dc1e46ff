"""The set-based standing (collection/members/standing_sql.py) agrees with the pure rule, ``standing_on``, on random
periods and settled-month histories, on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collection.members.arrears import MonthDue, standing_on
from collection.members.due_dates import due_date
from collection.members.models import Member, MembershipPeriod, PaymentAllocation
from collection.members.standing_sql import StandingCalendar, derive_standings, last_due_month
from core.months import Month
from organisation.models import Branch
from payments.ledger.models import Payment

PACKAGE, SECTOR = "JKK+JKM", "other"


@dataclass(frozen=True)
class History:
    """One member: his periods (the last is current), what he settled and reversed, the months that cost nothing."""
    first_month: Month
    started_on: date
    older_period: bool
    settled: frozenset[Month]
    reversed: frozenset[Month]
    free: frozenset[Month]


@dataclass(frozen=True)
class Case:
    today: date
    holidays: frozenset[date]
    owed_from: Month
    horizon: Month
    members: tuple[History, ...]


@st.composite
def histories(draw: Any, today: date) -> History:
    first = Month.of(today) + draw(st.integers(-40, 3))
    started_on = first.first_day() + timedelta(days=draw(st.integers(-5, 45)))
    if draw(st.integers(0, 9)) == 0:  # enrolled, or started again, on the day itself
        started_on = today - timedelta(days=draw(st.integers(0, 1)))
        first = Month.of(started_on)
    paid = draw(st.integers(0, 48))  # the usual shape: an unbroken run from the first month
    extra = draw(st.sets(st.integers(-4, 48), max_size=6))
    holes = draw(st.sets(st.integers(0, 48), max_size=3))
    settled = frozenset(first + n for n in (set(range(paid)) | extra) - holes)
    reversed_ = frozenset(first + n for n in draw(st.sets(st.integers(-4, 48), max_size=3)))
    free = frozenset(first + n for n in draw(st.sets(st.integers(-4, 48), max_size=4)))
    return History(first, started_on, draw(st.booleans()), settled, reversed_, free)


@st.composite
def cases(draw: Any) -> Case:
    today = draw(st.dates(date(2022, 1, 1), date(2028, 12, 31)))
    this_month = Month.of(today)
    holidays = frozenset(
        (this_month + draw(st.integers(-40, 3))).first_day().replace(day=draw(st.integers(14, 18)))
        for _ in range(draw(st.integers(0, 6)))
    )
    owed_from = this_month + draw(st.integers(-45, -5))
    horizon = this_month + draw(st.integers(0, 40))
    members = tuple(draw(st.lists(histories(today), min_size=1, max_size=5)))
    return Case(today, holidays, owed_from, horizon, members)


def _costs_nothing(case: Case, history: History, month: Month) -> bool:
    return month < case.owed_from or (month in history.free and month <= case.horizon)


def expected(case: Case, history: History, settled: frozenset[Month] | None = None) -> Any:
    """The pure rule on the same history (or on other ``settled`` months), with the dues built as the
    reconciliation builds them."""
    holidays = set(case.holidays)
    settled = history.settled if settled is None else settled
    last = max(Month.of(case.today), *settled) if settled else Month.of(case.today)
    dues = [
        MonthDue(m, 10_000 + m.month, due_date(m, holidays))
        for m in history.first_month.until(last)
        if not _costs_nothing(case, history, m)
    ]
    return standing_on(dues, settled, case.today, history.started_on)


def settled_run(case: Case, history: History) -> range | None:
    """The settled and free months from the period's first owed month as one range of indexes, None if holed."""
    owed_from = max(history.first_month, case.owed_from)
    free = {m for m in history.free if m <= case.horizon}
    counted = sorted(m.index for m in history.settled | free if m >= owed_from)
    if not counted:
        return range(0)
    return range(counted[0], counted[-1] + 1) if counted[-1] - counted[0] + 1 == len(counted) else None


def store(session: Any, case: Case) -> tuple[int, list[int]]:
    """The branch, members, periods, payments and allocations of a case; nothing committed."""
    branch = Branch(code="HYP", name="Hypothesis", province_code="19", regency_code="1971", timezone="Asia/Jakarta")
    session.add(branch)
    session.flush()
    ids = []
    for n, history in enumerate(case.members):
        member = Member(
            nik=f"{n + 1:016d}",
            name="peserta",
            birth_date=date(1990, 1, 1),
            sex="M",
            phone=None,
            occupation="pedagang",
            sector=SECTOR,
            district_code="197101",
            declared_income_idr=1_000_000,
            bracket=n + 1,  # each member his own terms, so each has his own free months
            package=PACKAGE,
            branch_id=branch.id,
            enrolled_on=history.started_on,
            status="active",
            first_month=history.first_month,
            paid_through=None,
            period_started_on=history.started_on,
        )
        session.add(member)
        session.flush()
        ids.append(member.id)
        if history.older_period:
            older = history.started_on - timedelta(days=400)
            session.add(MembershipPeriod(member_id=member.id, started_on=older, first_month=Month.of(older)))
        session.add(
            MembershipPeriod(member_id=member.id, started_on=history.started_on, first_month=history.first_month)
        )
        rows = [(m, False) for m in history.settled] + [(m, True) for m in history.reversed]
        for month, is_reversed in rows:
            payment = Payment(member_id=member.id, channel="cash", amount_idr=10_000, paid_on=case.today)
            session.add(payment)
            session.flush()
            session.add(
                PaymentAllocation(
                    payment_id=payment.id, member_id=member.id, month=month, amount_idr=10_000, reversed=is_reversed
                )
            )
    session.flush()
    return branch.id, ids


def calendar(case: Case) -> Any:
    free = tuple(
        ((n + 1, PACKAGE, SECTOR), month)
        for n, history in enumerate(case.members)
        for month in sorted(history.free)
        if case.owed_from <= month <= case.horizon
    )
    return StandingCalendar(
        case.today, last_due_month(case.today, set(case.holidays)), None, case.owed_from, case.horizon, free
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_the_sql_standing_agrees_with_the_pure_rule(session, case):
    agrees_with_the_pure_rule(session, case)


def nothing_free(case: Case) -> Case:
    return replace(case, members=tuple(replace(history, free=frozenset()) for history in case.members))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases().map(nothing_free))
def test_the_sql_standing_agrees_with_the_pure_rule_when_every_month_costs_something(session, case):
    agrees_with_the_pure_rule(session, case)  # the statement's other shape: on PostgreSQL, no join on free months


def agrees_with_the_pure_rule(session: Any, case: Case) -> None:
    try:
        branch_id, ids = store(session, case)
        derived = derive_standings(session, branch_id, ids[0] - 1, ids[-1], calendar(case), everyone=True)

        assert [d.member_id for d in derived] == ids
        for history, row in zip(case.members, derived, strict=True):
            want = expected(case, history)
            owed = [m for m in history.settled if m >= max(history.first_month, case.owed_from)]
            assert row.beyond_horizon == (max(owed, default=case.horizon) > case.horizon)
            # The reconciliation hands standing_on the run in place of the settled months: it must answer the same.
            assert row.settled_run == settled_run(case, history)
            if row.settled_run is not None:
                run = frozenset(Month.from_index(i) for i in row.settled_run)
                assert expected(case, history, run) == want, history
            if row.beyond_horizon:
                continue  # the SQL says so, and the reconciliation asks standing_on
            got = (row.status, row.months_in_arrears, row.oldest_unpaid, row.paid_through)
            assert got == (want.status, want.months_in_arrears, want.oldest_unpaid, want.paid_through), history

        # Once the cache holds the derived standing, only members due an arrears_3 flag (or left to Python) return.
        for history, member_id in zip(case.members, ids, strict=True):
            want = expected(case, history)
            member = session.get(Member, member_id)
            member.status, member.paid_through = str(want.status), want.paid_through
        session.flush()
        returned = {d.member_id for d in derive_standings(session, branch_id, ids[0] - 1, ids[-1], calendar(case))}
        due = {
            member_id
            for history, member_id, row in zip(case.members, ids, derived, strict=True)
            if row.beyond_horizon
            or (str(expected(case, history).status) == "in_arrears" and expected(case, history).months_in_arrears >= 3)
        }
        assert returned == due
    finally:
        session.rollback()
