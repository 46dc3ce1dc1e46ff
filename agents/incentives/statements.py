"""Monthly incentive statements from the ledger: the pure rule (agents/incentives/rules.py) fed with what happened.

For a branch and a calendar month, each agent's statement is computed from:

- **enrolments**: members the agent enrolled that month. iuran keeps one member per NIK for the whole
  network, so a member enrolled is a NIK never registered here before; a NIK registered with BPJS outside
  iuran cannot be seen and counts as new.
- **collected lines**: every month of every cash payment the agent took. A line is *eligible* on the later
  of two days: the day his deposits covered its cash (oldest cash first, payments/ledger/cash.py) and the day
  finance approved its daily batch (payments/finance/batches.py). Its contribution month number is its place among
  the member's settled months.

Once finance approves a month for the branch, each statement and its lines are stored and never change:
a line paid in an approved month is never paid again, a line whose eligible day falls in a month already
approved is paid in the first month still open, and a later reversal claws back what the stored line
earned. A negative month is carried into the next one; the Wadah gets its share of its agents' payable
amounts. Months are approved in order, so carried amounts always come from an approved month.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import func, select

from agents.incentives.models import IncentiveLine, IncentiveStatement
from agents.incentives.rules import (
    AgentStatement,
    CollectedLine,
    Enrolment,
    IncentiveRules,
    LineKind,
    Reason,
    StatementLine,
    WadahStatement,
    agent_statement,
    facts_from_json,
    facts_json,
    wadah_statement,
)
from collection.members.models import Member, PaymentAllocation
from collection.members.rates import Package
from core import audit
from core.clock import local_today
from core.errors import Conflict, Forbidden, NotFound
from core.extensions import DbSession
from core.i18n import day_label, month_label
from core.months import Month
from organisation.models import Agent, Branch, Role, StaffUser, Wadah
from payments.finance.models import StatementLine as BankLine
from payments.ledger.models import BatchStatus, Channel, DailyBatch, Deposit, Payment, PaymentStatus
from payments.ledger.services import CASH_ORDER, cash_covered_on

RULES = IncentiveRules()  # Perdir 13/2022; change the figures in agents/incentives/rules.py, in one place
SELF_PAID = (Channel.VIRTUAL_ACCOUNT, Channel.QRIS)  # the member paid himself (payments/selfpay)


@dataclass
class BranchMonth:
    """Every agent's statement of a branch for a month, the Wadahs' shares, and whether finance approved it."""

    branch_id: int
    month: Month
    approved: bool
    agents: list[tuple[Agent, AgentStatement]]
    wadahs: list[tuple[Wadah, WadahStatement]]
    approved_by: str | None = None
    approved_at: datetime | None = None


def _branch(session: DbSession, actor: StaffUser, branch_id: int) -> Branch:
    if actor.role not in (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(gettext("Incentive statements are for branch finance and supervisors; agents see their own."))
    branch = session.get(Branch, branch_id)
    if branch is None or (actor.role != Role.ADMIN and actor.branch_id != branch_id):
        raise NotFound(gettext("There is no branch %(branch)s among yours.", branch=branch_id))
    return branch


def last_approved_month(session: DbSession, branch_id: int) -> Month | None:
    return session.scalar(
        select(func.max(IncentiveStatement.month)).where(
            IncentiveStatement.branch_id == branch_id, IncentiveStatement.holder_kind == "agent"
        )
    )


def branch_month(session: DbSession, actor: StaffUser, branch_id: int, month: Month, now: datetime) -> BranchMonth:
    """The statements of a month: as approved, or computed now as a draft."""
    branch = _branch(session, actor, branch_id)
    return _branch_month(session, branch, month, now)


def _branch_month(session: DbSession, branch: Branch, month: Month, now: datetime) -> BranchMonth:
    agents = list(session.scalars(select(Agent).where(Agent.branch_id == branch.id).order_by(Agent.code)))
    stored = {
        (s.holder_kind, s.holder_id): s
        for s in session.scalars(
            select(IncentiveStatement).where(
                IncentiveStatement.branch_id == branch.id, IncentiveStatement.month == month
            )
        )
    }
    if stored:
        return _approved(session, branch, month, agents, stored)
    last = last_approved_month(session, branch.id)
    statements = [(agent, _draft(session, branch, agent, month, last)) for agent in agents]
    return BranchMonth(branch.id, month, False, statements, _wadahs(session, month, statements))


def _wadahs(
    session: DbSession, month: Month, statements: list[tuple[Agent, AgentStatement]]
) -> list[tuple[Wadah, WadahStatement]]:
    by_wadah: dict[int, list[AgentStatement]] = defaultdict(list)
    for agent, statement in statements:
        by_wadah[agent.wadah_id].append(statement)
    result = []
    for wadah_id in sorted(by_wadah):
        wadah = session.get(Wadah, wadah_id)
        assert wadah is not None
        result.append((wadah, wadah_statement(wadah_id, month, by_wadah[wadah_id], RULES)))
    return result


def _draft(
    session: DbSession, branch: Branch, agent: Agent, month: Month, last_approved: Month | None
) -> AgentStatement:
    """The agent's statement as of now (each collected line with its contribution month number)."""
    carried = 0
    if last_approved is not None and last_approved == month - 1:
        carried = int(
            session.scalar(
                select(IncentiveStatement.carried_out_idr).where(
                    IncentiveStatement.holder_kind == "agent",
                    IncentiveStatement.holder_id == agent.id,
                    IncentiveStatement.month == last_approved,
                )
            )
            or 0
        )
    lines = collected_lines(session, branch, agent, month, last_approved, RULES)
    return agent_statement(
        agent.id, month, _enrolments(session, agent, month), lines, carried_in_idr=carried, rules=RULES
    )


