"""A sponsor's bulk payment (issue #6): one payment covers every member's months in a programme, with one receipt
for the sponsor and, as its breakdown, one ``sponsor`` payment per member with an allocation per month.

What a payment for months ``first``..``last`` (default: all the programme's months) takes, member by member:

- the months of the range within his coverage (from the month he joined the programme) that are not settled yet,
  and not before his current protection period began;
- at the sponsor's rate: bracket 1 of the programme's package, payer BUDGET for a government (no PP 50/2025
  discount) or DONOR (discounted like anyone) — the same amount for every member-month of a sector;
- a member whose period lapsed before his coverage began (an old lapse): the months after the month he lapsed in,
  opening a new protection period from the first of them (as any payment after a lapse does, domain.md §3);
- a member who lapsed because the sponsor paid late (the run of unpaid months that lapsed him starts inside his
  coverage): nothing. Those months belong to a period that has ended and are not payable (domain.md §3), unless
  a supervisor makes the payment a **branch arrangement** (``branch_arrangement=True``). That payment also settles
  those members' unpaid coverage months in the range, reopens their ended period (``ended_on`` and ``end_cause``
  cleared: the protection is continuous, as if the sponsor had paid on time), re-derives their standing from the
  settled months, and records the status change with its cause, naming the sponsor payment's receipt.

Whether a member has lapsed is derived here from his settled months (collection/members/arrears.py), not taken from the
cached status, so the rule holds even before the nightly reconciliation has run. The payment is refused with a
409 naming the figures if it would take the programme past its budget. The Idempotency-Key makes a retry return
the first payment. Everything is written with multi-row inserts and set-based updates.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from flask_babel import gettext
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from collection.members.arrears import LAPSE_AFTER_MONTHS, MemberStatus, MonthDue, Standing, standing_on
from collection.members.due_dates import due_date
from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.rates import ContributionTerms, Package, Payer, RateError, RateTable, Sector, amount_due
from collection.members.services import holidays_for, load_rate_table
from collection.sponsors.models import ProgrammeMember, Sponsor, SponsorPayment, SponsorProgramme
from collection.sponsors.programmes import SPONSORED_BRACKET, budget_used, payer_of, programme_for, sponsored_terms
from core import audit
from core.bulk import insert_rows, reserve_ids
from core.clock import local_today
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.months import Month
from organisation.models import Branch, Role, StaffUser
from payments.ledger.models import Channel, Payment, PaymentStatus
from payments.ledger.receipts import new_verification_code
from payments.ledger.services import fingerprint

CHUNK = 5000
T = TypeVar("T")
ARRANGEMENT_ROLES = (Role.SUPERVISOR, Role.ADMIN)
PAYING_ROLES = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)


def sponsor_receipt_number(branch_code: str, issued_on: date, sponsor_payment_id: int) -> str:
    """``PKP-SP202609-000012``: apart from members' receipts (``PKP-202609-00001234``) at a glance."""
    return f"{branch_code}-SP{issued_on:%Y%m}-{sponsor_payment_id:06d}"


@dataclass
class _Member:
    """What the plan needs of one programme member (one row of one query)."""

    member_id: int
    covered_from: Month
    status: str
    bracket: int
    package: str
    sector: str
    paid_through: Month | None
    period_id: int
    period_first: Month
    started_on: date
    ended_on: date | None


@dataclass
class _Line:
    """One member's part of the payment."""

    member: _Member
    months: list[Month]
    kind: str  # open | new_period | restore
    lapsed_on: date | None = None
    amounts: list[int] = field(default_factory=list)  # the sponsor's rate for each of ``months``


@dataclass
class Plan:
    lines: list[_Line] = field(default_factory=list)
    awaiting_arrangement: int = 0  # lapsed because the sponsor paid late: only a branch arrangement pays them
    other_terms: int = 0  # members whose bracket or package is no longer the programme's: left out
    amount_idr: int = 0
    member_months: int = 0


