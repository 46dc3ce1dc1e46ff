"""Recording cash is a handful of statements: the token, one locking read, one read after the locks, one write."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, select

from core.extensions import db
from payments.ledger.models import Payment
from tests.factories import nik_for
from tests.servers import libpq_conninfo
from tests.statements import captured, not_transaction_control

# PostgreSQL: the token check, the member and agent FOR UPDATE, the read after the locks, the CTE that writes.
MOST_STATEMENTS_POSTGRESQL = 4
# SQLite: the same, with the read after the locks as 5 statements and the write as 6 (payment, allocations,
# receipt, text, audit event, member).
MOST_STATEMENTS_SQLITE = 13


def statements_of(app: Any, send: Any) -> list[str]:
    """The SQL statements ``send()`` runs on the app's engine (BEGIN and COMMIT aside)."""
    with app.app_context():
        engine = db.engine
    with captured(engine, not_transaction_control) as seen:
        send()
    return [statement for statement, _ in seen]


def test_one_contribution_is_at_most_four_statements_on_postgresql(pinned_app, client, world, enrol):
    pinned_app.config["TOKEN_CACHE_SECONDS"] = 0  # the token looked up too (a cached token makes it 3)
    agent = world["agent"]
    first, second = enrol(), enrol(nik=nik_for(serial=2))

    def pay(member_id: int) -> Any:
        headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
        return client.post("/api/v1/contributions", json={"member_id": member_id, "months": 3}, headers=headers)

    assert pay(first["id"]).status_code == 201  # rates and holidays are cached per process after this one
    responses: list[Any] = []
    seen = statements_of(pinned_app, lambda: responses.append(pay(second["id"])))

    assert responses[0].status_code == 201, responses[0].get_json()
    assert responses[0].get_json()["months_covered"] == ["2026-11", "2026-12", "2027-01"]
    bound = MOST_STATEMENTS_POSTGRESQL if db_name(pinned_app) == "postgresql" else MOST_STATEMENTS_SQLITE
    assert len(seen) <= bound, "\n".join(s[:120] for s in seen)


def db_name(app: Any) -> str:
    with app.app_context():
        return db.engine.dialect.name


@pytest.mark.postgresql_only
@pytest.mark.parametrize("statement", ["FOR UPDATE OF m, a", "AS existing_id", "WITH p AS"])
def test_a_connection_killed_under_a_contribution_answers_503_and_the_retry_records_it_once(
    pinned_app, client, world, enrol, statement
):
    """The three statements run on psycopg's cursor (recording.py _driver_row): a connection that dies under any
    of them is SQLAlchemy's outage (503, the broken connection thrown away), nothing is half-written, and the
    agent's retry with the same key records the payment once."""
    member = enrol()
    url = pinned_app.config["SQLALCHEMY_DATABASE_URI"]
    killed: list[int] = []

    def kill_own_backend(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement in sql and not killed:
            killed.append(cursor.connection.info.backend_pid)
            with psycopg.connect(libpq_conninfo(url), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (killed[0],))

    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    with pinned_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", kill_own_backend)
    try:
        down = client.post("/api/v1/contributions", json={"member_id": member["id"], "months": 3}, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", kill_own_backend)
    retried = client.post("/api/v1/contributions", json={"member_id": member["id"], "months": 3}, headers=headers)
    again = client.post("/api/v1/contributions", json={"member_id": member["id"], "months": 3}, headers=headers)

    assert killed and down.status_code == 503, down.get_data(as_text=True)[:300]
    assert down.get_json()["code"] == 503
    assert retried.status_code == 201, retried.get_json()
    assert again.status_code in (200, 201) and again.get_json()["payment_id"] == retried.get_json()["payment_id"]
    with pinned_app.app_context():
        payments = db.session.scalars(select(Payment).where(Payment.member_id == member["id"])).all()
        assert [p.amount_idr for p in payments] == [retried.get_json()["amount_idr"]]