def _enrolments(session: DbSession, agent: Agent, month: Month) -> list[Enrolment]:
    rows = session.execute(
        select(Member.id, Member.package, Member.enrolled_on).where(
            Member.enrolled_by_agent_id == agent.id,
            Member.enrolled_on.between(month.first_day(), month.last_day()),
        )
    )
    return [Enrolment(member_id, agent.id, Package(package), on, nik_new=True) for member_id, package, on in rows]


def collected_lines(
    session: DbSession,
    branch: Branch,
    agent: Agent,
    month: Month,
    last_approved: Month | None,
    rules: IncentiveRules = RULES,
) -> list[CollectedLine]:
    """The agent's cash lines that matter to ``month``: earning, clawed back, or pending in it; with the rules'
    ``self_paid_collection_fee``, also the months his members paid themselves (VA, QRIS)."""
    zone = ZoneInfo(branch.timezone)
    collected = (Payment.agent_id == agent.id) & (Payment.channel == Channel.CASH)
    if rules.self_paid_collection_fee:
        served = select(Member.id).where(Member.agent_id == agent.id)
        collected = collected | (Payment.channel.in_(SELF_PAID) & Payment.member_id.in_(served))
    payments = list(
        session.scalars(select(Payment).where(collected, Payment.paid_on <= month.last_day()).order_by(*CASH_ORDER))
    )
    if not payments:
        return []
    cash = [p for p in payments if p.channel == Channel.CASH]
    covered = cash_covered_on(session, agent.id, [p for p in cash if p.status == PaymentStatus.SETTLED])
    reconciled = _deposits_reconciled_on(session, agent.id, zone)
    approved = {
        day: decided.replace(tzinfo=UTC).astimezone(zone).date()
        for day, decided in session.execute(
            select(DailyBatch.business_date, DailyBatch.decided_at).where(
                DailyBatch.agent_id == agent.id, DailyBatch.status == BatchStatus.APPROVED
            )
        )
        if decided is not None
    }
    paid_in: dict[tuple[int | None, Month | None], tuple[Month, int | None]] = {
        (payment_id, contribution_month): (statement_month, number)
        for payment_id, contribution_month, statement_month, number in session.execute(
            select(
                IncentiveLine.payment_id,
                IncentiveLine.contribution_month,
                IncentiveStatement.month,
                IncentiveLine.month_number,
            )
            .join(IncentiveStatement, IncentiveStatement.id == IncentiveLine.statement_id)
            .where(
                IncentiveStatement.holder_kind == "agent",
                IncentiveStatement.holder_id == agent.id,
                IncentiveLine.kind == LineKind.COLLECTION,
            )
        )
    }
    by_payment = {p.id: p for p in payments}
    allocations = list(
        session.execute(
            select(
                PaymentAllocation.payment_id,
                PaymentAllocation.member_id,
                PaymentAllocation.month,
                PaymentAllocation.amount_idr,
            ).where(PaymentAllocation.payment_id.in_(list(by_payment)))
        )
    )
    numbers = _month_numbers(session, {member_id for _, member_id, _, _ in allocations})
    first_open = (last_approved + 1) if last_approved is not None else None
    lines = []
    for payment_id, member_id, contribution_month, amount in allocations:
        payment = by_payment[payment_id]
        reversed_on = payment.reversed_at.replace(tzinfo=UTC).astimezone(zone).date() if payment.reversed_at else None
        if reversed_on is not None and reversed_on < payment.paid_on:
            reversed_on = payment.paid_on
        number = _number(numbers.get(member_id, []), contribution_month)
        earned = paid_in.get((payment_id, contribution_month))
        if earned is not None:
            # Paid in an approved month: it keeps that month and the place it had, so a clawback takes
            # back exactly what it earned.
            eligible: date | None = max(payment.paid_on, earned[0].first_day())
            number = earned[1] or number
        elif payment.status != PaymentStatus.SETTLED:
            eligible = None  # reversed before any approved statement paid it: it never earned
        elif payment.channel in SELF_PAID:
            eligible = payment.paid_on  # no cash to deposit: the provider holds the money from the day it was paid
            if first_open is not None and Month.of(eligible) < first_open:
                eligible = max(payment.paid_on, first_open.first_day())  # its month was approved without it
        else:
            deposit = covered.get(payment.id)
            eligible = _eligible_on(
                payment, reconciled.get(deposit[0]) if deposit else None, approved.get(payment.paid_on)
            )
            if eligible is not None and first_open is not None and Month.of(eligible) < first_open:
                eligible = max(payment.paid_on, first_open.first_day())  # its month was approved without it
        line = CollectedLine(
            payment_id=payment_id,
            member_id=member_id,
            agent_id=agent.id,
            month=contribution_month,
            month_number=number,
            amount_idr=amount,
            collected_on=payment.paid_on,
            eligible_on=eligible,
            reversed_on=reversed_on,
        )
        if line.earned_in == month or line.clawed_back_in == month or line.pending_at_end_of(month):
            lines.append(line)
    return lines


