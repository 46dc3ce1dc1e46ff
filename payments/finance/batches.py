"""Branch finance's daily batches: each agent's day, from the cash he collected to what the bank shows of it.

A batch is one agent's business day (the branch's local date). Its figures, while finance has not
approved it, are computed from the ledger as it is now:

- **collected**: the agent's cash contributions paid that day and not reversed;
- **held at start / at end**: the cash he held before the day, and after it (start + collected − deposited);
- **deposited**: the deposits (setoran) he declared that day, each with the bank credit matched to it;
- **banked**: what those credits amount to;
- **undeposited**: the part of this day's cash not yet covered by any deposit, oldest cash first (the
  same rule as the agent's cash limit, payments/ledger/cash.py), due by the branch's deposit deadline.

Variances, each with its cause: a **missing deposit** (this day's cash still held after the deadline), a
deposit **not in the bank** (no credit on a statement that covers its day), a deposit **short** or
**over** in the bank. Things that cannot be judged yet (cash before its deadline, a deposit whose day no
imported statement covers) are *pending*, not variances: a batch with anything pending cannot be
approved. Finance approves a batch (with a note when it has variances) or returns it to the agent with a
reason. Approval writes the figures it was given on into the batch and locks the day: the agent can no
longer record cash or deposits dated that day, and the approved figures never change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError

from collection.members.models import Member
from collection.members.services import holidays_for
from core import audit
from core.clock import local_today
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.i18n import day_label
from core.outbox import queue_message
from organisation.models import Agent, Branch, Role, StaffUser
from payments.finance.bank import branch_for
from payments.finance.models import StatementImport, StatementImportStatus, StatementLine
from payments.finance.texts import pending_text
from payments.ledger.cash import deposit_deadline
from payments.ledger.days import lock_agent
from payments.ledger.models import BatchStatus, Channel, DailyBatch, Deposit, Payment, PaymentStatus, Receipt

DAY_END_HOUR = 21  # local time: the hour at which each branch's day is closed into batches
MAX_NOTE = 300  # daily_batches.decision_note
CLOSE_LOOKBACK_DAYS = 31  # cash may be back-dated 30 days (payments/ledger/services.py MAX_BACKDATE_DAYS)


@dataclass(frozen=True)
class Variance:
    """A variance and the figures of its cause (worded by payments/finance/texts.py ``variance_cause``)."""

    kind: str  # missing_deposit, not_in_bank, short_in_bank, over_in_bank
    amount_idr: int
    reference: str | None = None  # the deposit's bank reference (all but missing_deposit)
    declared_idr: int | None = None  # what the agent declared (short_in_bank, over_in_bank)
    banked_idr: int | None = None  # what the bank credited (short_in_bank, over_in_bank)
    collected_on: date | None = None  # missing_deposit: the day of the cash
    due_by: date | None = None  # missing_deposit: its deposit deadline
    deposit_id: int | None = None  # the deposit (all but missing_deposit): short_in_bank offers its correction


@dataclass(frozen=True)
class Pending:
    """What cannot be judged yet, as a code and its figures (worded by texts.py ``pending_text``)."""

    code: str  # cash_due (this day's cash before its deadline), no_statement (no statement covers the day yet)
    amount_idr: int
    reference: str | None = None  # no_statement: the deposit's bank reference
    day: date | None = None  # no_statement: the day no statement covers
    due_by: date | None = None  # cash_due: the deposit deadline


@dataclass(frozen=True)
class DepositFigure:
    id: int
    amount_idr: int
    bank_reference: str
    banked_idr: int
    statement_line_id: int | None
    match_kind: str | None
    declared_idr: int | None = None  # what the agent declared, when finance corrected it (corrections.py)


@dataclass
class BatchFigures:
    agent_id: int
    agent_code: str
    agent_name: str
    business_date: date
    contributions: int = 0
    collected_idr: int = 0
    reversed_idr: int = 0  # cash of this day reversed since (not in collected)
    held_at_start_idr: int = 0
    held_at_end_idr: int = 0
    deposits: list[DepositFigure] = field(default_factory=list)
    deposited_idr: int = 0
    banked_idr: int = 0
    undeposited_idr: int = 0
    deposit_due_by: date | None = None
    variances: list[Variance] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)

    @property
    def variance_idr(self) -> int:
        return sum(v.amount_idr for v in self.variances)


@dataclass
class BatchView:
    """A batch as finance sees it: its status, and its figures (frozen once approved)."""

    id: int | None  # None while the day is still open
    branch_id: int
    status: str  # open, closed, returned, approved
    figures: BatchFigures
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    answer_note: str | None = None  # the agent's answer to a returned day (payments/finance/answers.py)
    answered_at: datetime | None = None


def _cash(agent_id: int) -> tuple[Any, ...]:
    return (Payment.agent_id == agent_id, Payment.channel == Channel.CASH)


def batch_figures(session: DbSession, branch: Branch, agent: Agent, day: date, today: date) -> BatchFigures:
    """The live figures of an agent's day (a fixed number of queries)."""
    settled = Payment.status == PaymentStatus.SETTLED
    on_day = Payment.paid_on == day
    before = Payment.paid_on < day
    row = session.execute(
        select(
            func.coalesce(func.sum(case((and_(settled, on_day), Payment.amount_idr))), 0),
            func.count(case((and_(settled, on_day), Payment.id))),
            func.coalesce(func.sum(case((and_(~settled, on_day), Payment.amount_idr))), 0),
            func.coalesce(func.sum(case((and_(settled, before), Payment.amount_idr))), 0),
        ).where(*_cash(agent.id))
    ).one()
    collected, count, reversed_, collected_before = (int(v) for v in row)
    deposits_before, deposits_all = (
        int(v)
        for v in session.execute(
            select(
                func.coalesce(func.sum(case((Deposit.deposited_on < day, Deposit.amount_idr))), 0),
                func.coalesce(func.sum(Deposit.amount_idr), 0),
            ).where(Deposit.agent_id == agent.id)
        ).one()
    )
    figures = BatchFigures(agent.id, agent.code, agent.user.full_name, day, count, collected, reversed_)
    figures.held_at_start_idr = max(0, collected_before - deposits_before)
    for deposit, line in session.execute(
        select(Deposit, StatementLine)
        .outerjoin(StatementLine, StatementLine.deposit_id == Deposit.id)
        .where(Deposit.agent_id == agent.id, Deposit.deposited_on == day)
        .order_by(Deposit.id)
    ):
        figures.deposits.append(
            DepositFigure(
                deposit.id,
                deposit.amount_idr,
                deposit.bank_reference,
                line.amount_idr if line else 0,
                line.id if line else None,
                line.match_kind if line else None,
                deposit.declared_idr,
            )
        )
    figures.deposited_idr = sum(d.amount_idr for d in figures.deposits)
    figures.banked_idr = sum(d.banked_idr for d in figures.deposits)
    # Unclamped arithmetic: a deposit of cash whose payment was reversed later stays in the bank and covers
    # the agent's next cash (the usual case: the payment is recorded again for the right member).
    figures.held_at_end_idr = max(0, collected_before + collected - deposits_before - figures.deposited_idr)
    # Oldest cash first: this day's cash is covered once deposits exceed everything collected before it.
    figures.undeposited_idr = min(collected, max(0, collected_before + collected - deposits_all))
    if collected:
        holidays = holidays_for(session, branch, day, day + timedelta(days=40))
        figures.deposit_due_by = deposit_deadline(day, branch.deposit_deadline_working_days, holidays)
    _judge(session, branch, figures, today)
    return figures


