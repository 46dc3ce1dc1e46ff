"""The standing reconciliation: re-derive every member's standing from what is settled, per branch and in
ranges of members, and write what changed: status changes with their dates, flags, notices, visits, reminders.

The deriving is set-based (collection/members/standing_sql.py): one statement per range of members returns only those
whose cached standing is out of date, who are due an arrears flag, or who are due a reminder today, so a
member whose standing did not change costs no Python and no write. For the members it returns, the pure rule
(collection/members/arrears.py) derives the standing again from their settled months (as the SQL's one run of them, or
read again for the few with a hole), and what changed is written in bulk: on PostgreSQL one statement per table
and range, the rows passed as one JSON document. Safe to re-run: the same input gives the same output, and
flags, texts and visits are unique per member, kind and month (the database's unique keys are the final guard:
duplicates are skipped, not raised).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Executable, FromClause, Table, Text, bindparam, column, func, select, update
from sqlalchemy import cast as cast_
from sqlalchemy.dialects import postgresql, sqlite

from collection.members.arrears import MemberStatus, MonthDue, Standing, standing_on
from collection.members.due_dates import due_date
from collection.members.models import Member, MembershipPeriod, MemberStatusChange, StandingFlag, VisitItem
from collection.members.paylinks import LinkSigner
from collection.members.rates import RateTable
from collection.members.services import holidays_for, load_rate_table
from collection.members.standing_sql import (
    DerivedStanding,
    StandingCalendar,
    TermsKey,
    calendar_for,
    chunk_bounds,
    derive_standings,
    month_amount,
    settled_months,
)
from core.clock import local_today
from core.extensions import DbSession
from core.months import Month
from core.outbox import OutboxMessage
from organisation.models import Branch

CHUNK = 5000  # members per range: one statement and one transaction each
LAPSE_CAUSE = "more than 3 consecutive unpaid months"

log = logging.getLogger(__name__)


@dataclass
class ReconcileResult:
    members: int = 0
    changed: int = 0
    flags: int = 0
    reminders: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def reconcile_branch(
    session: DbSession,
    branch_id: int,
    now: datetime,
    chunk: int = CHUNK,
    on_chunk: Callable[[int], None] | None = None,
    links: LinkSigner | None = None,
) -> ReconcileResult:
    """Recompute the standing of every member of a branch on its local today; commit range by range. With
    ``links``, every reminder and arrears or lapse text carries a pay link for the months it is about."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValueError(f"there is no branch {branch_id}")
    today = local_today(branch.timezone, now)
    table = load_rate_table(session)
    holidays = holidays_for(session, branch, date(today.year - 3, 1, 1), date(today.year + 2, 12, 31))
    calendar = calendar_for(table, today, holidays)
    work = _Work(session, table, holidays, calendar, now=now, links=links)
    result = ReconcileResult()
    for after_id, through_id, members in chunk_bounds(session, branch_id, chunk):
        rows = derive_standings(session, branch_id, after_id, through_id, calendar)
        work.apply(branch_id, rows, result)
        result.members += members
        session.commit()
        if on_chunk:
            on_chunk(members)
    counts = session.execute(
        select(Member.status, func.count()).where(Member.branch_id == branch_id).group_by(Member.status)
    )
    result.by_status = {str(status): int(count) for status, count in counts}
    session.commit()
    return result


def _table(model: Any) -> Table:
    """A model's Core table, for bulk statements."""
    return cast(Table, model.__table__)


@dataclass(frozen=True)
class _SettledRun(Collection[Month]):
    """Settled months with no hole between them, held as their indexes: all standing_on asks of them is
    whether a month is in, and the SQL already says where the run starts and ends."""

    indexes: range

    def __contains__(self, month: object) -> bool:
        return isinstance(month, Month) and month.index in self.indexes

    def __iter__(self) -> Iterator[Month]:
        return (Month.from_index(index) for index in self.indexes)

    def __len__(self) -> int:
        return len(self.indexes)


