"""Standings derived in SQL, set-based: for a range of a branch's members, the rows whose cached standing is out
of date (or who are due an arrears flag or a reminder today), and nothing for everyone else.

It is collection/members/arrears.py's ``standing_on`` restated over the settled months as gaps between them, so a member
costs one pass over his settled months in the database and no Python:

- the months of the period that cost nothing (no schedule covers them, or a 100% discount) count as settled:
  ``standing_on`` skips them, so they neither owe nor break a paid run, and they end an unpaid run;
- a month is overdue when it is unpaid, its due date is before today and the period started before today
  (``standing_on`` moves a due date before the period's start to the start);
- the member is lapsed when some gap between settled months, cut at the last month due, is longer than
  LAPSE_AFTER_MONTHS; in arrears when anything is overdue; active otherwise;
- paid_through is the month before the first gap, or the last month before it that costs something.

The period is read from the member's cached ``first_month`` and ``period_started_on``, which enrolment and
``open_new_period`` set with each new period (one index lookup a member fewer than finding his latest
``membership_periods`` row); a lapse still closes that latest row. tests/collection/members/test_standing_sql.py holds
the SQL to ``standing_on`` on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, String, bindparam, text
from sqlalchemy.sql.elements import BindParameter, TextClause

from collection.members.arrears import LAPSE_AFTER_MONTHS, MemberStatus
from collection.members.due_dates import due_date
from collection.members.rates import ContributionTerms, Package, Payer, RateError, RateTable, Sector, amount_due
from core.extensions import DbSession
from core.months import Month

REMIND_DAYS_BEFORE_DUE = 3  # members without an active mandate get a reminder this many days before
HORIZON_MONTHS = 36  # months past the current one that the cost-nothing list covers; beyond it, Python decides

TermsKey = tuple[int, str, str]  # bracket, package, sector: what a month's amount depends on besides the month


@dataclass(frozen=True)
class StandingCalendar:
    """The day's facts shared by every member of a branch, worked out once in Python."""

    today: date
    last_due: Month  # the latest month whose due date is before today
    remind_month: Month | None  # the month whose due date is REMIND_DAYS_BEFORE_DUE days away, if any
    owed_from: Month  # nothing is owed before this month (the rate table's first)
    horizon: Month  # the free months are listed up to here; a member settled beyond it is left to Python
    free_months: tuple[tuple[TermsKey, Month], ...] = ()  # months in [owed_from, horizon] that cost nothing


@dataclass(frozen=True)
class DerivedStanding:
    """One member's standing as SQL derived it, beside what ``members`` caches."""

    member_id: int
    first_month: Month
    period_started_on: date
    terms: TermsKey
    phone: str | None
    agent_id: int | None
    cached_status: str
    cached_paid_through: Month | None
    status: MemberStatus
    paid_through: Month | None
    months_in_arrears: int
    oldest_unpaid: Month | None
    beyond_horizon: bool  # settled past the calendar's horizon: only standing_on can tell
    remind: bool  # a reminder for the calendar's remind_month is due and was not sent
    # The indexes of his settled (or free) months from the period's first owed month when they have no hole
    # between them (most members: standing_on needs nothing else), None when they do.
    settled_run: range | None = None

    @property
    def changed(self) -> bool:
        return self.status != self.cached_status or self.paid_through != self.cached_paid_through


def month_amount(table: RateTable, terms: TermsKey, month: Month) -> int:
    """What a month costs a member paying for himself; 0 when no schedule covers it (nothing is owed)."""
    bracket, package, sector = terms
    try:
        return amount_due(
            table, ContributionTerms(bracket, Package(package), Sector(sector), Payer.SELF), month
        ).total_idr
    except RateError:
        return 0


def calendar_for(table: RateTable, today: date, holidays: set[date]) -> StandingCalendar:
    """The branch's calendar on ``today``: the last month due, the month to remind of, and the free months."""
    this_month = Month.of(today)
    last_due = last_due_month(today, holidays)
    remind = due_date(this_month, holidays) - timedelta(days=REMIND_DAYS_BEFORE_DUE) == today
    owed_from = min(schedule.effective_from for schedule in table.schedules)
    horizon = this_month + HORIZON_MONTHS
    free = free_months(table, owed_from, horizon)
    return StandingCalendar(today, last_due, this_month if remind else None, owed_from, horizon, free)


