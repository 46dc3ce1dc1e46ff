"""The lines the matcher left: a match proposed by one finance officer and decided by another (maker-checker)."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.i18n import day_label
from core.paging import page_of
from organisation.models import StaffUser
from payments.autodebit.models import SettlementLine
from payments.finance.bank import branch_for
from payments.finance.matching import mark_line, unmatched_payouts
from payments.finance.models import MatchProposal, StatementLine, StatementLineStatus
from payments.ledger.models import Deposit

MAX_REASON = 200  # match_proposals.reason


def line_taken(line: StatementLine) -> str:
    """Why a credit can no longer be proposed or decided: it is matched or ignored already."""
    if line.status == StatementLineStatus.IGNORED:
        return gettext("Statement line %(id)s is already ignored.", id=line.id)
    return gettext("Statement line %(id)s is already matched.", id=line.id)


def line_page(
    session: DbSession, branch_id: int, status: str, offset: int, limit: int | None
) -> tuple[list[StatementLine], int]:
    """One page of the branch's credits of one status (``limit`` None: all), oldest first, and how many."""
    query = (
        select(StatementLine)
        .where(StatementLine.branch_id == branch_id, StatementLine.status == status)
        .order_by(StatementLine.booked_on, StatementLine.id)
    )
    return page_of(session, query, offset, limit)


def with_proposals(session: DbSession, lines: list[StatementLine]) -> list[dict[str, object]]:
    """Each line as a dict with its proposal awaiting a decision (or None)."""
    proposals = open_proposals(session, [line.id for line in lines])
    return [
        {
            **{c: getattr(line, c) for c in StatementLine.__table__.columns.keys()},
            "open_proposal": proposals.get(line.id),
        }
        for line in lines
    ]


def open_proposals(session: DbSession, line_ids: list[int]) -> dict[int, MatchProposal]:
    if not line_ids:
        return {}
    return {
        p.statement_line_id: p
        for p in session.scalars(
            select(MatchProposal).where(MatchProposal.statement_line_id.in_(line_ids), MatchProposal.decision.is_(None))
        )
    }


def _line_of(session: DbSession, actor: StaffUser, line_id: int, lock: bool = False) -> StatementLine:
    query = select(StatementLine).where(StatementLine.id == line_id)
    if lock:
        query = query.with_for_update()
    line = session.scalar(query)
    if line is None:
        raise NotFound(gettext("There is no statement line %(id)s.", id=line_id))
    branch_for(session, actor, line.branch_id)
    return line


def propose_match(
    session: DbSession,
    actor: StaffUser,
    line_id: int,
    *,
    action: str,
    deposit_id: int | None,
    provider: str | None,
    settled_on: date | None,
    reason: str,
    now: datetime,
) -> MatchProposal:
    """The maker: propose what an unmatched credit is. Nothing changes until a second person approves."""
    reason = reason.strip()
    if not 3 <= len(reason) <= MAX_REASON:
        raise field_error(
            "reason", gettext("Say in 3 to %(max)s characters why this credit is what you propose.", max=MAX_REASON)
        )
    line = _line_of(session, actor, line_id, lock=True)
    if line.status != StatementLineStatus.UNMATCHED:
        raise Conflict(line_taken(line))
    if action == "deposit":
        _check_deposit_for(session, line, deposit_id)
    elif action == "settlement":
        _check_payout_for(session, line, provider, settled_on)
    elif action != "ignore":
        raise field_error("action", gettext("Choose deposit, settlement or ignore."))
    proposal = MatchProposal(
        statement_line_id=line.id,
        action=action,
        deposit_id=deposit_id if action == "deposit" else None,
        provider=provider if action == "settlement" else None,
        settled_on=settled_on if action == "settlement" else None,
        reason=reason,
        proposed_by_user_id=actor.id,
        proposed_at=now,
    )
    session.add(proposal)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            gettext("Statement line %(id)s already has a proposal waiting for a decision.", id=line_id)
        ) from None
    audit.record(session, "statement.match_proposed", "statement_line", line.id, actor.id, proposed=action)
    session.commit()
    return proposal


