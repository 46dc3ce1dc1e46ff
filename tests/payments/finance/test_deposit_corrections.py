"""Finance corrects a short deposit to what the bank credited (payments/finance/corrections.py): the agent then
holds the difference, deposits it, and the day judges clean (issue 15)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select

from core.extensions import db
from organisation.models import Agent
from payments.ledger.models import AgentCashTotal, Deposit
from tests.payments.finance.test_batches import DAY, batches_of, code, day, deposit  # noqa: F401 (the fixture)

TODAY = date(2026, 11, 22)  # the pinned now


def short_deposit(client: Any, world: dict[str, Any]) -> dict[str, Any]:
    """Agent B's deposit of the day, declared in full and 5,000 short in the bank."""
    batch = batches_of(client, world["finance"], world["pkp"])[code(world, "agent_b")]
    return batch["figures"]["deposits"][0]


def totals_of(agent: Any) -> tuple[int, int]:
    """The agent's kept totals (collected, deposited), as the database's triggers wrote them."""
    row = db.session.execute(
        select(AgentCashTotal.collected_idr, AgentCashTotal.deposited_idr)
        .join(Agent, Agent.id == AgentCashTotal.agent_id)
        .where(Agent.user_id == agent.id)
    ).one()
    return int(row[0]), int(row[1])


def correct(client: Any, staff: Any, deposit_id: int, amount: int, reason: str = "Bank mengkredit kurang") -> Any:
    return client.post(
        f"/api/v1/deposits/{deposit_id}/correction",
        json={"amount_idr": amount, "reason": reason},
        headers=staff.headers,
    )


def test_after_finance_corrects_a_short_deposit_the_agent_deposits_the_difference_and_the_day_is_clean(
    client,
    day,  # noqa: F811
):
    short = short_deposit(client, day)
    declared, banked = day["amounts"]["agent_b"], day["amounts"]["agent_b"] - 5_000
    refused = deposit(client, day["agent_b"], 5_000, "BRI-SUSULAN-1", on=TODAY)
    assert refused.status_code == 422  # the short deposit still counts at what he declared: he holds nothing

    corrected = correct(client, day["finance"], short["id"], banked)
    assert corrected.status_code == 200, corrected.get_json()
    assert (corrected.get_json()["amount_idr"], corrected.get_json()["declared_idr"]) == (banked, declared)
    difference = deposit(client, day["agent_b"], 5_000, "BRI-SUSULAN-1", on=TODAY)

    assert difference.status_code == 201, difference.get_json()
    batch = batches_of(client, day["finance"], day["pkp"])[code(day, "agent_b")]
    assert batch["figures"]["variances"] == [] and batch["figures"]["pending"] == []
    assert (batch["figures"]["deposited_idr"], batch["figures"]["banked_idr"]) == (banked, banked)
    with client.application.app_context():
        assert totals_of(day["agent_b"]) == (declared, declared)  # he collected it all, and the bank holds it all
