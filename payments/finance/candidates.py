"""The deposits a proposal form offers for an unmatched bank credit: the likely ones first, a short list.

A credit is most likely a deposit of its very amount banked the same week; then one of its amount at another
time (a slip declared late); then another deposit of that week (a deposit short or over at the bank). Deposits
already matched to a bank line are never offered; anything further down is named by its id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select

from core.extensions import DbSession
from organisation.models import Agent
from payments.finance.models import StatementLine
from payments.ledger.models import Deposit

WEEK = timedelta(days=7)
OFFERED = 15  # deposits offered a credit: a short list, the rest by id
KINDS = ("amount_week", "amount", "week")  # in the order they are offered


@dataclass(frozen=True)
class Candidate:
    deposit_id: int
    agent_code: str
    amount_idr: int
    deposited_on: date
    bank_reference: str
    kind: str  # one of KINDS


def rank(amount_idr: int, booked_on: date, deposits: Sequence[Candidate], limit: int = OFFERED) -> list[Candidate]:
    """The deposits for one credit, likeliest first (KINDS), nearest in date within a kind."""
    found: list[tuple[int, int, int, Candidate]] = []
    for d in deposits:
        same_amount = d.amount_idr == amount_idr
        same_week = abs(booked_on - d.deposited_on) <= WEEK
        kind = "amount_week" if same_amount and same_week else "amount" if same_amount else "week" if same_week else ""
        if kind:
            found.append(
                (KINDS.index(kind), abs((booked_on - d.deposited_on).days), d.deposit_id, replace(d, kind=kind))
            )
    found.sort(key=lambda item: item[:3])
    return [c for *_, c in found[:limit]]


def candidates_for(session: DbSession, branch_id: int, lines: Sequence[dict[str, Any]]) -> dict[int, list[Candidate]]:
    """For each unmatched line (``id``, ``amount_idr``, ``booked_on``), the branch's unbanked deposits to offer."""
    if not lines:
        return {}
    amounts = sorted({line["amount_idr"] for line in lines})
    first = min(line["booked_on"] for line in lines) - WEEK
    last = max(line["booked_on"] for line in lines) + WEEK
    banked = select(StatementLine.deposit_id).where(StatementLine.deposit_id.is_not(None))
    rows = session.execute(
        select(Deposit.id, Agent.code, Deposit.amount_idr, Deposit.deposited_on, Deposit.bank_reference)
        .join(Agent, Agent.id == Deposit.agent_id)
        .where(
            Deposit.branch_id == branch_id,
            Deposit.id.not_in(banked),
            or_(Deposit.amount_idr.in_(amounts), Deposit.deposited_on.between(first, last)),
        )
        .order_by(Deposit.deposited_on.desc(), Deposit.id.desc())
        .limit(5000)  # a page's lines, a fortnight of deposits: never the branch's whole history
    )
    deposits = [Candidate(i, code, amount, on, reference, "") for i, code, amount, on, reference in rows]
    return {line["id"]: rank(line["amount_idr"], line["booked_on"], deposits) for line in lines}