def last_due_month(today: date, holidays: set[date]) -> Month:
    """The latest month whose due date is before ``today`` (every earlier month's is too)."""
    this_month = Month.of(today)
    return this_month if due_date(this_month, holidays) < today else this_month - 1


@lru_cache(maxsize=8)
def free_months(table: RateTable, first: Month, last: Month) -> tuple[tuple[TermsKey, Month], ...]:
    """The months between ``first`` and ``last`` that cost nothing, for every bracket, package and sector
    (about 0.3 s of amount_due calls, so kept for the process: every branch of a night shares it)."""
    brackets = sorted({bracket.number for schedule in table.schedules for bracket in schedule.brackets})
    keys = [(b, str(p), str(s)) for b in brackets for p in Package for s in Sector]
    return tuple((key, month) for key in keys for month in first.until(last) if month_amount(table, key, month) <= 0)


def derive_standings(
    session: DbSession,
    branch_id: int,
    after_id: int,
    through_id: int,
    calendar: StandingCalendar,
    everyone: bool = False,
) -> list[DerivedStanding]:
    """The members of a branch with ``after_id < id <= through_id`` whose cached standing differs from the derived
    one, who are due an arrears_3 flag or a reminder, or who settled beyond the horizon (every member when
    ``everyone``). Members without a membership period are skipped."""
    dialect = session.get_bind().dialect.name
    statement = _statement(dialect, calendar, everyone)
    params: dict[str, Any] = {
        "branch_id": branch_id,
        "after_id": after_id,
        "through_id": through_id,
        "today": calendar.today,
        "last_due": calendar.last_due.first_day(),
        "last_due_i": calendar.last_due.index,
        "owed_from": calendar.owed_from.first_day(),
        "horizon": calendar.horizon.first_day(),
    }
    if calendar.remind_month is not None:
        params["remind"] = calendar.remind_month.first_day()
        params["remind_key"] = f":{calendar.remind_month}"
    for n, ((bracket, package, sector), month) in enumerate(calendar.free_months):
        params |= {f"fb{n}": bracket, f"fp{n}": package, f"fs{n}": sector, f"fm{n}": month.first_day()}
        params |= {f"fi{n}": month.index, f"ft{n}": _paid_through_before(calendar, (bracket, package, sector), month)}
    if dialect == "postgresql":
        # A range is a few thousand index lookups: starting parallel workers for it costs more than it saves.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    rows = session.execute(statement, params).mappings()
    return [_derived(row) for row in rows]


def _paid_through_before(calendar: StandingCalendar, key: TermsKey, month: Month) -> int | None:
    """The index of the last month up to ``month`` that costs something (a run of free months ends there)."""
    free = {m for k, m in calendar.free_months if k == key}
    while month in free:
        month -= 1
    return month.index if month >= calendar.owed_from else None


def _derived(row: Any) -> DerivedStanding:
    paid_through = row["paid_through_i"]
    overdue = int(row["overdue"])
    return DerivedStanding(
        member_id=row["member_id"],
        first_month=_month(row["first_month"]),
        period_started_on=_date(row["started_on"]),
        terms=(row["bracket"], row["package"], row["sector"]),
        phone=row["phone"],
        agent_id=row["agent_id"],
        cached_status=row["cached_status"],
        cached_paid_through=None if row["cached_paid_through"] is None else _month(row["cached_paid_through"]),
        status=MemberStatus(row["status"]),
        paid_through=None if paid_through is None else Month.from_index(int(paid_through)),
        months_in_arrears=overdue,
        oldest_unpaid=Month.from_index(int(row["oldest_unpaid_i"])) if overdue else None,
        beyond_horizon=bool(row["beyond_horizon"]),
        remind=bool(row["remind"]),
        settled_run=_run(row["settled_count"], row["first_settled_i"], row["last_settled_i"]),
    )


def _run(count: int, first: int | None, last: int | None) -> range | None:
    """The settled months' indexes as one range, or None when there is a hole between them."""
    if not count or first is None or last is None:
        return range(0)
    return range(int(first), int(last) + 1) if int(last) - int(first) + 1 == int(count) else None