def _judge(session: DbSession, branch: Branch, figures: BatchFigures, today: date) -> None:
    """List the variances with the figures of their causes, and what cannot be judged yet."""
    if figures.undeposited_idr:
        due = figures.deposit_due_by
        if due is not None and today > due:
            figures.variances.append(
                Variance("missing_deposit", figures.undeposited_idr, collected_on=figures.business_date, due_by=due)
            )
        else:
            figures.pending.append(Pending("cash_due", figures.undeposited_idr, due_by=due))
    covered = _statement_covers(session, branch.id, figures.business_date) if figures.deposits else False
    for deposit in figures.deposits:
        reference, declared, banked = deposit.bank_reference, deposit.amount_idr, deposit.banked_idr
        if deposit.statement_line_id is None:
            if covered:
                figures.variances.append(Variance("not_in_bank", declared, reference, declared, deposit_id=deposit.id))
            else:
                figures.pending.append(Pending("no_statement", declared, reference, day=figures.business_date))
        elif banked < declared:
            figures.variances.append(
                Variance("short_in_bank", declared - banked, reference, declared, banked, deposit_id=deposit.id)
            )
        elif banked > declared:
            figures.variances.append(
                Variance("over_in_bank", banked - declared, reference, declared, banked, deposit_id=deposit.id)
            )


def _statement_covers(session: DbSession, branch_id: int, day: date) -> bool:
    """Whether an imported statement runs past ``day`` (a deposit made that day is booked by then). Only a
    finished import counts: while a worker is still storing or matching a large one, its deposits are pending."""
    return (
        session.scalar(
            select(func.count()).where(
                StatementImport.branch_id == branch_id,
                StatementImport.status == StatementImportStatus.DONE,
                StatementImport.first_booked_on <= day,
                StatementImport.last_booked_on > day,
            )
        )
        or 0
    ) > 0