@dataclass(frozen=True)
class SponsorPaymentView:
    """A sponsor payment as the API shows it."""

    payment: SponsorPayment
    programme_code: str
    sponsor_name: str
    awaiting_arrangement: int | None = None  # told when it is made; not stored
    restored: int | None = None
    new_periods: int | None = None


class _Calendar:
    """Amounts and due dates, worked out once per terms and month, and dues lists shared by members alike."""

    def __init__(self, table: RateTable, holidays: set[date]) -> None:
        self.table = table
        self.holidays = holidays
        self._amounts: dict[tuple[ContributionTerms, Month], int] = {}
        self._due: dict[Month, date] = {}
        self._dues: dict[tuple[int, str, str, Month, Month], list[MonthDue]] = {}

    def amount(self, terms: ContributionTerms, month: Month) -> int:
        key = (terms, month)
        if key not in self._amounts:
            try:
                self._amounts[key] = amount_due(self.table, terms, month).total_idr
            except RateError:
                self._amounts[key] = 0
        return self._amounts[key]

    def due_on(self, month: Month) -> date:
        if month not in self._due:
            self._due[month] = due_date(month, self.holidays)
        return self._due[month]

    def dues(self, member: _Member, first: Month, last: Month) -> list[MonthDue]:
        """The member's own dues (he pays himself outside the programme) from ``first`` to ``last``; months that
        cost nothing are left out, as the reconciliation leaves them out."""
        key = (member.bracket, member.package, member.sector, first, last)
        if key not in self._dues:
            terms = ContributionTerms(member.bracket, Package(member.package), Sector(member.sector), Payer.SELF)
            self._dues[key] = [
                MonthDue(m, self.amount(terms, m), self.due_on(m))
                for m in first.until(last)
                if self.amount(terms, m) > 0
            ]
        return self._dues[key]

    def standing(self, member: _Member, first: Month, started_on: date, settled: set[Month], today: date) -> Standing:
        last = max(Month.of(today), first, *settled) if settled else max(Month.of(today), first)
        own = {m for m in settled if m >= first}
        return standing_on(self.dues(member, first, last), own, today, started_on)


def plan_payment(
    session: DbSession,
    programme: SponsorProgramme,
    branch: Branch,
    first: Month,
    last: Month,
    today: date,
    branch_arrangement: bool,
) -> tuple[Plan, _Calendar, dict[int, set[Month]]]:
    """Who gets which months (see the module's docstring), from two queries over the programme's members."""
    # Each member's latest period, as one grouped derived table (a correlated max() per row is quadratic when
    # the planner has no statistics yet, as right after a large import).
    latest = (
        select(MembershipPeriod.member_id, func.max(MembershipPeriod.id).label("period_id"))
        .join(ProgrammeMember, ProgrammeMember.member_id == MembershipPeriod.member_id)
        .where(ProgrammeMember.programme_id == programme.id)
        .group_by(MembershipPeriod.member_id)
        .subquery()
    )
    rows = session.execute(
        select(
            ProgrammeMember.member_id,
            ProgrammeMember.first_month,
            Member.status,
            Member.bracket,
            Member.package,
            Member.sector,
            Member.paid_through,
            MembershipPeriod.id,
            MembershipPeriod.first_month,
            MembershipPeriod.started_on,
            MembershipPeriod.ended_on,
        )
        .join(Member, Member.id == ProgrammeMember.member_id)
        .join(latest, latest.c.member_id == Member.id)
        .join(MembershipPeriod, MembershipPeriod.id == latest.c.period_id)
        .where(ProgrammeMember.programme_id == programme.id)
        .order_by(ProgrammeMember.member_id)
    ).all()
    members = [_Member(*row) for row in rows]
    settled: dict[int, set[Month]] = defaultdict(set)
    for member_id, month in session.execute(
        select(PaymentAllocation.member_id, PaymentAllocation.month)
        .join(
            ProgrammeMember,
            and_(
                ProgrammeMember.member_id == PaymentAllocation.member_id, ProgrammeMember.programme_id == programme.id
            ),
        )
        .where(~PaymentAllocation.reversed)  # NOT reversed: the partial index's own predicate
    ):
        settled[member_id].add(month)
    earliest = min([first, *(m.period_first for m in members)])
    latest_month = max(last, Month.of(today)) + 1
    calendar = _Calendar(
        load_rate_table(session), holidays_for(session, branch, earliest.first_day(), latest_month.last_day())
    )
    plan = Plan()
    for member in members:
        if (member.package, member.bracket) != (programme.package, SPONSORED_BRACKET):
            plan.other_terms += 1  # his terms changed since he joined: the sponsor's rate would not settle them
            continue
        own = settled.get(member.member_id, set())
        start = max(first, member.covered_from)
        unpaid = [m for m in start.until(last) if m not in own] if start <= last else []
        if not unpaid:
            continue
        before = calendar.standing(member, member.period_first, member.started_on, own, today)
        lapsed_on = member.ended_on or before.lapsed_on
        if lapsed_on is None:
            months = [m for m in unpaid if m >= member.period_first]
            kind = "open"
        elif before.oldest_unpaid is not None and before.oldest_unpaid >= member.covered_from:
            if not branch_arrangement:
                plan.awaiting_arrangement += 1
                continue
            months = [m for m in unpaid if m >= member.period_first]
            kind = "restore"
        else:
            months = [m for m in unpaid if m > Month.of(lapsed_on)]
            kind = "new_period"
        if months:
            plan.lines.append(_Line(member, months, kind, lapsed_on))
    return plan, calendar, settled