def _date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite returns text from raw SQL


def _month(value: date | str) -> Month:
    return Month.of(_date(value))


# --- the statement -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dialect:
    """The few expressions PostgreSQL and SQLite spell differently."""

    name: str

    def index(self, month: str) -> str:
        """A month (the date of its first day) as Month.index: consecutive months, consecutive integers."""
        if self.name == "postgresql":
            # date_part's double precision is exact here, and much cheaper than EXTRACT's numeric
            return f"(CAST(date_part('year', {month}) * 12 + date_part('month', {month}) AS INTEGER) - 1)"
        return f"(CAST(substr({month}, 1, 4) AS INTEGER) * 12 + CAST(substr({month}, 6, 2) AS INTEGER) - 1)"

    def skips(self, month: str, previous: str) -> str:
        """True when ``month`` does not follow ``previous`` (first days of months: 28 to 31 days apart if so)."""
        if self.name == "postgresql":
            return f"({month} - {previous} > 31)"
        return f"(julianday({month}) - julianday({previous}) > 31)"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.name == "postgresql" else f"min({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.name == "postgresql" else f"max({a}, {b})"


_statements: dict[tuple[str, int, bool, bool], TextClause] = {}


def _statement(dialect_name: str, calendar: StandingCalendar, everyone: bool) -> TextClause:
    key = (dialect_name, len(calendar.free_months), calendar.remind_month is not None, everyone)
    if key not in _statements:
        _statements[key] = _build(_Dialect(dialect_name), *key[1:])
    return _statements[key]