def _eligible_on(payment: Payment, reconciled_on: date | None, approved_on: date | None) -> date | None:
    """Eligible once the deposit that covered its cash is reconciled and finance approved its day's batch."""
    if reconciled_on is None or approved_on is None:
        return None
    return max(reconciled_on, approved_on, payment.paid_on)


def _deposits_reconciled_on(session: DbSession, agent_id: int, zone: ZoneInfo) -> dict[int, date]:
    """The day each of the agent's deposits was reconciled: matched to a bank credit, or accepted by
    finance when it approved the deposit's own day (with a note on what the bank showed)."""
    matched: dict[int, date] = {
        deposit_id: at.replace(tzinfo=UTC).astimezone(zone).date()
        for deposit_id, at in session.execute(
            select(BankLine.deposit_id, BankLine.matched_at)
            .join(Deposit, Deposit.id == BankLine.deposit_id)
            .where(Deposit.agent_id == agent_id)
        )
        if at is not None and deposit_id is not None
    }
    accepted = {
        deposit_id: decided.replace(tzinfo=UTC).astimezone(zone).date()
        for deposit_id, decided in session.execute(
            select(Deposit.id, DailyBatch.decided_at)
            .join(
                DailyBatch,
                (DailyBatch.agent_id == Deposit.agent_id) & (DailyBatch.business_date == Deposit.deposited_on),
            )
            .where(Deposit.agent_id == agent_id, DailyBatch.status == BatchStatus.APPROVED)
        )
        if decided is not None
    }
    return {d: min(day for day in (matched.get(d), accepted.get(d)) if day) for d in matched.keys() | accepted.keys()}