def _check_deposit_for(session: DbSession, line: StatementLine, deposit_id: int | None) -> Deposit:
    if deposit_id is None:
        raise field_error(
            "deposit_id", gettext("Name the deposit this credit is (its id from the batch or deposit list).")
        )
    deposit = session.get(Deposit, deposit_id)
    if deposit is None or deposit.branch_id != line.branch_id:
        raise field_error("deposit_id", gettext("There is no deposit %(id)s in this branch.", id=deposit_id))
    taken = session.scalar(select(StatementLine.id).where(StatementLine.deposit_id == deposit_id))
    if taken is not None and taken != line.id:
        raise field_error(
            "deposit_id",
            gettext("Deposit %(id)s is already matched to statement line %(line)s.", id=deposit_id, line=taken),
        )
    return deposit


def _check_payout_for(
    session: DbSession, line: StatementLine, provider: str | None, settled_on: date | None
) -> list[SettlementLine]:
    if not provider or settled_on is None:
        raise field_error("provider", gettext("Name the provider and the settled_on day of the payout."))
    settled = unmatched_payouts(session, line.branch_id, settled_on, settled_on).get(provider, {}).get(settled_on, [])
    if not settled:
        raise field_error(
            "settled_on",
            gettext(
                "%(provider)s has no unbanked settlement lines on %(day)s for this branch.",
                provider=provider,
                day=day_label(settled_on),
            ),
        )
    return settled


def decide_proposal(
    session: DbSession, actor: StaffUser, proposal_id: int, *, approve: bool, note: str | None, now: datetime
) -> MatchProposal:
    """The checker: a second person approves (the match is made) or rejects (the line stays unmatched)."""
    proposal = session.scalar(select(MatchProposal).where(MatchProposal.id == proposal_id).with_for_update())
    if proposal is None:
        raise NotFound(gettext("There is no match proposal %(id)s.", id=proposal_id))
    line = _line_of(session, actor, proposal.statement_line_id, lock=True)
    if proposal.decision is not None:
        if proposal.decision == ("approved" if approve else "rejected"):
            return proposal  # the same decision again: a retry
        if proposal.decision == "approved":
            raise Conflict(gettext("Proposal %(id)s was already approved.", id=proposal_id))
        raise Conflict(gettext("Proposal %(id)s was already rejected.", id=proposal_id))
    if proposal.proposed_by_user_id == actor.id:
        raise Forbidden(gettext("You proposed this match: a second person must approve or reject it (maker-checker)."))
    deposit, settled = None, []
    if approve:  # every check before anything changes
        if line.status != StatementLineStatus.UNMATCHED:
            raise Conflict(line_taken(line))
        if proposal.action == "deposit":
            deposit = _check_deposit_for(session, line, proposal.deposit_id)
        elif proposal.action == "settlement":
            settled = _check_payout_for(session, line, proposal.provider, proposal.settled_on)
    proposal.decision = "approved" if approve else "rejected"
    proposal.decided_by_user_id = actor.id
    proposal.decided_at = now
    proposal.decision_note = (note or "").strip()[:200] or None
    if approve and proposal.action == "ignore":
        line.status = StatementLineStatus.IGNORED
        line.note = proposal.reason
        line.note_code = line.note_count = None
        line.matched_at = now
    elif approve:
        if deposit is not None:
            line.deposit_id = deposit.id
        for settlement in settled:
            settlement.statement_line_id = line.id
        line.provider = proposal.provider
        mark_line(line, "manual", now, note=proposal.reason)
    audit.record(
        session,
        f"statement.match_{proposal.decision}",
        "statement_line",
        line.id,
        actor.id,
        proposal_id=proposal.id,
        proposed_by=proposal.proposed_by_user_id,
    )
    session.commit()
    return proposal
