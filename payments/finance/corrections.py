"""Finance corrects a short setoran (deposit) to what the bank credited.

An agent declares a deposit; when the bank statement shows less for it (the batch's ``short_in_bank`` variance),
the declared amount is money the branch never received, yet it still counts against the agent's cash on hand, so
the deposit of the difference he owes is refused as more than he holds. Branch finance lowers the deposit to the
credited amount: ``amount_idr`` then says what the bank holds, the agent's kept cash totals follow through their
trigger (migration 0027_agent_cash_totals), he holds the difference again and deposits it as any other deposit.

What he declared is kept in ``declared_idr``, written once. A correction only lowers a deposit, to exactly the
amount of the bank credit matched to it, and never to nothing: a deposit no bank credit is matched to is not
corrected (the bank may still show it, or the match is wrong; finance matches it by hand or returns the day).
The same correction again is one correction. It takes the agent's lock (payments/ledger/days.py) as his own
cash and deposits do, so a deposit he records meanwhile reads his cash after the correction, never before.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import select

from core import audit
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.i18n import day_label, rupiah
from core.outbox import queue_message
from organisation.models import Agent, Role, StaffUser
from payments.finance.bank import lock_branch
from payments.finance.models import StatementLine
from payments.ledger.days import lock_agent
from payments.ledger.models import AgentCashTotal, BatchStatus, DailyBatch, Deposit

CORRECTORS = (Role.BRANCH_FINANCE, Role.ADMIN)
MIN_REASON, MAX_REASON = 3, 300  # deposits.correction_reason


def correct_short_deposit(
    session: DbSession,
    actor: StaffUser,
    deposit_id: int,
    *,
    amount_idr: int,
    reason: str,
    now: datetime,
    batch_id: int | None = None,
) -> tuple[Deposit, bool]:
    """Lower a deposit to what the bank credited for it; False when it was already this correction.

    Finance of the deposit's branch or an admin (403 for anyone else, 404 for another branch's deposit, or one not of
    the batch ``batch_id`` when the desk's batch page names it); 409 when no bank credit is matched to it, when the
    credit is not short, or when its day is approved and locked; 422 when the amount is not the credit's."""
    if actor.role not in CORRECTORS:
        raise Forbidden(gettext("Only branch finance (or an admin) corrects a deposit to what the bank credited."))
    reason = reason.strip()
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise field_error(
            "reason",
            gettext(
                "Say in %(least)s to %(most)s characters why the deposit is corrected.",
                least=MIN_REASON,
                most=MAX_REASON,
            ),
        )
    agent_id = session.scalar(select(Deposit.agent_id).where(Deposit.id == deposit_id))
    if agent_id is not None:
        lock_agent(session, agent_id)  # the agent's cash and deposits wait, as they do for finance's decisions
    deposit = session.get(Deposit, deposit_id, populate_existing=True)
    if (
        deposit is None
        or (actor.role != Role.ADMIN and actor.branch_id != deposit.branch_id)
        or (batch_id is not None and not _of_batch(session, deposit, batch_id))
    ):
        raise NotFound(gettext("There is no deposit %(id)s in your branch.", id=deposit_id))
    if deposit.declared_idr is not None and deposit.amount_idr == amount_idr:
        return deposit, False  # the same correction again (a resent form or request)
    lock_branch(session, deposit.branch_id)  # an import's worker may be matching this branch's lines meanwhile
    line = session.scalar(select(StatementLine).where(StatementLine.deposit_id == deposit.id))
    if line is None:
        raise Conflict(
            gettext(
                "No bank credit is matched to deposit %(id)s (%(reference)s): only a deposit the bank credited short "
                "is corrected. Match its credit first, or return the day to the agent if the bank never received it.",
                id=deposit.id,
                reference=deposit.bank_reference,
            ),
            reason="deposit_not_in_bank",
        )
    if line.amount_idr >= deposit.amount_idr:
        raise Conflict(
            gettext(
                "The bank credited %(banked)s for deposit %(id)s of %(amount)s: it is not short, nothing to correct.",
                banked=rupiah(line.amount_idr),
                id=deposit.id,
                amount=rupiah(deposit.amount_idr),
            ),
            reason="deposit_not_short",
        )
    if amount_idr != line.amount_idr:
        raise field_error(
            "amount_idr",
            gettext(
                "The bank credited %(banked)s for this deposit: correct it to that amount.",
                banked=rupiah(line.amount_idr),
            ),
        )
    _refuse_approved_day(session, deposit.agent_id, deposit.deposited_on)
    held_before = _held(session, deposit.agent_id)
    before = {"amount_idr": deposit.amount_idr, "declared_idr": deposit.declared_idr}
    if deposit.declared_idr is None:
        deposit.declared_idr = deposit.amount_idr
    deposit.amount_idr = line.amount_idr
    deposit.corrected_at = now
    deposit.correction_reason = reason
    session.flush()  # the deposits trigger moves the agent's totals now
    held_after = _held(session, deposit.agent_id)
    audit.record(
        session,
        "deposit.corrected",
        "deposit",
        deposit.id,
        actor.id,
        before=before,
        after={"amount_idr": deposit.amount_idr, "declared_idr": deposit.declared_idr},
        agent_id=deposit.agent_id,
        statement_line_id=line.id,
        reason=reason,
        cash_on_hand_before_idr=held_before,
        cash_on_hand_after_idr=held_after,
    )
    agent = session.get(Agent, deposit.agent_id)
    assert agent is not None
    queue_message(  # texts to agents are in Indonesian, as the batch's return is
        session,
        "deposit_corrected",
        agent.user.phone,
        f"Keuangan cabang mengoreksi setoran {deposit.bank_reference} tanggal {deposit.deposited_on:%d-%m-%Y}: "
        f"dinyatakan Rp{deposit.declared_idr:,}, diterima bank Rp{deposit.amount_idr:,}. "
        f"Setorkan selisihnya Rp{deposit.declared_idr - deposit.amount_idr:,}.".replace(",", "."),
        dedupe_key=f"deposit_corrected:{deposit.id}:{deposit.amount_idr}",
    )
    session.commit()
    return deposit, True


