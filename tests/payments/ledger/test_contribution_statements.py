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
    pinned_app, client, world, enrol, statement, monkeypatch
):
    """With nothing listening to the engine, the three statements run on psycopg's cursor (recording.py
    _driver_row): a connection that dies under any of them is SQLAlchemy's outage (503, the broken connection
    thrown away), nothing is half-written, and the agent's retry with the same key records the payment once. The
    backend is killed from the driver's own cursor (an engine listener would take SQLAlchemy's path instead)."""
    member = enrol()
    url = pinned_app.config["SQLALCHEMY_DATABASE_URI"]
    killed: list[int] = []
    execute = psycopg.Cursor.execute

    def kill_own_backend_first(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if isinstance(query, str) and statement in query and not killed:
            killed.append(cursor.connection.info.backend_pid)
            with psycopg.connect(libpq_conninfo(url), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (killed[0],))
        return execute(cursor, query, params, **kwargs)

    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    with pinned_app.app_context():
        assert not db.engine.dispatch.before_cursor_execute  # the driver's own cursor is what runs
    monkeypatch.setattr(psycopg.Cursor, "execute", kill_own_backend_first)
    down = client.post("/api/v1/contributions", json={"member_id": member["id"], "months": 3}, headers=headers)
    monkeypatch.undo()
    retried = client.post("/api/v1/contributions", json={"member_id": member["id"], "months": 3}, headers=headers)
    again = client.post("/api/v1/contributions", json={"member_id": member["id"], "months": 3}, headers=headers)

    assert killed and down.status_code == 503, down.get_data(as_text=True)[:300]
    assert down.get_json()["code"] == 503
    assert retried.status_code == 201, retried.get_json()
    assert again.status_code in (200, 201) and again.get_json()["payment_id"] == retried.get_json()["payment_id"]
    with pinned_app.app_context():
        payments = db.session.scalars(select(Payment).where(Payment.member_id == member["id"])).all()
        assert [p.amount_idr for p in payments] == [retried.get_json()["amount_idr"]]


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    "setting", ["lock_timeout = '200ms'", "statement_timeout = '200ms'"], ids=["lock_timeout", "statement_timeout"]
)
def test_a_contribution_that_waits_past_the_servers_timeout_answers_503_and_the_next_request_is_served(
    pinned_app, client, world, enrol, setting
):
    """A database whose role or database sets lock_timeout or statement_timeout (as a DBA does against a stuck
    lock) cancels the member's FOR UPDATE while another transaction holds his row: that is a busy database, as
    SQLite's 'database is locked' is (503 with Retry-After, send it again), not a 500; nothing is written, and the
    pooled connection serves the agent's retry once the row is free."""
    member = enrol()
    url = pinned_app.config["SQLALCHEMY_DATABASE_URI"]
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as admin:
        name = admin.execute("SELECT current_database()").fetchone()[0]
        admin.execute(f'ALTER DATABASE "{name}" SET {setting}')
    with pinned_app.app_context():
        db.engine.dispose()  # the app's next connections take the setting
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"member_id": member["id"], "months": 3}
    with psycopg.connect(libpq_conninfo(url)) as holder:  # another transaction holds the member's row
        holder.execute("SELECT id FROM members WHERE id = %s FOR UPDATE", (member["id"],))
        busy = client.post("/api/v1/contributions", json=body, headers=headers)
        holder.rollback()
    retried = client.post("/api/v1/contributions", json=body, headers=headers)

    assert busy.status_code == 503, busy.get_data(as_text=True)[:300]
    assert busy.get_json()["code"] == 503 and busy.headers["Retry-After"]
    assert retried.status_code == 201, retried.get_json()
    with pinned_app.app_context():
        payments = db.session.scalars(select(Payment).where(Payment.member_id == member["id"])).all()
        assert [p.id for p in payments] == [retried.get_json()["payment_id"]]


@pytest.mark.postgresql_only
def test_a_cursor_listener_that_keeps_its_span_on_the_context_still_sees_a_contribution_recorded(
    pinned_app, client, world, enrol
):
    """Sentry's SQLAlchemy integration (and any tracer) keeps its span on the execution context the engine's cursor
    events pass it: the three statements sent straight to psycopg passed None, and with error reporting on every
    contribution answered 500."""
    member = enrol()
    spans: list[str] = []

    def before(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        context._test_span = sql[:20]  # as sentry_sdk's before_cursor_execute does

    def after(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        spans.append(context._test_span)

    with pinned_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
        recorded = client.post("/api/v1/contributions", json={"member_id": member["id"], "months": 3}, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)

    assert recorded.status_code == 201, recorded.get_data(as_text=True)[:300]
    assert any(span.strip().startswith("SELECT m.id") for span in spans)  # the locking read, seen with its context