def _build(d: _Dialect, free_count: int, remind: bool, everyone: bool) -> TextClause:
    """The statement; its shape depends on the dialect, how many free months there are, and whether to remind.

    ``totals`` reads each member's settled months once (one index range of the partial unique index on
    allocations) into count, first, last and how many are due; a member whose settled months have no hole
    between the first and the last is described by those alone. The few with holes go through ``holes``,
    a window over their months, for the first hole and the longest."""
    free_rows = ", ".join(
        f"(CAST(:fb{n} AS INTEGER), CAST(:fp{n} AS VARCHAR(16)), CAST(:fs{n} AS VARCHAR(16)), :fm{n}, "
        f"CAST(:fi{n} AS INTEGER), CAST(:ft{n} AS INTEGER))"
        for n in range(free_count)
    )
    owed_from = d.greatest("m.first_month", ":owed_from")
    if free_count:
        # The free months count as settled: the allocations and those, once each, for the range's members.
        ctes = f"""free (bracket, package, sector, month, month_i, paid_through_i) AS (VALUES {free_rows}),
settled AS (
    SELECT a.member_id, a.month FROM payment_allocations a
    WHERE NOT a.reversed AND a.member_id > :after_id AND a.member_id <= :through_id
    UNION
    SELECT m.id, f.month FROM members m
    JOIN free f ON f.bracket = m.bracket AND f.package = m.package AND f.sector = m.sector
    WHERE m.branch_id = :branch_id AND m.id > :after_id AND m.id <= :through_id
),"""
        source = "settled a"
        live = "1 = 1"
    else:
        ctes = ""
        source = "payment_allocations a"
        live = "NOT a.reversed"  # the partial index's own predicate
    # Month indexes are worked out once per member, in ``totals``; the rest is integer arithmetic on them.
    i_owed, i_first, i_last = "t.owed_from_i", "t.first_i", "t.last_i"
    run_end = "s.first_gap - 1"
    if free_count:
        paid_through = f"""CASE WHEN {run_end} < s.owed_from_i THEN NULL
                 WHEN f.month_i IS NULL THEN {run_end}
                 WHEN f.paid_through_i >= s.owed_from_i THEN f.paid_through_i END"""
        paid_through_join = """LEFT JOIN free f ON f.bracket = s.bracket AND f.package = s.package
        AND f.sector = s.sector AND f.month_i = s.first_gap - 1"""
    else:
        paid_through = f"CASE WHEN {run_end} >= s.owed_from_i THEN {run_end} END"
        paid_through_join = ""
    if remind:
        free_remind = (
            """
            AND NOT EXISTS (SELECT 1 FROM free f WHERE f.bracket = s.bracket AND f.package = s.package
                            AND f.sector = s.sector AND f.month = :remind)"""
            if free_count
            else ""
        )
        remind_expr = f"""CASE WHEN s.first_month <= :remind AND s.phone IS NOT NULL AND s.phone <> ''{free_remind}
            AND NOT EXISTS (SELECT 1 FROM payment_allocations a
                            WHERE a.member_id = s.member_id AND a.month = :remind AND NOT a.reversed)
            AND NOT EXISTS (SELECT 1 FROM mandates md WHERE md.member_id = s.member_id AND md.status = 'active')
            AND NOT EXISTS (SELECT 1 FROM outbox_messages o
                            WHERE o.dedupe_key = 'reminder:' || CAST(s.member_id AS VARCHAR(20)) || :remind_key)
            THEN 1 ELSE 0 END"""
    else:
        remind_expr = "0"
    aggregates = {
        "settled_count": "count(a.month)",
        "first_settled": "min(a.month)",
        "last_settled": "max(a.month)",
        "settled_due": "sum(CASE WHEN a.month <= :last_due THEN 1 ELSE 0 END)",
    }
    if d.name == "postgresql" and not free_count:
        # Each member's settled months aggregated on their own, over one index range: no hashing of every
        # settled month by member (about 15% less time than the join and GROUP BY below).
        columns = {name: f"per_member.{name}" for name in aggregates}
        settled_join = f"""CROSS JOIN LATERAL (
        SELECT {", ".join(f"{expression} AS {name}" for name, expression in aggregates.items())}
        FROM {source} WHERE a.member_id = m.id AND {live} AND a.month >= {owed_from}
    ) per_member"""
        settled_group = ""
    else:  # SQLite has no LATERAL; with free months, ``settled`` is a CTE that only a join reads once
        columns = aggregates
        settled_join = f"LEFT JOIN {source} ON a.member_id = m.id AND {live} AND a.month >= {owed_from}"
        settled_group = "GROUP BY m.id"
    settled_columns = ", ".join(f"{expression} AS {name}" for name, expression in columns.items())
    settled_columns += f", {d.index(columns['first_settled'])} AS first_i, {d.index(columns['last_settled'])} AS last_i"
    lapse = LAPSE_AFTER_MONTHS
    sql = f"""
WITH {ctes}
totals AS (
    SELECT m.id AS member_id, m.status AS cached_status, m.paid_through AS cached_paid_through,
           m.bracket, m.package, m.sector, m.phone, m.agent_id, m.first_month,
           m.period_started_on AS started_on, {owed_from} AS owed_from, {d.index(owed_from)} AS owed_from_i,
           {d.index("m.paid_through")} AS cached_paid_through_i,
           {settled_columns}
    FROM members m
    {settled_join}
    WHERE m.branch_id = :branch_id AND m.id > :after_id AND m.id <= :through_id
    {settled_group}
),
holes AS (
    SELECT member_id,
           min({d.index("previous")} + 1) AS first_hole,
           max({d.least(d.index("month") + " - 1", ":last_due_i")} - {d.index("previous")}) AS longest_hole
    FROM (
        SELECT t.member_id, a.month, lag(a.month) OVER (PARTITION BY t.member_id ORDER BY a.month) AS previous
        FROM totals t
        JOIN {source} ON a.member_id = t.member_id AND {live} AND a.month >= t.owed_from
        WHERE t.settled_count > 1 AND {i_last} - {i_first} + 1 <> t.settled_count
    ) runs
    WHERE previous IS NOT NULL AND {d.skips("month", "previous")}
    GROUP BY member_id
),
gaps AS (
    SELECT t.*,
           CASE WHEN t.settled_count = 0 THEN {i_owed} ELSE {i_last} + 1 END AS trailing_gap,
           CASE WHEN t.settled_count > 0 AND t.first_settled > t.owed_from
                THEN {d.least(i_first + " - 1", ":last_due_i")} - {i_owed} + 1 ELSE 0 END AS leading_gap,
           CASE WHEN t.settled_count > 0 AND t.first_settled > t.owed_from THEN {i_owed}
                ELSE coalesce(h.first_hole, CASE WHEN t.settled_count = 0 THEN {i_owed} ELSE {i_last} + 1 END)
           END AS first_gap,
           coalesce(h.longest_hole, 0) AS longest_hole,
           CASE WHEN t.started_on < :today AND :last_due_i >= {i_owed}
                THEN :last_due_i - {i_owed} + 1 - coalesce(t.settled_due, 0) ELSE 0 END AS overdue
    FROM totals t
    LEFT JOIN holes h ON h.member_id = t.member_id
),
standing AS (
    SELECT s.*,
           CASE WHEN s.overdue = 0 THEN 'active'
                WHEN s.leading_gap > {lapse} OR s.longest_hole > {lapse} OR :last_due_i - s.trailing_gap + 1 > {lapse}
                THEN 'lapsed'
                ELSE 'in_arrears' END AS status,
           {paid_through} AS paid_through_i,
           CASE WHEN s.last_settled > :horizon THEN 1 ELSE 0 END AS beyond_horizon,
           {remind_expr} AS remind
    FROM gaps s
    {paid_through_join}
)
SELECT member_id, first_month, started_on, bracket, package, sector, phone, agent_id, cached_status,
       cached_paid_through, status, paid_through_i, overdue, first_gap AS oldest_unpaid_i, beyond_horizon, remind,
       settled_count, first_i AS first_settled_i, last_i AS last_settled_i
FROM standing s
WHERE {"1 = 1" if everyone else "0 = 1"}
   OR s.status <> s.cached_status
   OR coalesce(s.paid_through_i, -1) <> coalesce(s.cached_paid_through_i, -1)
   OR s.beyond_horizon = 1
   OR s.remind = 1
   OR (s.status = 'in_arrears' AND s.cached_status = 'in_arrears' AND s.overdue >= 3
       AND NOT EXISTS (SELECT 1 FROM standing_flags sf
                       WHERE sf.member_id = s.member_id AND sf.kind = 'arrears_3'
                         AND sf.member_id > :after_id AND sf.member_id <= :through_id
                         AND {d.index("sf.month")} = s.first_gap))
ORDER BY member_id
"""
    dates = ["today", "last_due", "owed_from", "horizon", *(["remind"] if remind else [])]
    dates += [f"fm{n}" for n in range(free_count)]
    strings = [f"f{c}{n}" for n in range(free_count) for c in "ps"]
    integers = ["branch_id", "after_id", "through_id", "last_due_i"]
    binds: list[BindParameter[Any]] = [bindparam(name, type_=Date()) for name in dates]
    binds += [bindparam(name, type_=String()) for name in strings]
    binds += [bindparam(name, type_=Integer()) for name in integers]
    return text(sql).bindparams(*binds)


