"""Deposits that share a bank reference.

A bank slip's reference names one teller transaction. Two deposits declaring the same reference are worth a
look (a slip typed twice, an agent copying another's slip), but not always wrong: agents of one village who go
to the bank together may pay in on one slip, and an agent may split a day's cash across two declarations of one
slip. So a reused reference is *warned*, never refused: the deposit is recorded (the agent's cash and the cash
limit depend on it), finance sees the warning where the deposit is recorded and on the batch page, and the bank
statement settles it (a line matches the deposits whose sum it carries; the rest stay "not in the bank").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from core.extensions import DbSession
from organisation.models import Agent
from payments.ledger.models import Deposit


@dataclass(frozen=True)
class SharedReference:
    """Another deposit of the branch declared with the same bank reference."""

    deposit_id: int
    agent_id: int
    agent_code: str
    amount_idr: int
    deposited_on: date


def normalised(reference: str) -> str:
    return reference.strip().upper()


def shared_references(
    session: DbSession, branch_id: int, deposits: list[tuple[int, str]]
) -> dict[int, list[SharedReference]]:
    """For each (deposit id, reference), the branch's other deposits with that reference (case and spaces at the
    ends aside); deposits whose reference no other deposit uses are left out."""
    wanted = {normalised(reference) for _, reference in deposits if normalised(reference)}
    if not wanted:
        return {}
    key = func.upper(func.trim(Deposit.bank_reference))
    rows = session.execute(
        select(Deposit.id, key, Agent.id, Agent.code, Deposit.amount_idr, Deposit.deposited_on)
        .join(Agent, Agent.id == Deposit.agent_id)
        .where(Deposit.branch_id == branch_id, key.in_(sorted(wanted)))
        .order_by(Deposit.deposited_on, Deposit.id)
    )
    by_reference: dict[str, list[SharedReference]] = defaultdict(list)
    for deposit_id, reference, agent_id, agent_code, amount, deposited_on in rows:
        by_reference[reference].append(SharedReference(deposit_id, agent_id, agent_code, amount, deposited_on))
    found: dict[int, list[SharedReference]] = {}
    for deposit_id, reference in deposits:
        others = [s for s in by_reference.get(normalised(reference), []) if s.deposit_id != deposit_id]
        if others:
            found[deposit_id] = others
    return found
