"""The figures that steer a branch: arrears by ageing bucket, collections per day and per month by channel,
coverage by regency against the branch's targets, and the agent scorecard.

Ageing, collections and coverage are a handful of grouped queries, whatever the branch's size, so the
pages stay fast at a branch of 100,000 members; the scorecard costs two queries per agent.

Ageing reads the standing the reconciliation keeps on each member (``status``, ``paid_through``,
``first_month``): a member in arrears owes every month from the one after his paid run (or his period's
first month) through the last month whose due date has passed. Members are counted in the bucket of the
months they owe: 1, 2, 3 (the last month they can still pay back), and lapsed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from babel.numbers import format_decimal
from flask_babel import gettext
from sqlalchemy import func, select

from collection.members.arrears import MemberStatus
from collection.members.due_dates import due_date
from collection.members.models import Member, MemberStatusChange
from collection.members.services import holidays_for
from core import audit
from core.errors import DomainError
from core.extensions import DbSession
from core.i18n import language
from core.months import Month
from core.regions import region_name
from organisation.models import Agent, Branch
from payments.finance.models import RegencyTarget
from payments.ledger.models import BatchStatus, Channel, DailyBatch, Payment, PaymentStatus
from payments.ledger.services import CASH_ORDER, cash_covered_on

AGEING_BUCKETS = ("1 month", "2 months", "3 months", "lapsed")
MAX_TARGET = 10**9  # regency_targets.target_population: far above any regency's workforce


@dataclass(frozen=True)
class AgeingRow:
    bucket: str
    members: int


@dataclass(frozen=True)
class Ageing:
    on: date
    active: int
    rows: tuple[AgeingRow, ...]

    @property
    def in_arrears(self) -> int:
        return sum(r.members for r in self.rows if r.bucket != "lapsed")


def last_due_month(branch_holidays: set[date], today: date) -> Month:
    """The latest month whose contribution is overdue today (its due date has passed)."""
    month = Month.of(today)
    return month if due_date(month, branch_holidays) < today else month - 1


def arrears_ageing(session: DbSession, branch: Branch, today: date) -> Ageing:
    """How many members owe 1, 2 or 3 months, and how many lapsed, from the reconciliation's standing."""
    holidays = holidays_for(session, branch, today - timedelta(days=62), today)
    last_due = last_due_month(holidays, today)
    counts = {bucket: 0 for bucket in AGEING_BUCKETS}
    active = 0
    rows = session.execute(
        select(Member.status, Member.paid_through, Member.first_month, func.count())
        .where(Member.branch_id == branch.id)
        .group_by(Member.status, Member.paid_through, Member.first_month)
    )
    for status, paid_through, first_month, count in rows:
        bucket = ageing_bucket(status, paid_through, first_month, last_due)
        if bucket is None:
            active += count
        else:
            counts[bucket] += count
    return Ageing(today, active, tuple(AgeingRow(b, counts[b]) for b in AGEING_BUCKETS))


def ageing_bucket(status: str, paid_through: Month | None, first_month: Month, last_due: Month) -> str | None:
    """A member's ageing bucket from his reconciled standing (None: active, in no bucket)."""
    if status == MemberStatus.LAPSED:
        return "lapsed"
    if status != MemberStatus.IN_ARREARS:
        return None
    oldest = paid_through + 1 if paid_through else first_month
    return AGEING_BUCKETS[max(1, min(3, last_due - oldest + 1)) - 1]


@dataclass(frozen=True)
class ChannelTotals:
    """Settled contributions by channel over some span (a day, a month)."""

    cash_idr: int = 0
    auto_debit_idr: int = 0
    sponsor_idr: int = 0
    bank_transfer_idr: int = 0
    virtual_account_idr: int = 0  # a member paid himself (payments/selfpay)
    qris_idr: int = 0  # a member paid himself (payments/selfpay)
    payments: int = 0

    @property
    def total_idr(self) -> int:
        return (
            self.cash_idr
            + self.auto_debit_idr
            + self.sponsor_idr
            + self.bank_transfer_idr
            + self.virtual_account_idr
            + self.qris_idr
        )

    @classmethod
    def sum_of(cls, parts: Sequence[ChannelTotals], **span: Any) -> Any:
        """The totals of several spans, as ``cls`` with its own span fields (``month=…``)."""
        return cls(
            cash_idr=sum(p.cash_idr for p in parts),
            auto_debit_idr=sum(p.auto_debit_idr for p in parts),
            sponsor_idr=sum(p.sponsor_idr for p in parts),
            bank_transfer_idr=sum(p.bank_transfer_idr for p in parts),
            virtual_account_idr=sum(p.virtual_account_idr for p in parts),
            qris_idr=sum(p.qris_idr for p in parts),
            payments=sum(p.payments for p in parts),
            **span,
        )


@dataclass(frozen=True, kw_only=True)
class CollectionDay(ChannelTotals):
    day: date


