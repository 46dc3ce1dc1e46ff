"""Queries on the hot paths can use their indexes (PostgreSQL's planner, with sequential scans discouraged)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from collection.members.models import Member
from collection.members.position import member_position
from core.extensions import db
from tests.factories import NOW, nik_for
from tests.statements import captured


@pytest.mark.postgresql_only
def test_working_out_a_members_position_reads_allocations_through_an_index(pinned_app, enrol):
    member_id = enrol()["id"]

    with pinned_app.app_context():
        member = db.session.get(Member, member_id)

        with captured(db.engine, lambda statement: "FROM payment_allocations" in statement) as statements:
            member_position(db.session, member, NOW.date())

        assert statements
        connection = db.session.connection()
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        for statement, parameters in statements:
            plan = "\n".join(
                row[0]
                for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)  # type: ignore[arg-type]
            )
            assert "Seq Scan on payment_allocations" not in plan, plan


@pytest.mark.postgresql_only
def test_an_agents_cash_position_reads_his_kept_totals_and_the_newest_end_of_his_cash(pinned_app, client, world, enrol):
    """The read after the locks takes the agent's kept totals by their key and, as he holds cash, walks his settled
    cash from the newest end of the partial index (backward, no sort of his whole history), never his deposits."""
    agent = world["agent"]
    first, second = enrol(), enrol(nik=nik_for(serial=2))

    def pay(member_id: int) -> Any:
        headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
        return client.post("/api/v1/contributions", json={"member_id": member_id, "months": 1}, headers=headers)

    assert pay(first["id"]).status_code == 201
    with pinned_app.app_context():
        engine = db.engine
    with captured(engine, lambda statement: "FROM agent_cash_totals" in statement) as statements:
        assert pay(second["id"]).status_code == 201

    assert len(statements) == 1
    statement, parameters = statements[0]
    with pinned_app.app_context():
        connection = db.session.connection()
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)  # type: ignore[arg-type]
        )
    assert "Index Only Scan Backward using ix_payments_agent_settled_cash on payments" in plan, plan
    assert "pk_agent_cash_totals" in plan, plan
    lines = plan.splitlines()
    window = next(i for i, line in enumerate(lines) if "WindowAgg" in line)
    assert "Index Only Scan Backward using ix_payments_agent_settled_cash" in lines[window + 1], plan  # no Sort
    assert "deposits" not in plan, plan