def _month_numbers(session: DbSession, member_ids: set[int]) -> dict[int, list[Month]]:
    months: dict[int, list[Month]] = defaultdict(list)
    if not member_ids:
        return months
    for member_id, month in session.execute(
        select(PaymentAllocation.member_id, PaymentAllocation.month)
        .where(PaymentAllocation.member_id.in_(list(member_ids)), ~PaymentAllocation.reversed)
        .order_by(PaymentAllocation.month)
    ):
        months[member_id].append(month)
    return months


def _number(settled: list[Month], month: Month) -> int:
    """The month's place among the member's settled months (a reversed month keeps the place it had)."""
    return sum(1 for m in settled if m < month) + 1


def _approved(
    session: DbSession,
    branch: Branch,
    month: Month,
    agents: list[Agent],
    stored: dict[tuple[str, int], IncentiveStatement],
) -> BranchMonth:
    statements = []
    approver = None
    approved_at = None
    lines_of: dict[int, list[StatementLine]] = defaultdict(list)
    for line in session.scalars(  # every agent's lines in one query
        select(IncentiveLine)
        .where(IncentiveLine.statement_id.in_([row.id for row in stored.values()]))
        .order_by(IncentiveLine.id)
    ):
        lines_of[line.statement_id].append(
            StatementLine(
                LineKind(line.kind),
                line.member_id,
                line.payment_id,
                line.contribution_month,
                line.base_idr,
                line.rate_bp,
                line.month_number,
                line.amount_idr,
                Reason(line.reason),
                facts_from_json(json.loads(line.facts)),
            )
        )
    for agent in agents:
        row = stored.get(("agent", agent.id))
        if row is None:
            continue  # an agent added after the month was approved
        lines = tuple(lines_of[row.id])
        summary = json.loads(row.summary)
        statements.append(
            (agent, AgentStatement(agent.id, month, lines, (), summary["new_nik_count"], summary["threshold_met"]))
        )
        approver, approved_at = row.approved_by_user_id, row.approved_at
    wadahs = []
    for (kind, holder_id), row in sorted(stored.items()):
        if kind != "wadah":
            continue
        wadah = session.get(Wadah, holder_id)
        assert wadah is not None
        summary = json.loads(row.summary)
        totals = {int(k): v for k, v in summary["agent_totals"].items()}
        wadahs.append(
            (
                wadah,
                WadahStatement(
                    holder_id,
                    month,
                    totals,
                    summary["base_idr"],
                    row.total_idr,
                    summary["rate_bp"],
                    summary.get("carrying_agents", 0),
                ),
            )
        )
    user = session.get(StaffUser, approver) if approver else None
    return BranchMonth(branch.id, month, True, statements, wadahs, user.full_name if user else None, approved_at)