def collections_per_day(session: DbSession, branch: Branch, first: date, last: date) -> list[CollectionDay]:
    """Settled contributions of the branch's members per day and channel, every day of the range listed."""
    rows = session.execute(
        select(Payment.paid_on, Payment.channel, func.sum(Payment.amount_idr), func.count())
        .join(Member, Member.id == Payment.member_id)
        .where(
            Member.branch_id == branch.id,
            Payment.status == PaymentStatus.SETTLED,
            Payment.channel != Channel.IMPORTED,  # history from the national system, not money collected
            Payment.paid_on.between(first, last),
        )
        .group_by(Payment.paid_on, Payment.channel)
    )
    by_day: dict[date, dict[str, int]] = {}
    for day, channel, amount, count in rows:
        totals = by_day.setdefault(day, {"payments": 0})
        totals[channel] = int(amount)
        totals["payments"] += int(count)
    days = []
    day = first
    while day <= last:
        totals = by_day.get(day, {})
        days.append(
            CollectionDay(
                day=day,
                cash_idr=totals.get(Channel.CASH, 0),
                auto_debit_idr=totals.get(Channel.AUTO_DEBIT, 0),
                sponsor_idr=totals.get(Channel.SPONSOR, 0),
                bank_transfer_idr=totals.get(Channel.BANK_TRANSFER, 0),
                virtual_account_idr=totals.get(Channel.VIRTUAL_ACCOUNT, 0),
                qris_idr=totals.get(Channel.QRIS, 0),
                payments=totals.get("payments", 0),
            )
        )
        day += timedelta(days=1)
    return days


# Reports that steer a branch (issue #6): coverage, collections by channel, the agent scorecard.


@dataclass(frozen=True)
class CoverageRow:
    regency_code: str
    regency_name: str
    active_members: int
    target_population: int | None
    source: str | None

    @property
    def coverage_percent(self) -> float | None:
        """Active members as a share of the target, one decimal; None without a target."""
        if not self.target_population:
            return None
        return round(100 * self.active_members / self.target_population, 1)


def coverage_by_regency(session: DbSession, branch: Branch, year: int) -> list[CoverageRow]:
    """Active members per regency or city (of their NIK) beside the target population the branch entered.

    Coverage counts members whose standing is active: protected today. Members in arrears may still pay
    back, but domain.md §3's default covers only paid months, so they are not counted as covered."""
    regency = func.substr(Member.district_code, 1, 4)
    active: dict[str, int] = dict(
        session.execute(
            select(regency, func.count())
            .where(Member.branch_id == branch.id, Member.status == MemberStatus.ACTIVE)
            .group_by(regency)
        ).all()
    )
    targets = {
        t.regency_code: t
        for t in session.scalars(
            select(RegencyTarget).where(RegencyTarget.branch_id == branch.id, RegencyTarget.year == year)
        )
    }
    codes = sorted(set(active) | set(targets))
    return [
        CoverageRow(
            code,
            region_name(code) or code,
            int(active.get(code, 0)),
            targets[code].target_population if code in targets else None,
            targets[code].source if code in targets else None,
        )
        for code in codes
    ]


def set_targets(
    session: DbSession, branch: Branch, year: int, rows: list[dict[str, Any]], actor_id: int
) -> list[RegencyTarget]:
    """Enter or replace the branch's target populations for a year (one row per regency); all or nothing."""
    errors: dict[str, dict[str, list[str]]] = {}
    for index, row in enumerate(rows):
        code = str(row.get("regency_code", ""))
        if len(code) != 4 or region_name(code) is None:
            errors.setdefault(str(index), {})["regency_code"] = [
                gettext(
                    "'%(code)s' is not a known regency or city code (4 digits, e.g. 1903 Bangka Selatan).", code=code
                )
            ]
        elif not code.startswith(branch.province_code):
            errors.setdefault(str(index), {})["regency_code"] = [
                gettext(
                    "%(code)s (%(name)s) is outside the branch's province %(province)s.",
                    code=code,
                    name=region_name(code),
                    province=branch.province_code,
                )
            ]
        target = row.get("target_population")
        if not isinstance(target, int) or isinstance(target, bool) or not 0 < target <= MAX_TARGET:
            errors.setdefault(str(index), {})["target_population"] = [
                gettext(
                    "The informal workers to cover: a whole number from 1 to %(max)s.",
                    max=format_decimal(MAX_TARGET, locale=language()),
                )
            ]
    codes = [str(r.get("regency_code")) for r in rows]
    for index, code in enumerate(codes):
        if code in codes[:index]:
            errors.setdefault(str(index), {})["regency_code"] = [
                gettext("%(code)s is given twice: once per year.", code=code)
            ]
    if errors:
        raise DomainError(gettext("Correct the target rows; nothing was saved."), errors={"json": {"targets": errors}})
    existing = {
        t.regency_code: t
        for t in session.scalars(
            select(RegencyTarget).where(RegencyTarget.branch_id == branch.id, RegencyTarget.year == year)
        )
    }
    saved = []
    for row in rows:
        code = str(row["regency_code"])
        target = existing.get(code) or RegencyTarget(branch_id=branch.id, regency_code=code, year=year)
        target.target_population = row["target_population"]
        target.source = (row.get("source") or "")[:200] or None
        target.updated_by_user_id = actor_id
        session.add(target)
        saved.append(target)
    audit.record(session, "coverage.targets_set", "branch", branch.id, actor_id, year=year, regencies=len(rows))
    session.commit()
    return saved