_NOTICES = {
    "arrears_1": "BPJS Ketenagakerjaan: iuran {month} belum dibayar (tunggakan Rp{amount}). "
    "Bayar lewat agen Perisai agar perlindungan tetap aktif.",
    "arrears_3": "BPJS Ketenagakerjaan: tunggakan iuran Anda sudah 3 bulan (Rp{amount}). Bayar sebelum jatuh "
    "tempo berikutnya; lewat dari itu kepesertaan berakhir.",
    "lapsed": "BPJS Ketenagakerjaan: kepesertaan Anda berakhir karena iuran tidak dibayar lebih dari 3 bulan. "
    "Bayar iuran bulan ini lewat agen Perisai untuk perlindungan baru.",
}
_VISITS = ("arrears_1", "lapsed")  # flags that put the member on his agent's visit list
_SHARED_DUES = 4096  # dues lists kept for reuse (by terms, first and last month) before starting afresh


@dataclass
class _Flag:
    member: DerivedStanding
    kind: str
    month: Month
    standing: Standing


@dataclass
class _Work:
    """What one run needs besides the rows: the session, the rate table, the holidays, the day's calendar,
    and the amounts, due dates and lists of dues already built (members share them)."""

    session: DbSession
    table: RateTable
    holidays: set[date]
    calendar: StandingCalendar
    now: datetime  # the run's instant: when its pay links are issued
    links: LinkSigner | None = None
    amounts: dict[tuple[int, str, str, Month], int] = field(default_factory=dict)
    due_dates: dict[Month, date] = field(default_factory=dict)
    dues: dict[tuple[TermsKey, Month, Month], list[MonthDue]] = field(default_factory=dict)

    @property
    def postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def apply(self, branch_id: int, rows: Sequence[DerivedStanding], result: ReconcileResult) -> None:
        """Re-derive the returned members' standings with the pure rule and write what changed, in bulk."""
        today = self.calendar.today
        this_month = Month.of(today)
        again = [r for r in rows if r.changed or r.beyond_horizon or r.months_in_arrears >= 3]
        # The SQL gives the settled months of most members as one run; only those with a hole are read again.
        fetched = settled_months(self.session, [r.member_id for r in again if r.settled_run is None])
        updates: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        ends: list[dict[str, Any]] = []
        flags: list[_Flag] = []
        for row in again:
            months: Collection[Month]
            if row.settled_run is None:
                months = fetched.get(row.member_id, set())
                last = max(this_month, *months) if months else this_month
            else:
                months = _SettledRun(row.settled_run)
                last = max(this_month, Month.from_index(row.settled_run[-1])) if row.settled_run else this_month
            standing = standing_on(self._dues(row.terms, row.first_month, last), months, today, row.period_started_on)
            if not row.beyond_horizon and (standing.status, standing.paid_through) != (row.status, row.paid_through):
                log.warning("member %s: SQL derived %s, standing_on %s", row.member_id, row, standing)
            self._plan(row, standing, updates, changes, ends, flags)
        if updates:
            members = _table(Member)
            v = self._rows(members, updates)
            self._execute(
                update(members).where(members.c.id == v.c.id).values(status=v.c.status, paid_through=v.c.paid_through),
                updates,
            )
        self._insert(_table(MemberStatusChange), changes)
        if ends:
            periods = _table(MembershipPeriod)
            v = self._rows(periods, ends)
            latest = periods.alias("latest")
            current = (
                select(latest.c.id)
                .where(latest.c.member_id == v.c.member_id)
                .order_by(latest.c.started_on.desc(), latest.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            self._execute(
                update(periods)
                .where(periods.c.member_id == v.c.member_id, periods.c.id == current)
                .values(ended_on=v.c.ended_on, end_cause=LAPSE_CAUSE),
                ends,
            )
        result.changed += len(changes)
        result.flags += self._raise(branch_id, flags, today)
        result.reminders += self._remind([r for r in rows if r.remind])

    def _dues(self, terms: TermsKey, first: Month, last: Month) -> list[MonthDue]:
        """The period's months that cost something, with their amounts and due dates; members on the same terms
        from the same month share the list (standing_on does not change it)."""
        key = (terms, first, last)
        dues = self.dues.get(key)
        if dues is None:
            if len(self.dues) >= _SHARED_DUES:
                self.dues.clear()
            dues = self.dues[key] = []
            for month in first.until(last):
                amount = self._amount(terms, month)
                if amount > 0:
                    if month not in self.due_dates:
                        self.due_dates[month] = due_date(month, self.holidays)
                    dues.append(MonthDue(month, amount, self.due_dates[month]))
        return dues

    def _amount(self, terms: TermsKey, month: Month) -> int:
        key = (*terms, month)
        if key not in self.amounts:
            self.amounts[key] = month_amount(self.table, terms, month)
        return self.amounts[key]

    def _plan(
        self,
        row: DerivedStanding,
        standing: Standing,
        updates: list[dict[str, Any]],
        changes: list[dict[str, Any]],
        ends: list[dict[str, Any]],
        flags: list[_Flag],
    ) -> None:
        """What a member's new standing writes: his cached standing, a status change, flags, the period's end."""
        status = str(standing.status)
        if (status, standing.paid_through) != (row.cached_status, row.cached_paid_through):
            updates.append({"id": row.member_id, "status": status, "paid_through": standing.paid_through})
        today = self.calendar.today
        if status == row.cached_status:
            if standing.status == MemberStatus.IN_ARREARS and standing.months_in_arrears >= 3:
                flags.append(_Flag(row, "arrears_3", standing.oldest_unpaid or Month.of(today), standing))
            return
        changes.append(
            {
                "member_id": row.member_id,
                "from_status": row.cached_status,
                "to_status": status,
                "changed_on": standing.lapsed_on or today,
                "cause": "reconciliation",
            }
        )
        oldest = standing.oldest_unpaid or Month.of(today)
        if standing.status == MemberStatus.IN_ARREARS:
            flags.append(_Flag(row, "arrears_1", oldest, standing))
            if standing.months_in_arrears >= 3:
                flags.append(_Flag(row, "arrears_3", oldest, standing))
        elif standing.status == MemberStatus.LAPSED:
            ends.append({"member_id": row.member_id, "ended_on": standing.lapsed_on})
            flags.append(_Flag(row, "lapsed", oldest, standing))
        elif row.cached_status != MemberStatus.ACTIVE:
            flags.append(_Flag(row, "resolved", standing.paid_through or Month.of(today), standing))

    def _raise(self, branch_id: int, flags: Sequence[_Flag], today: date) -> int:
        """Raise each flag once per member, kind and month, with its text and (for arrears) the agent's visit."""
        if not flags:
            return 0
        table = _table(StandingFlag)
        raised = self._insert(
            table,
            [
                {
                    "member_id": f.member.member_id,
                    "branch_id": branch_id,
                    "kind": f.kind,
                    "month": f.month,
                    "raised_on": today,
                    "months_in_arrears": f.standing.months_in_arrears,
                    "arrears_idr": f.standing.arrears_idr,
                }
                for f in flags
            ],
            table.c.id,
            table.c.member_id,
            table.c.kind,
            skip_existing=True,
        )
        ids = {(member_id, kind): flag_id for flag_id, member_id, kind in raised}
        texts, visits = [], []
        for f in flags:
            flag_id = ids.get((f.member.member_id, f.kind))
            if flag_id is None:
                continue  # raised by an earlier run
            if f.kind in _NOTICES and f.member.phone:
                amount = f"{f.standing.arrears_idr:,}".replace(",", ".")
                texts.append(
                    {
                        "kind": f"standing_{f.kind}",
                        "recipient": f.member.phone,
                        "body": _NOTICES[f.kind].format(month=f.month, amount=amount) + self._notice_link(f),
                        "dedupe_key": f"standing:{f.kind}:{f.member.member_id}:{f.month}",
                    }
                )
            if f.kind in _VISITS:
                visits.append(
                    {
                        "member_id": f.member.member_id,
                        "branch_id": branch_id,
                        "agent_id": f.member.agent_id,
                        "reason": f"standing_{f.kind}",
                        "source_id": flag_id,
                        "note": f"{f.standing.months_in_arrears} months unpaid since {f.month}"[:200],
                    }
                )
        outbox = _table(OutboxMessage)
        self._insert(outbox, texts, outbox.c.id, skip_existing=True)
        self._insert(_table(VisitItem), visits)
        return len(ids)

    def _remind(self, rows: Sequence[DerivedStanding]) -> int:
        """A reminder a few days before the due date, to members who pay by hand (SQL chose them)."""
        month = self.calendar.remind_month
        if not rows or month is None:
            return 0
        due_on = due_date(month, self.holidays)
        texts = []
        for row in rows:
            amount = f"{self._amount(row.terms, month):,}".replace(",", ".")
            texts.append(
                {
                    "kind": "due_reminder",
                    "recipient": row.phone,
                    "body": f"BPJS Ketenagakerjaan: iuran {month} Rp{amount} jatuh tempo {due_on:%d-%m-%Y}."
                    + self._reminder_link(row, month),
                    "dedupe_key": f"reminder:{row.member_id}:{month}",
                }
            )
        outbox = _table(OutboxMessage)
        return len(self._insert(outbox, texts, outbox.c.id, skip_existing=True))

    def _link_text(self, member_id: int, phone: str | None, first: Month, months: int) -> str:
        """The pay link a text to ``phone`` ends with (collection/members/paylinks.py), or nothing when the run has
        no signer."""
        if self.links is None or months < 1:
            return ""
        return f" Bayar online: {self.links.link(member_id, first, months, self.now, phone=phone)}"

    def _reminder_link(self, row: DerivedStanding, month: Month) -> str:
        """A reminder's link pays the month it names, and the months owed before it (arrears come first)."""
        first = row.oldest_unpaid if row.oldest_unpaid is not None and row.oldest_unpaid < month else month
        return self._link_text(row.member_id, row.phone, first, month - first + 1)

    def _notice_link(self, flag: _Flag) -> str:
        """An arrears notice's link names the months owed; a lapse notice's the month that starts new cover."""
        if flag.kind == "lapsed":
            return self._link_text(flag.member.member_id, flag.member.phone, Month.of(self.calendar.today), 1)
        first = flag.standing.oldest_unpaid or flag.month
        return self._link_text(flag.member.member_id, flag.member.phone, first, flag.standing.months_in_arrears)

    # --- bulk statements: one per table and range on PostgreSQL -------------------------------------------

    def _rows(self, table: Table, rows: Sequence[dict[str, Any]]) -> FromClause:
        """The rows as a derived table ``v``, its columns typed as ``table``'s of the same names. On PostgreSQL,
        one JSON document read by json_to_recordset: a statement over any number of rows is one round trip and
        one plan (and json.dumps is several times cheaper than adapting an array per column). On SQLite
        (embedded, no round trips) a row of parameters, executed once per row (see ``_execute``)."""
        names = list(rows[0])
        if self.postgres:
            document = json.dumps(rows, default=_json_value, separators=(",", ":"))
            records = func.json_to_recordset(cast_(bindparam("v_rows", document, type_=Text), postgresql.JSON))
            return records.table_valued(*(column(name, table.c[name].type) for name in names)).render_derived(
                "v", with_types=True
            )
        return select(*(bindparam(f"v_{name}", type_=table.c[name].type).label(name) for name in names)).subquery("v")

    def _execute(self, statement: Executable, rows: Sequence[dict[str, Any]]) -> None:
        """Run a statement over ``_rows(…, rows)``: once on PostgreSQL (the rows are in it), once per row on SQLite."""
        if self.postgres:
            self.session.execute(statement)
        else:
            self.session.execute(statement, [{f"v_{name}": value for name, value in row.items()} for row in rows])

    def _insert(
        self, table: Table, rows: list[dict[str, Any]], *returning: Any, skip_existing: bool = False
    ) -> list[Any]:
        """Insert rows in bulk (those a unique key already holds skipped, with ``skip_existing``); the inserted
        rows' ``returning`` columns."""
        if not rows:
            return []
        statement: Any
        if self.postgres:
            statement = postgresql.insert(table).from_select(list(rows[0]), select(self._rows(table, rows)))
            statement = statement.on_conflict_do_nothing() if skip_existing else statement
            result = self.session.execute(statement.returning(*returning) if returning else statement)
        else:
            statement = sqlite.insert(table)
            statement = statement.on_conflict_do_nothing() if skip_existing else statement
            result = self.session.execute(statement.returning(*returning) if returning else statement, rows)
        return list(result.all()) if returning else []


def _json_value(value: Any) -> str:
    """Months and dates in the rows' JSON document: as PostgreSQL reads a date (a month is its first day)."""
    if isinstance(value, Month):
        return value.first_day().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")


def branches_at_local_hour(session: DbSession, now: datetime, hour: int) -> list[int]:
    """The branches where it is now ``hour`` o'clock local time (nightly jobs run in each branch's zone)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    instant = now.replace(tzinfo=UTC)
    return [
        b.id
        for b in session.scalars(select(Branch).order_by(Branch.id))
        if instant.astimezone(ZoneInfo(b.timezone)).hour == hour
    ]


def summary(result: ReconcileResult) -> dict[str, Any]:
    return {
        "members": result.members,
        "changed": result.changed,
        "flags": result.flags,
        "reminders": result.reminders,
        "by_status": result.by_status,
    }