def active_agents(session: DbSession, branch_id: int, day: date) -> list[Agent]:
    """The branch's agents who recorded cash or declared a deposit on ``day``."""
    with_cash = select(Payment.agent_id).where(Payment.channel == Channel.CASH, Payment.paid_on == day)
    with_deposit = select(Deposit.agent_id).where(Deposit.deposited_on == day)
    return list(
        session.scalars(
            select(Agent)
            .where(Agent.branch_id == branch_id, or_(Agent.id.in_(with_cash), Agent.id.in_(with_deposit)))
            .order_by(Agent.code)
        )
    )


def close_day(session: DbSession, branch_id: int, day: date, now: datetime) -> int:
    """At the branch's day end: a batch for every agent active that day. Re-running creates nothing twice."""
    existing = set(session.scalars(select(DailyBatch.agent_id).where(DailyBatch.business_date == day)))
    created = 0
    for agent in active_agents(session, branch_id, day):
        if agent.id in existing:
            continue
        try:
            with session.begin_nested():
                session.add(
                    DailyBatch(branch_id=branch_id, agent_id=agent.id, business_date=day, closed_at=now, updated_at=now)
                )
        except IntegrityError:
            continue  # closed by a concurrent run
        created += 1
    session.commit()
    return created


def close_due_days(session: DbSession, branch_id: int, now: datetime) -> int:
    """Close the branch's local today (run at its day end) and any earlier day still without a batch: a
    missed run, or cash recorded late with an earlier date (an offline form)."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise ValueError(f"there is no branch {branch_id}")
    today = local_today(branch.timezone, now)
    created = 0
    for back in range(CLOSE_LOOKBACK_DAYS, -1, -1):
        created += close_day(session, branch_id, today - timedelta(days=back), now)
    return created


def _view(
    session: DbSession, branch: Branch, agent: Agent, batch: DailyBatch | None, day: date, today: date
) -> BatchView:
    if batch is not None and batch.status == BatchStatus.APPROVED and batch.approved_snapshot:
        figures = figures_from_json(batch.approved_snapshot)
    else:
        figures = batch_figures(session, branch, agent, day, today)
    view = BatchView(batch.id if batch else None, branch.id, batch.status if batch else "open", figures)
    if batch is not None and batch.decided_by_user_id:
        decider = session.get(StaffUser, batch.decided_by_user_id)
        view.decided_by = decider.full_name if decider else None
        view.decided_at = batch.decided_at
        view.decision_note = batch.decision_note
    if batch is not None and batch.answer_note:
        view.answer_note, view.answered_at = batch.answer_note, batch.answered_at
    return view


def branch_day(
    session: DbSession, actor: StaffUser, branch_id: int, day: date | None, now: datetime
) -> list[BatchView]:
    """Every agent's batch of a day (today by default), closed or still open, with figures and variances."""
    return branch_day_page(session, actor, branch_id, day, now, 0, None)[0]


def branch_day_page(
    session: DbSession,
    actor: StaffUser,
    branch_id: int,
    day: date | None,
    now: datetime,
    offset: int,
    limit: int | None,
) -> tuple[list[BatchView], int]:
    """One page of a day's batches by agent code (``limit`` None: all of them) and how many agents the day has;
    only the page's batches have their figures worked out."""
    branch = branch_for(session, actor, branch_id)
    today = local_today(branch.timezone, now)
    day = day or today
    batches = {
        b.agent_id: b
        for b in session.scalars(
            select(DailyBatch).where(DailyBatch.branch_id == branch.id, DailyBatch.business_date == day)
        )
    }
    agents = {a.id: a for a in active_agents(session, branch.id, day)}
    for agent_id in batches.keys() - agents.keys():
        agent = session.get(Agent, agent_id)
        assert agent is not None
        agents[agent_id] = agent
    ordered = sorted(agents, key=lambda i: agents[i].code)
    page = ordered[offset:] if limit is None else ordered[offset : offset + limit]
    return [_view(session, branch, agents[i], batches.get(i), day, today) for i in page], len(ordered)


def get_batch(
    session: DbSession, actor: StaffUser, batch_id: int, now: datetime, lock: bool = False
) -> tuple[DailyBatch, BatchView]:
    query = select(DailyBatch).where(DailyBatch.id == batch_id)
    if lock:
        query = query.with_for_update()
    batch = session.scalar(query)
    if batch is None:
        raise NotFound(gettext("There is no batch %(id)s.", id=batch_id))
    branch = branch_for(session, actor, batch.branch_id)
    agent = session.get(Agent, batch.agent_id)
    assert agent is not None
    return batch, _view(session, branch, agent, batch, batch.business_date, local_today(branch.timezone, now))