def chunk_bounds(session: DbSession, branch_id: int, size: int) -> list[tuple[int, int, int]]:
    """The branch's members cut into ranges of ``size`` by id: (after_id, through_id, members) each."""
    rows = session.execute(
        text(
            """
            SELECT id, n FROM (
                SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS total
                FROM members WHERE branch_id = :branch_id
            ) numbered
            WHERE n % :size = 0 OR n = total
            ORDER BY id
            """
        ),
        {"branch_id": branch_id, "size": size},
    ).all()
    bounds, after, done = [], 0, 0
    for member_id, n in rows:
        bounds.append((after, int(member_id), int(n) - done))
        after, done = int(member_id), int(n)
    return bounds


def settled_months(session: DbSession, member_ids: Sequence[int]) -> dict[int, set[Month]]:
    """The settled (NOT reversed) months of some members: for those Python re-derives whose settled months have
    a hole (the others' are ``DerivedStanding.settled_run``)."""
    settled: dict[int, set[Month]] = {}
    for part in _parts(member_ids, 1000):
        rows = session.execute(
            text(
                "SELECT member_id, month FROM payment_allocations "
                "WHERE member_id IN :ids AND NOT reversed"  # NOT reversed: the partial index's own predicate
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": list(part)},
        )
        for member_id, month in rows:
            settled.setdefault(member_id, set()).add(_month(month))
    return settled


def _parts(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