def _of_batch(session: DbSession, deposit: Deposit, batch_id: int) -> bool:
    """Whether the deposit is one of the batch's: its agent's, declared on its day."""
    found = session.scalar(
        select(DailyBatch.id).where(
            DailyBatch.id == batch_id,
            DailyBatch.agent_id == deposit.agent_id,
            DailyBatch.business_date == deposit.deposited_on,
        )
    )
    return found is not None


def _refuse_approved_day(session: DbSession, agent_id: int, day: date) -> None:
    """A deposit of a day finance approved is part of figures that no longer change."""
    status = session.scalar(
        select(DailyBatch.status).where(DailyBatch.agent_id == agent_id, DailyBatch.business_date == day)
    )
    if status == BatchStatus.APPROVED:
        raise Conflict(
            gettext(
                "The batch of %(day)s is approved and locked: its deposits are no longer corrected.",
                day=day_label(day),
            ),
            reason="batch_approved",
        )


def _held(session: DbSession, agent_id: int) -> int:
    """The agent's cash on hand as his kept totals say it (read from the database, after its trigger)."""
    row = session.execute(
        select(AgentCashTotal.collected_idr, AgentCashTotal.deposited_idr).where(AgentCashTotal.agent_id == agent_id)
    ).one_or_none()
    return max(0, row[0] - row[1]) if row else 0


def corrected_deposits(
    session: DbSession, agent_id: int, *, on: date | None = None, corrected_since: datetime | None = None
) -> list[Deposit]:
    """The agent's deposits finance corrected (declared ``on`` a day, or corrected since a time), newest first: what
    his app tells him, so he knows he holds the difference again and deposits it."""
    query = select(Deposit).where(Deposit.agent_id == agent_id, Deposit.declared_idr.is_not(None))
    if on is not None:
        query = query.where(Deposit.deposited_on == on)
    if corrected_since is not None:
        query = query.where(Deposit.corrected_at >= corrected_since)
    return list(session.scalars(query.order_by(Deposit.deposited_on.desc(), Deposit.id.desc())))