def pay_programme(
    session: DbSession,
    actor: StaffUser,
    programme_id: int,
    *,
    first: Month | None,
    last: Month | None,
    paid_on: date | None,
    bank_reference: str | None,
    branch_arrangement: bool,
    idempotency_key: str,
    now: datetime,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> tuple[SponsorPaymentView, bool]:
    """Record a sponsor's bulk payment for a programme's months; returns it and whether it is new (a retry with the
    same key and content returns the first; other content with the same key is a 409). ``randbelow`` draws the
    receipt's verification code: the OS's CSPRNG, or a seeded source for the demo data."""
    if actor.role not in PAYING_ROLES:
        raise Forbidden(gettext("A sponsor payment is recorded by branch finance, a supervisor or an admin."))
    if branch_arrangement and actor.role not in ARRANGEMENT_ROLES:
        raise Forbidden(gettext("Only a supervisor makes a branch arrangement for months a sponsor paid late."))
    programme = programme_for(session, actor, programme_id, lock=True)  # one payment at a time per programme
    digest = fingerprint(
        programme=programme.id,
        first=str(first) if first else None,
        last=str(last) if last else None,
        paid_on=paid_on,
        bank_reference=bank_reference,
        branch_arrangement=branch_arrangement,
    )
    existing = session.scalar(select(SponsorPayment).where(SponsorPayment.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.request_fingerprint != digest:
            raise Conflict(
                gettext(
                    "This Idempotency-Key was already used for a different request: make a new key for a new payment."
                ),
                reason="idempotency_key_reused",
            )
        return describe(session, existing), False
    branch = session.get(Branch, programme.branch_id)
    sponsor = session.get(Sponsor, programme.sponsor_id)
    assert branch is not None and sponsor is not None
    today = local_today(branch.timezone, now)
    paid_on = paid_on or today
    if paid_on > today:
        raise field_error(
            "paid_on",
            gettext("paid_on %(day)s is in the future: use the day the sponsor's money arrived.", day=paid_on),
        )
    first = first or programme.first_month
    last = last or programme.last_month
    if not programme.first_month <= first <= programme.last_month:
        raise field_error(
            "first_month",
            gettext(
                "%(month)s is outside the programme (%(first)s to %(last)s).",
                month=str(first),
                first=str(programme.first_month),
                last=str(programme.last_month),
            ),
        )
    if not programme.first_month <= last <= programme.last_month:
        raise field_error(
            "last_month",
            gettext(
                "%(month)s is outside the programme (%(first)s to %(last)s).",
                month=str(last),
                first=str(programme.first_month),
                last=str(programme.last_month),
            ),
        )
    if last < first:
        raise field_error(
            "last_month",
            gettext(
                "last_month %(last)s is before first_month %(first)s: give the months in order.",
                last=str(last),
                first=str(first),
            ),
        )

    plan, calendar, settled = plan_payment(session, programme, branch, first, last, today, branch_arrangement)
    payer = payer_of(sponsor.kind)
    rates: dict[tuple[str, Month], int] = {}
    for line in plan.lines:
        for month in line.months:
            key = (line.member.sector, month)
            if key not in rates:
                rates[key] = calendar.amount(sponsored_terms(programme, line.member.sector, payer), month)
                if rates[key] <= 0:
                    raise field_error(
                        "first_month",
                        gettext(
                            "The rate table has no contribution for %(month)s: nothing to charge.", month=str(month)
                        ),
                    )
            line.amounts.append(rates[key])
        plan.amount_idr += sum(line.amounts)
        plan.member_months += len(line.months)
    if not plan.lines:
        waiting = (
            " "
            + gettext(
                "%(n)s member(s) lapsed because these months were paid late: a supervisor pays them as a branch "
                "arrangement (branch_arrangement: true).",
                n=plan.awaiting_arrangement,
            )
            if plan.awaiting_arrangement
            else ""
        )
        if plan.other_terms:
            waiting += " " + gettext(
                "%(n)s member(s) are no longer on bracket %(bracket)s of %(package)s: the sponsor's rate would not "
                "settle their months.",
                n=plan.other_terms,
                bracket=SPONSORED_BRACKET,
                package=programme.package,
            )
        raise Conflict(
            gettext(
                "Nothing to pay for %(first)s to %(last)s: every member's months are settled already.",
                first=str(first),
                last=str(last),
            )
            + waiting,
            reason="nothing_due",
            awaiting_arrangement=plan.awaiting_arrangement,
        )
    used = budget_used(session, programme.id)
    if used + plan.amount_idr > programme.budget_idr:
        raise Conflict(
            gettext(
                "This payment (%(amount)s for %(member_months)s member-months of %(members)s members) would take "
                "programme %(code)s past its budget: %(budget)s budgeted, %(used)s paid already, %(left)s left, over "
                "by %(over)s. Raise the budget (APBD Perubahan) or pay fewer months.",
                amount=_idr(plan.amount_idr),
                member_months=plan.member_months,
                members=len(plan.lines),
                code=programme.code,
                budget=_idr(programme.budget_idr),
                used=_idr(used),
                left=_idr(programme.budget_idr - used),
                over=_idr(used + plan.amount_idr - programme.budget_idr),
            ),
            reason="over_budget",
            budget_idr=programme.budget_idr,
            budget_used_idr=used,
            payment_idr=plan.amount_idr,
        )

    record = SponsorPayment(
        programme_id=programme.id,
        amount_idr=plan.amount_idr,
        members=len(plan.lines),
        member_months=plan.member_months,
        first_month=first,
        last_month=last,
        paid_on=paid_on,
        bank_reference=(bank_reference or "").strip()[:64] or None,
        receipt_number="pending",
        verification_code=new_verification_code(randbelow),
        branch_arrangement=branch_arrangement,
        idempotency_key=idempotency_key,
        request_fingerprint=digest,
        recorded_by_user_id=actor.id,
        recorded_at=now,
    )
    session.add(record)
    try:
        session.flush()
        record.receipt_number = sponsor_receipt_number(branch.code, today, record.id)
        _write_breakdown(session, record, plan, actor.id, now)
        restored, new_periods = _write_standings(session, record, plan, calendar, settled, today, now)
        session.flush()
    except IntegrityError:
        # A twin with the same key, or a member's month paid meanwhile by another channel: the unique keys held.
        session.rollback()
        twin = session.scalar(select(SponsorPayment).where(SponsorPayment.idempotency_key == idempotency_key))
        if twin is not None and twin.request_fingerprint == digest:
            return describe(session, twin), False
        raise Conflict(
            gettext(
                "A member's month was paid by someone else while this payment was being recorded: send it again "
                "(with a new Idempotency-Key); the months paid meanwhile are left out."
            ),
            reason="paid_meanwhile",
        ) from None
    audit.record(
        session,
        "sponsor_payment.recorded",
        "sponsor_payment",
        record.id,
        actor.id,
        programme=programme.code,
        amount_idr=plan.amount_idr,
        members=len(plan.lines),
        member_months=plan.member_months,
        receipt=record.receipt_number,
        branch_arrangement=branch_arrangement,
        restored=restored,
        new_periods=new_periods,
    )
    session.commit()
    view = SponsorPaymentView(record, programme.code, sponsor.name, plan.awaiting_arrangement, restored, new_periods)
    return view, True


def _write_breakdown(session: DbSession, record: SponsorPayment, plan: Plan, actor_id: int, now: datetime) -> None:
    """One ``sponsor`` payment per member and one allocation per month, inserted many rows at a time."""
    ids = reserve_ids(session, "payments", len(plan.lines))
    for lines, chunk_ids in zip(_chunks(plan.lines), _chunks(ids), strict=True):
        payments, allocations = [], []
        for payment_id, line in zip(chunk_ids, lines, strict=True):
            amounts = line.amounts
            payments.append(
                {
                    "id": payment_id,
                    "member_id": line.member.member_id,
                    "channel": Channel.SPONSOR.value,
                    "amount_idr": sum(amounts),
                    "credit_idr": 0,
                    "paid_on": record.paid_on,
                    "status": PaymentStatus.SETTLED.value,
                    "agent_id": None,
                    "recorded_by_user_id": actor_id,
                    "idempotency_key": None,
                    "request_fingerprint": None,
                    "recorded_at": now,
                    "sponsor_payment_id": record.id,
                }
            )
            allocations += [
                {
                    "payment_id": payment_id,
                    "member_id": line.member.member_id,
                    "month": month,
                    "amount_idr": amount,
                    "reversed": False,
                }
                for month, amount in zip(line.months, amounts, strict=True)
            ]
        insert_rows(session, Payment, payments)
        insert_rows(session, PaymentAllocation, allocations)


def _write_standings(
    session: DbSession,
    record: SponsorPayment,
    plan: Plan,
    calendar: _Calendar,
    settled: dict[int, set[Month]],
    today: date,
    now: datetime,
) -> tuple[int, int]:
    """Re-derive each paid member's standing; open new periods after old lapses, reopen the periods a late sponsor
    ended (branch arrangement); write what changed, grouped into a few set-based updates. Returns (restored,
    new periods)."""
    changes: list[dict[str, Any]] = []
    updates: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    restore_periods: list[int] = []
    close_periods: list[tuple[int, date]] = []
    new_periods: list[dict[str, Any]] = []
    for line in plan.lines:
        member = line.member
        own = settled.get(member.member_id, set()) | set(line.months)
        if line.kind == "new_period":
            first, started_on = line.months[0], today
            if member.ended_on is None:
                close_periods.append((member.period_id, line.lapsed_on or today))
            new_periods.append(
                {"member_id": member.member_id, "started_on": today, "first_month": first, "ended_on": None}
            )
            cause = f"sponsor payment {record.receipt_number} starts a new protection period from {first}"
            from_status = MemberStatus.LAPSED.value
        else:
            first, started_on = member.period_first, member.started_on
            if line.kind == "restore":
                restore_periods.append(member.period_id)
                cause = (
                    f"branch arrangement: sponsor payment {record.receipt_number} settled the months the sponsor "
                    "paid late; the protection period is restored"
                )
                from_status = MemberStatus.LAPSED.value
            else:
                cause = f"sponsor payment {record.receipt_number}"
                from_status = member.status
        after = calendar.standing(member, first, started_on, own, today)
        status = after.status.value
        if status != from_status or line.kind != "open":
            changes.append(
                {
                    "member_id": member.member_id,
                    "from_status": from_status,
                    "to_status": status,
                    "changed_on": today,
                    "cause": cause[:200],
                    "recorded_at": now,
                }
            )
        if line.kind == "new_period":
            key: tuple[Any, ...] = (status, after.paid_through, first, today)
        else:
            key = (status, after.paid_through)
        if line.kind != "open" or status != member.status or after.paid_through != member.paid_through:
            updates[key].append(member.member_id)
    for period_id, ended_on in close_periods:
        session.execute(
            update(MembershipPeriod)
            .where(MembershipPeriod.id == period_id)
            .values(ended_on=ended_on, end_cause=f"more than {LAPSE_AFTER_MONTHS} consecutive unpaid months")
        )
    for ids in _chunks(restore_periods):
        session.execute(
            update(MembershipPeriod).where(MembershipPeriod.id.in_(ids)).values(ended_on=None, end_cause=None)
        )
    for chunk in _chunks(new_periods):
        session.execute(insert(MembershipPeriod), chunk)
    for key, member_ids in updates.items():
        values: dict[str, Any] = {"status": key[0], "paid_through": key[1], "updated_at": now}
        if len(key) == 4:
            values |= {"first_month": key[2], "period_started_on": key[3]}
        for ids in _chunks(member_ids):
            session.execute(update(Member).where(Member.id.in_(ids)).values(**values))
    for chunk in _chunks(changes):
        session.execute(insert(MemberStatusChange), chunk)
    return len(restore_periods), len(new_periods)


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- reading ----------------------------------------------------------------------------------------------------


def describe(session: DbSession, record: SponsorPayment) -> SponsorPaymentView:
    programme = session.get(SponsorProgramme, record.programme_id)
    assert programme is not None
    sponsor = session.get(Sponsor, programme.sponsor_id)
    assert sponsor is not None
    return SponsorPaymentView(record, programme.code, sponsor.name)


def sponsor_payment_for(session: DbSession, actor: StaffUser, sponsor_payment_id: int) -> SponsorPayment:
    """A sponsor payment of a programme the caller may see; another branch's is a 404."""
    record = session.get(SponsorPayment, sponsor_payment_id)
    if record is None:
        raise NotFound(gettext("There is no sponsor payment %(id)s.", id=sponsor_payment_id))

    programme_for(session, actor, record.programme_id)
    return record


def list_sponsor_payments(session: DbSession, actor: StaffUser, programme_id: int) -> list[SponsorPaymentView]:
    """A programme's sponsor payments, oldest first."""
    programme = programme_for(session, actor, programme_id)
    sponsor = session.get(Sponsor, programme.sponsor_id)
    assert sponsor is not None
    records = session.scalars(
        select(SponsorPayment).where(SponsorPayment.programme_id == programme.id).order_by(SponsorPayment.id)
    )
    return [SponsorPaymentView(r, programme.code, sponsor.name) for r in records]


def breakdown(session: DbSession, record: SponsorPayment, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """One page of a sponsor payment's per-member breakdown (by name): each member's amount and months."""
    total = session.scalar(select(func.count()).where(Payment.sponsor_payment_id == record.id)) or 0
    rows = session.execute(
        select(Payment, Member.nik, Member.kpj, Member.name)
        .join(Member, Member.id == Payment.member_id)
        .where(Payment.sponsor_payment_id == record.id)
        .order_by(Member.name, Member.id)
        .offset(min(offset, 10**7))
        .limit(limit)
    ).all()
    months: dict[int, list[tuple[Month, int]]] = defaultdict(list)
    if rows:
        for payment_id, month, amount in session.execute(
            select(PaymentAllocation.payment_id, PaymentAllocation.month, PaymentAllocation.amount_idr)
            .where(PaymentAllocation.payment_id.in_([row.Payment.id for row in rows]))
            .order_by(PaymentAllocation.month)
        ):
            months[payment_id].append((month, amount))
    page = [
        {
            "payment_id": row.Payment.id,
            "member_id": row.Payment.member_id,
            "nik": row.nik,
            "kpj": row.kpj,
            "name": row.name,
            "amount_idr": row.Payment.amount_idr,
            "status": row.Payment.status,
            "months": [{"month": m, "amount_idr": a} for m, a in months[row.Payment.id]],
        }
        for row in rows
    ]
    return page, int(total)


def _idr(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")
