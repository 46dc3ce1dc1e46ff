"""An agent's kept cash totals (migration 0027: triggers on payments and deposits) always equal his history summed,
whoever writes it and however; the oldest cash he still holds, read from the newest end, is the one oldest-first
deposits leave."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import flask_migrate
import pytest
from sqlalchemy import delete, func, insert, select, text, update

from core.extensions import db
from payments.ledger.models import AgentCashTotal, Deposit, Payment
from payments.ledger.services import cash_totals, oldest_undeposited

BEFORE = "0026_self_payments"
CHANNELS = ["cash", "cash", "cash", "auto_debit", "sponsor", "bank_transfer"]


def summed(agent_id: int) -> tuple[int, int]:
    """The agent's settled cash and deposits, summed over his whole history."""
    collected = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_idr), 0)).where(
            Payment.agent_id == agent_id, Payment.channel == "cash", Payment.status == "settled"
        )
    )
    deposited = db.session.scalar(
        select(func.coalesce(func.sum(Deposit.amount_idr), 0)).where(Deposit.agent_id == agent_id)
    )
    return int(collected), int(deposited)


def oldest_first_in_python(agent_id: int) -> date | None:
    """The first payment, oldest first, whose running total passes the deposits: the rule as it reads."""
    _, deposited = summed(agent_id)
    running = 0
    for paid_on, amount in db.session.execute(
        select(Payment.paid_on, Payment.amount_idr)
        .where(Payment.agent_id == agent_id, Payment.channel == "cash", Payment.status == "settled")
        .order_by(Payment.paid_on, Payment.recorded_at, Payment.id)
    ):
        running += amount
        if running > deposited:
            return paid_on
    return None


def _payment(rng: random.Random, member_id: int, agent: Any, day: date, at: datetime) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "channel": rng.choice(CHANNELS),
        "amount_idr": rng.choice([8_400, 16_800, 25_200, 50_400]),
        "paid_on": day,
        "status": rng.choice(["settled", "settled", "settled", "reversed"]),
        "agent_id": agent.agent_id,
        "recorded_by_user_id": agent.id,
        "recorded_at": at,
    }


def test_the_triggers_are_there_after_every_migration(app: Any) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            names = db.session.scalars(text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'agent_cash_%'")).all()
            expected = {"agent_cash_payment_inserted", "agent_cash_payment_updated", "agent_cash_payment_deleted"}
            expected.add("agent_cash_deposit_changed")
        else:
            names = db.session.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'agent_cash_%'")
            ).all()
            expected = {
                f"agent_cash_{table}_{event}"
                for table in ("payment", "deposit")
                for event in ("inserted", "updated", "deleted")
            }
        assert set(names) == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_totals_follow_every_kind_of_write(app: Any, world: dict[str, Any], enrol: Any, seed: int) -> None:
    """Inserts of every channel and status, reversals, un-reversals, edits of amount and agent, deletes and
    deposits, in a random order: after each, both agents' totals are their histories summed."""
    rng = random.Random(seed)
    member_id = enrol()["id"]
    agents = [world["agent"], world["ptk_agent"]]
    at = datetime(2026, 11, 2, 3, 0)
    with app.app_context():
        for step in range(120):
            agent = rng.choice(agents)
            action = rng.choice(["pay", "pay", "pay", "deposit", "reverse", "unreverse", "amount", "move", "delete"])
            ids = db.session.scalars(select(Payment.id).order_by(Payment.id)).all()
            at += timedelta(minutes=rng.randint(1, 600))
            if action == "pay" or not ids:
                db.session.execute(insert(Payment).values(_payment(rng, member_id, agent, at.date(), at)))
            elif action == "deposit":
                collected, deposited = summed(agent.agent_id)
                if collected > deposited:
                    db.session.execute(
                        insert(Deposit).values(
                            agent_id=agent.agent_id,
                            branch_id=world["pkp"],
                            amount_idr=rng.randint(1, collected - deposited),
                            deposited_on=at.date(),
                            bank_reference=f"REF{step}",
                            recorded_by_user_id=world["finance"].id,
                            recorded_at=at,
                        )
                    )
            elif action == "reverse":
                db.session.execute(update(Payment).where(Payment.id == rng.choice(ids)).values(status="reversed"))
            elif action == "unreverse":
                db.session.execute(update(Payment).where(Payment.id == rng.choice(ids)).values(status="settled"))
            elif action == "amount":
                db.session.execute(
                    update(Payment).where(Payment.id == rng.choice(ids)).values(amount_idr=Payment.amount_idr + 1_000)
                )
            elif action == "move":
                db.session.execute(
                    update(Payment).where(Payment.id == rng.choice(ids)).values(agent_id=rng.choice(agents).agent_id)
                )
            else:
                db.session.execute(delete(Payment).where(Payment.id == rng.choice(ids)))
            for each in agents:
                assert cash_totals(db.session, each.agent_id) == summed(each.agent_id), (step, action)
                collected, deposited = summed(each.agent_id)
                assert oldest_undeposited(db.session, each.agent_id, collected - deposited) == oldest_first_in_python(
                    each.agent_id
                ), (step, action)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AgentCashTotal)) == 2


def test_a_rolled_back_write_leaves_the_totals_as_they_were(app: Any, world: dict[str, Any], enrol: Any) -> None:
    member_id = enrol()["id"]
    agent = world["agent"]
    with app.app_context():
        row = _payment(random.Random(3), member_id, agent, date(2026, 11, 2), datetime(2026, 11, 2, 3))
        db.session.execute(insert(Payment).values(row | {"channel": "cash", "status": "settled", "amount_idr": 16_800}))
        db.session.commit()
        db.session.execute(insert(Payment).values(row | {"channel": "cash", "status": "settled", "amount_idr": 8_400}))
        assert cash_totals(db.session, agent.agent_id) == (25_200, 0)
        db.session.rollback()
        assert cash_totals(db.session, agent.agent_id) == (16_800, 0)


def test_the_migration_counts_the_history_already_there(app: Any, world: dict[str, Any], enrol: Any) -> None:
    member_id = enrol()["id"]
    agent = world["agent"]
    rng = random.Random(4)
    with app.app_context():
        flask_migrate.downgrade(revision=BEFORE)
        at = datetime(2026, 11, 2, 3)
        for _ in range(30):
            at += timedelta(hours=5)
            db.session.execute(insert(Payment).values(_payment(rng, member_id, agent, at.date(), at)))
        collected, _ = summed(agent.agent_id)
        db.session.execute(
            insert(Deposit).values(
                agent_id=agent.agent_id,
                branch_id=world["pkp"],
                amount_idr=collected // 2,
                deposited_on=at.date(),
                bank_reference="REF",
                recorded_by_user_id=world["finance"].id,
                recorded_at=at,
            )
        )
        db.session.commit()
        flask_migrate.upgrade()
        assert cash_totals(db.session, agent.agent_id) == summed(agent.agent_id) == (collected, collected // 2)
        assert cash_totals(db.session, world["ptk_agent"].agent_id) == (0, 0)
