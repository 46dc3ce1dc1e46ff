"""Queries on the hot paths can use their indexes (PostgreSQL's planner, with sequential scans discouraged)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from collection.members.models import Member
from collection.members.position import member_position
from core.extensions import db
from tests.factories import NOW


@pytest.mark.postgresql_only
def test_working_out_a_members_position_reads_allocations_through_an_index(pinned_app, enrol):
    member_id = enrol()["id"]
    statements: list[tuple[str, object]] = []

    with pinned_app.app_context():
        member = db.session.get(Member, member_id)

        def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if "FROM payment_allocations" in statement:
                statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            member_position(db.session, member, NOW.date())
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)

        assert statements
        connection = db.session.connection()
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        for statement, parameters in statements:
            plan = "\n".join(
                row[0]
                for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)  # type: ignore[arg-type]
            )
            assert "Seq Scan on payment_allocations" not in plan, plan