@dataclass(frozen=True, kw_only=True)
class ChannelMonth(ChannelTotals):
    month: Month


def collections_by_channel(session: DbSession, branch: Branch, first: Month, last: Month) -> list[ChannelMonth]:
    """Settled contributions per calendar month (of the day paid) and channel, every month of the range."""
    days = collections_per_day(session, branch, first.first_day(), last.last_day())
    months: dict[Month, list[CollectionDay]] = {}
    for day in days:
        months.setdefault(Month.of(day.day), []).append(day)
    return [ChannelMonth.sum_of(months.get(month, []), month=month) for month in first.until(last)]


@dataclass(frozen=True)
class ScorecardRow:
    agent_id: int
    agent_code: str
    agent_name: str
    status: str
    members_enrolled: int
    collected_idr: int
    payments: int
    average_deposit_delay_days: float | None  # from the day cash was taken to the day deposits covered it
    undeposited_idr: int  # of the period's cash, not yet covered by a deposit
    batches_approved: int
    batches_returned: int
    variance_idr: int  # in the approved batches of the period, as finance approved them
    members_lapsed: int  # of the members he enrolled, lapsed in the period


def agent_scorecard(session: DbSession, branch: Branch, first: date, last: date) -> list[ScorecardRow]:
    """Each agent of the branch over a period: what he enrolled and collected, how fast his cash reached the
    bank, what finance found in his batches, and how many of his members lapsed."""
    agents = list(session.scalars(select(Agent).where(Agent.branch_id == branch.id).order_by(Agent.code)))
    enrolled = dict(
        session.execute(
            select(Member.enrolled_by_agent_id, func.count())
            .where(Member.branch_id == branch.id, Member.enrolled_on.between(first, last))
            .group_by(Member.enrolled_by_agent_id)
        ).all()
    )
    lapsed = dict(
        session.execute(
            select(Member.enrolled_by_agent_id, func.count(func.distinct(MemberStatusChange.member_id)))
            .join(Member, Member.id == MemberStatusChange.member_id)
            .where(
                Member.branch_id == branch.id,
                MemberStatusChange.to_status == MemberStatus.LAPSED,
                MemberStatusChange.changed_on.between(first, last),
            )
            .group_by(Member.enrolled_by_agent_id)
        ).all()
    )
    batches: dict[int, list[DailyBatch]] = {}
    for batch in session.scalars(
        select(DailyBatch).where(DailyBatch.branch_id == branch.id, DailyBatch.business_date.between(first, last))
    ):
        batches.setdefault(batch.agent_id, []).append(batch)
    rows = []
    for agent in agents:
        settled = list(
            session.scalars(
                select(Payment)
                .where(
                    Payment.agent_id == agent.id,
                    Payment.channel == Channel.CASH,
                    Payment.status == PaymentStatus.SETTLED,
                    Payment.paid_on <= last,
                )
                .order_by(*CASH_ORDER)
            )
        )
        covered = cash_covered_on(session, agent.id, settled)
        in_period = [p for p in settled if p.paid_on >= first]
        delays = [(covered[p.id][1] - p.paid_on).days for p in in_period if p.id in covered]
        own = batches.get(agent.id, [])
        approved = [b for b in own if b.status == BatchStatus.APPROVED]
        rows.append(
            ScorecardRow(
                agent_id=agent.id,
                agent_code=agent.code,
                agent_name=agent.user.full_name,
                status=agent.status,
                members_enrolled=int(enrolled.get(agent.id, 0)),
                collected_idr=sum(p.amount_idr for p in in_period),
                payments=len(in_period),
                average_deposit_delay_days=round(sum(max(0, d) for d in delays) / len(delays), 1) if delays else None,
                undeposited_idr=sum(p.amount_idr for p in in_period if p.id not in covered),
                batches_approved=len(approved),
                batches_returned=sum(1 for b in own if b.status == BatchStatus.RETURNED),
                variance_idr=sum(_snapshot_variance(b) for b in approved),
                members_lapsed=int(lapsed.get(agent.id, 0)),
            )
        )
    return rows


def _snapshot_variance(batch: DailyBatch) -> int:
    if not batch.approved_snapshot:
        return 0
    return sum(v["amount_idr"] for v in json.loads(batch.approved_snapshot).get("variances", []))