def batch_contributions(session: DbSession, batch: BatchView) -> list[dict[str, Any]]:
    """The cash contributions of the batch's day, with their receipts, for the detail page and its CSV."""
    figures = batch.figures
    rows = session.execute(
        select(Payment, Receipt.number, Member.name, Member.kpj)
        .join(Member, Member.id == Payment.member_id)
        .outerjoin(Receipt, Receipt.payment_id == Payment.id)
        .where(*_cash(figures.agent_id), Payment.paid_on == figures.business_date)
        .order_by(Payment.paid_on, Payment.recorded_at, Payment.id)
    )
    return [
        {
            "payment_id": p.id,
            "receipt": number,
            "member": name,
            "kpj": kpj,
            "amount_idr": p.amount_idr,
            "status": p.status,
            "recorded_at": p.recorded_at,
        }
        for p, number, name, kpj in rows
    ]


def approve_batch(session: DbSession, actor: StaffUser, batch_id: int, note: str | None, now: datetime) -> BatchView:
    """Finance approves the day: its figures are written into the batch and the day is locked."""
    _decider(actor)
    agent_id = session.scalar(select(DailyBatch.agent_id).where(DailyBatch.id == batch_id))
    if agent_id is not None:
        lock_agent(session, agent_id)
    batch, view = get_batch(session, actor, batch_id, now, lock=True)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise field_error("note", gettext("Keep the note to %(max)s characters.", max=MAX_NOTE))
    if batch.status == BatchStatus.APPROVED:
        return view  # approving again is a retry: the same answer
    figures = view.figures
    if figures.pending:
        raise Conflict(
            gettext(
                "This batch cannot be approved yet: %(pending)s",
                pending=" ".join(pending_text(p) for p in figures.pending),
            )
        )
    if figures.variances and not note:
        raise field_error("note", gettext("This batch has variances: say in a note why it is approved anyway."))
    batch.status = BatchStatus.APPROVED
    batch.approved_snapshot = figures_to_json(figures)
    batch.decided_by_user_id = actor.id
    batch.decided_at = now
    batch.decision_note = note
    audit.record(
        session,
        "batch.approved",
        "daily_batch",
        batch.id,
        actor.id,
        collected_idr=figures.collected_idr,
        banked_idr=figures.banked_idr,
        variance_idr=figures.variance_idr,
    )
    session.commit()
    return get_batch(session, actor, batch_id, now)[1]


def return_batch(session: DbSession, actor: StaffUser, batch_id: int, reason: str, now: datetime) -> BatchView:
    """Finance sends the day back to the agent with a reason (a missing slip, a short deposit), by text."""
    _decider(actor)
    batch, _ = get_batch(session, actor, batch_id, now, lock=True)
    if batch.status == BatchStatus.APPROVED:
        raise Conflict(
            gettext(
                "Batch %(id)s was approved on %(day)s and is locked.",
                id=batch_id,
                day=day_label(batch.decided_at.date() if batch.decided_at else None),
            )
        )
    reason = reason.strip()
    if not 3 <= len(reason) <= MAX_NOTE:
        raise field_error(
            "reason", gettext("Say in 3 to %(max)s characters why the batch goes back to the agent.", max=MAX_NOTE)
        )
    batch.status = BatchStatus.RETURNED
    batch.decided_by_user_id = actor.id
    batch.decided_at = now
    batch.decision_note = reason
    agent = session.get(Agent, batch.agent_id)
    assert agent is not None
    queue_message(
        session,
        "batch_returned",
        agent.user.phone,
        f"Keuangan cabang mengembalikan setoran tanggal {batch.business_date:%d-%m-%Y}: {reason[:200]}",
        dedupe_key=f"batch_returned:{batch.id}:{now:%Y%m%d%H%M%S}",
    )
    audit.record(session, "batch.returned", "daily_batch", batch.id, actor.id, reason=reason)
    session.commit()
    return get_batch(session, actor, batch_id, now)[1]


def _decider(actor: StaffUser) -> None:
    """Approving or returning a batch is branch finance's decision (an admin may stand in); supervisors see."""
    if actor.role not in (Role.BRANCH_FINANCE, Role.ADMIN):
        raise Forbidden(gettext("Only branch finance approves or returns a batch."))


def figures_to_json(figures: BatchFigures) -> str:
    return json.dumps(asdict(figures), default=str, sort_keys=True)


def figures_from_json(text: str) -> BatchFigures:
    data = json.loads(text)
    data["business_date"] = date.fromisoformat(data["business_date"])
    data["deposit_due_by"] = date.fromisoformat(data["deposit_due_by"]) if data["deposit_due_by"] else None
    data["deposits"] = [DepositFigure(**d) for d in data["deposits"]]
    data["variances"] = [Variance(**_dated(v, "collected_on", "due_by")) for v in data["variances"]]
    data["pending"] = [Pending(**_dated(p, "day", "due_by")) for p in data["pending"]]
    return BatchFigures(**data)


def _dated(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: date.fromisoformat(v) if k in names and v else v for k, v in data.items()}