def approve_month(session: DbSession, actor: StaffUser, branch_id: int, month: Month, now: datetime) -> BranchMonth:
    """Finance makes a month final for the branch: every statement and line is stored, in month order."""
    if actor.role not in (Role.BRANCH_FINANCE, Role.ADMIN):
        raise Forbidden(gettext("Only branch finance approves incentive statements."))
    branch = _branch(session, actor, branch_id)
    session.execute(select(Branch.id).where(Branch.id == branch.id).with_for_update())  # one approval at a time
    today = local_today(branch.timezone, now)
    if month >= Month.of(today):
        raise Conflict(
            gettext(
                "%(month)s has not ended yet: approve it from %(day)s on.",
                month=month_label(month),
                day=day_label(month.last_day() + timedelta(days=1)),
            )
        )
    last = last_approved_month(session, branch.id)
    if last is not None and month <= last:
        existing = _branch_month(session, branch, month, now)
        if existing.approved:
            return existing  # approving again is a retry
    if last is not None and month < last:
        raise Conflict(
            gettext(
                "%(month)s comes before %(last)s, the branch's first approved months: its lines were paid in the "
                "first month open after it.",
                month=month_label(month),
                last=month_label(last),
            )
        )
    if last is not None and month != last + 1:
        raise Conflict(
            gettext(
                "Approve %(month)s first: months are approved in order, so carried amounts are final.",
                month=month_label(last + 1),
            )
        )
    draft = _branch_month(session, branch, month, now)
    for agent, statement in draft.agents:
        row = IncentiveStatement(
            holder_kind="agent",
            holder_id=agent.id,
            branch_id=branch.id,
            month=month,
            total_idr=statement.total_idr,
            payable_idr=statement.payable_idr,
            carried_out_idr=statement.carried_out_idr,
            summary=json.dumps(_agent_summary(statement)),
            approved_by_user_id=actor.id,
            approved_at=now,
        )
        session.add(row)
        session.flush()
        session.add_all(
            IncentiveLine(
                statement_id=row.id,
                kind=line.kind.value,
                member_id=line.member_id,
                payment_id=line.payment_id,
                contribution_month=line.contribution_month,
                month_number=line.month_number,
                base_idr=line.base_idr,
                rate_bp=line.rate_bp,
                amount_idr=line.amount_idr,
                reason=line.reason.value,
                facts=json.dumps(facts_json(line.facts)),
            )
            for line in statement.lines
        )
    for wadah, share in draft.wadahs:
        session.add(
            IncentiveStatement(
                holder_kind="wadah",
                holder_id=wadah.id,
                branch_id=branch.id,
                month=month,
                total_idr=share.share_idr,
                payable_idr=share.share_idr,
                carried_out_idr=0,
                summary=json.dumps(
                    {
                        "agent_totals": {str(k): v for k, v in share.agent_totals.items()},
                        "base_idr": share.base_idr,
                        "rate_bp": share.rate_bp,
                        "carrying_agents": share.carrying_agents,
                    }
                ),
                approved_by_user_id=actor.id,
                approved_at=now,
            )
        )
    audit.record(
        session,
        "incentives.approved",
        "branch",
        branch.id,
        actor.id,
        month=str(month),
        payable_idr=sum(s.payable_idr for _, s in draft.agents) + sum(w.share_idr for _, w in draft.wadahs),
    )
    session.commit()
    return _branch_month(session, branch, month, now)


def _agent_summary(statement: AgentStatement) -> dict[str, Any]:
    return {
        "new_nik_count": statement.new_nik_count,
        "threshold_met": statement.threshold_met,
        "acquisition_idr": statement.acquisition_idr,
        "collection_idr": statement.collection_idr,
        "clawback_idr": statement.clawback_idr,
        "carried_in_idr": statement.carried_in_idr,
        "pending_idr": statement.pending_idr,
    }


def own_statement(session: DbSession, actor: StaffUser, month: Month, now: datetime) -> AgentStatement:
    """An agent's own statement for a month (approved, or the draft so far)."""
    agent = session.scalar(select(Agent).where(Agent.user_id == actor.id))
    if agent is None:
        raise Forbidden(gettext("Only an agent has an incentive statement of his own."))
    branch = session.get(Branch, agent.branch_id)
    assert branch is not None
    stored = {
        (s.holder_kind, s.holder_id): s
        for s in session.scalars(
            select(IncentiveStatement).where(
                IncentiveStatement.holder_kind == "agent",
                IncentiveStatement.holder_id == agent.id,
                IncentiveStatement.month == month,
            )
        )
    }
    if stored:
        return _approved(session, branch, month, [agent], stored).agents[0][1]
    return _draft(session, branch, agent, month, last_approved_month(session, branch.id))
