"""The standing reconciliation: re-derive every member's standing from what is settled, per branch and in
chunks, and write what changed: status changes with their dates, flags, notices, visits.

Each chunk costs a fixed number of queries (its members, their current periods, their settled months),
then the pure rule (collection/arrears.py) runs per member. Safe to re-run: the same input gives the
same output, and flags, texts and visits are unique per member, kind and month.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agents.models import Branch
from collection.arrears import MemberStatus, MonthDue, Standing, standing_on
from collection.due_dates import due_date
from collection.models import Member, MembershipPeriod, MemberStatusChange, StandingFlag
from collection.months import Month
from collection.rates import ContributionTerms, Package, Payer, RateError, RateTable, Sector, amount_due
from collection.services import holidays_for, load_rate_table
from core.clock import local_today
from core.outbox import queue_message
from extensions import DbSession
from payments.models import Mandate, PaymentAllocation
from payments.services import add_visit

CHUNK = 1000
REMIND_DAYS_BEFORE_DUE = 3  # members without an active mandate get a reminder this many days before


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
) -> ReconcileResult:
    """Recompute the standing of every member of a branch on its local today; commit chunk by chunk."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValueError(f"there is no branch {branch_id}")
    today = local_today(branch.timezone, now)
    this_month = Month.of(today)
    table = load_rate_table(session)
    holidays = holidays_for(session, branch, date(today.year - 3, 1, 1), date(today.year + 2, 12, 31))
    amounts: dict[tuple[int, str, str, Month], int] = {}
    result = ReconcileResult()
    last_id = 0
    while True:
        members = list(
            session.scalars(
                select(Member)
                .where(Member.branch_id == branch_id, Member.id > last_id)
                .order_by(Member.id)
                .limit(chunk)
            )
        )
        if not members:
            break
        last_id = members[-1].id
        ids = [m.id for m in members]
        periods = _current_periods(session, ids)
        settled = _settled_months(session, ids)
        with_mandate = set(
            session.scalars(select(Mandate.member_id).where(Mandate.member_id.in_(ids), Mandate.status == "active"))
        )
        for member in members:
            period = periods[member.id]
            months = settled.get(member.id, set())
            dues = _dues(member, period, max(this_month, *months) if months else this_month, table, holidays, amounts)
            standing = standing_on(dues, months, today, period.started_on)
            _apply(session, member, period, standing, today, result)
            if member.id not in with_mandate:
                result.reminders += _remind(session, member, dues, months, today)
            status = str(standing.status)
            result.by_status[status] = result.by_status.get(status, 0) + 1
        result.members += len(members)
        session.commit()
        if on_chunk:
            on_chunk(len(members))
    return result


def _current_periods(session: DbSession, ids: list[int]) -> dict[int, MembershipPeriod]:
    periods: dict[int, MembershipPeriod] = {}
    for period in session.scalars(
        select(MembershipPeriod)
        .where(MembershipPeriod.member_id.in_(ids))
        .order_by(MembershipPeriod.started_on, MembershipPeriod.id)
    ):
        periods[period.member_id] = period  # the latest wins
    return periods


def _settled_months(session: DbSession, ids: list[int]) -> dict[int, set[Month]]:
    settled: dict[int, set[Month]] = {}
    rows = session.execute(
        select(PaymentAllocation.member_id, PaymentAllocation.month).where(
            PaymentAllocation.member_id.in_(ids),
            ~PaymentAllocation.reversed,  # NOT reversed: the partial index's own predicate
        )
    )
    for member_id, month in rows:
        settled.setdefault(member_id, set()).add(month)
    return settled


def _dues(
    member: Member,
    period: MembershipPeriod,
    last: Month,
    table: RateTable,
    holidays: set[date],
    amounts: dict[tuple[int, str, str, Month], int],
) -> list[MonthDue]:
    """The period's months with their amounts (shared across members on the same terms) and due dates."""
    dues = []
    for month in period.first_month.until(last):
        key = (member.bracket, member.package, member.sector, month)
        if key not in amounts:
            terms = ContributionTerms(member.bracket, Package(member.package), Sector(member.sector), Payer.SELF)
            try:
                amounts[key] = amount_due(table, terms, month).total_idr
            except RateError:
                amounts[key] = 0
        if amounts[key] > 0:
            dues.append(MonthDue(month, amounts[key], due_date(month, holidays)))
    return dues


def _apply(
    session: DbSession,
    member: Member,
    period: MembershipPeriod,
    standing: Standing,
    today: date,
    result: ReconcileResult,
) -> None:
    """Write a change of standing: the status change, its flag, the member's text, the agent's visit."""
    member.paid_through = standing.paid_through
    if standing.status == member.status:
        if standing.status == MemberStatus.IN_ARREARS and standing.months_in_arrears >= 3:
            result.flags += _flag(session, member, "arrears_3", standing, today)
        return
    result.changed += 1
    changed_on = standing.lapsed_on or today
    session.add(
        MemberStatusChange(
            member_id=member.id,
            from_status=member.status,
            to_status=standing.status,
            changed_on=changed_on,
            cause="reconciliation",
        )
    )
    previous, member.status = member.status, standing.status
    if standing.status == MemberStatus.IN_ARREARS:
        result.flags += _flag(session, member, "arrears_1", standing, today)
        if standing.months_in_arrears >= 3:
            result.flags += _flag(session, member, "arrears_3", standing, today)
    elif standing.status == MemberStatus.LAPSED:
        period.ended_on = standing.lapsed_on
        period.end_cause = "more than 3 consecutive unpaid months"
        result.flags += _flag(session, member, "lapsed", standing, today)
    elif previous != MemberStatus.ACTIVE:
        month = standing.paid_through or Month.of(today)
        result.flags += _flag(session, member, "resolved", standing, today, month)


_NOTICES = {
    "arrears_1": "BPJS Ketenagakerjaan: iuran {month} belum dibayar (tunggakan Rp{amount}). "
    "Bayar lewat agen Perisai agar perlindungan tetap aktif.",
    "arrears_3": "BPJS Ketenagakerjaan: tunggakan iuran Anda sudah 3 bulan (Rp{amount}). Bayar sebelum jatuh "
    "tempo berikutnya; lewat dari itu kepesertaan berakhir.",
    "lapsed": "BPJS Ketenagakerjaan: kepesertaan Anda berakhir karena iuran tidak dibayar lebih dari 3 bulan. "
    "Bayar iuran bulan ini lewat agen Perisai untuk perlindungan baru.",
}


def _flag(
    session: DbSession, member: Member, kind: str, standing: Standing, today: date, month: Month | None = None
) -> int:
    """Raise a flag once per member, kind and month, with its text and (for arrears) the agent's visit."""
    month = month or standing.oldest_unpaid or Month.of(today)
    flag = StandingFlag(
        member_id=member.id,
        branch_id=member.branch_id,
        kind=kind,
        month=month,
        raised_on=today,
        months_in_arrears=standing.months_in_arrears,
        arrears_idr=standing.arrears_idr,
    )
    try:
        with session.begin_nested():
            session.add(flag)
    except IntegrityError:
        return 0  # raised by an earlier run
    if kind in _NOTICES:
        amount = f"{standing.arrears_idr:,}".replace(",", ".")
        queue_message(
            session,
            f"standing_{kind}",
            member.phone,
            _NOTICES[kind].format(month=month, amount=amount),
            dedupe_key=f"standing:{kind}:{member.id}:{month}",
        )
    if kind in ("arrears_1", "lapsed"):
        add_visit(
            session, member, f"standing_{kind}", flag.id, f"{standing.months_in_arrears} months unpaid since {month}"
        )
    return 1


def _remind(session: DbSession, member: Member, dues: Iterable[MonthDue], settled: set[Month], today: date) -> int:
    """A reminder a few days before a due date, to a member who pays by hand (no active mandate)."""
    for due in dues:
        if due.month in settled:
            continue
        if due.due_on - timedelta(days=REMIND_DAYS_BEFORE_DUE) == today:
            amount = f"{due.amount_idr:,}".replace(",", ".")
            queued = queue_message(
                session,
                "due_reminder",
                member.phone,
                f"BPJS Ketenagakerjaan: iuran {due.month} Rp{amount} jatuh tempo {due.due_on:%d-%m-%Y}.",
                dedupe_key=f"reminder:{member.id}:{due.month}",
            )
            return int(queued)
    return 0


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
