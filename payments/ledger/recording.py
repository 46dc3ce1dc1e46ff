"""The SQL of recording an agent's cash: one locking read, one read after the locks, one write.

On PostgreSQL a contribution is three statements after the token check: the member's and the agent's rows
FOR UPDATE (with the branch); then, in a fresh snapshot that sees whatever a twin or finance committed while we
waited, everything the rules need (the idempotency key, the day's batch, the member's period and settled months,
the agent's cash totals and oldest undeposited cash, and the new payment's id); then one data-modifying CTE that
writes the payment, its allocations, the receipt, the receipt text, the audit event, the standing and, after a
lapse, the new period. On SQLite the reads and the writes are a few plain statements each. The rules stay pure
(allocation.py, cash.py, collection/members/position.py) and run in Python between the reads and the write.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Date, Executable, Table, bindparam, insert, text, update

from collection.members.models import Member as MemberRow
from collection.members.models import MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.rates import ContributionTerms, Package, Payer, Sector
from core.audit import AuditEvent, origin
from core.clock import utcnow
from core.extensions import DbSession, MonthType
from core.months import Month
from core.outbox import OutboxMessage
from payments.ledger.allocation import Allocation
from payments.ledger.models import Channel, Payment, PaymentStatus, Receipt

_LOCK_COLUMNS = """
    SELECT m.id, m.name, m.phone, m.branch_id, m.status, m.paid_through, m.first_month, m.period_started_on,
           m.bracket, m.package, m.sector,
           b.code AS branch_code, b.timezone, b.province_code, b.regency_code,
           a.id AS agent_id, a.code AS agent_code, a.status AS agent_status, a.branch_id AS agent_branch_id,
           ab.cash_limit_idr, ab.deposit_deadline_working_days,
           ab.province_code AS agent_province_code, ab.regency_code AS agent_regency_code
    FROM members m JOIN branches b ON b.id = m.branch_id
    JOIN agents a ON a.user_id = :user_id JOIN branches ab ON ab.id = a.branch_id
    WHERE m.id = :member_id"""
_LOCK_TYPES: dict[str, Any] = {"paid_through": MonthType(), "first_month": MonthType(), "period_started_on": Date()}
# The member first, then the agent (the day lock, payments/ledger/days.py lock_agent), in one statement; the
# branches are read, not locked. SQLite: BEGIN IMMEDIATE holds the one write lock.
_LOCK_SQLITE = text(_LOCK_COLUMNS).columns(**_LOCK_TYPES)


def _driver_sql(sql: str) -> str:
    """``sql`` with its ``:name`` parameters as psycopg's ``%(name)s``: on PostgreSQL the three statements go to the
    driver as they are (``_driver_row``)."""
    assert "%" not in sql and "::" not in sql, "write CAST(x AS t), and no literal %, in SQL sent to the driver"
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


_ROW_TYPES: dict[str, Any] = {}  # a named tuple per statement, its fields the statement's columns


def _driver_row(session: DbSession, sql: str, params: dict[str, Any]) -> Any:
    """The first row of ``sql`` (None if there is none) with its columns as attributes, run in the session's
    transaction as it is (PostgreSQL).

    SQLAlchemy's ``exec_driver_sql`` builds a result's column metadata on every execution (there is no compiled
    statement to keep it on): for 40 columns that is a tenth of a contribution's CPU. So when nothing listens to
    the engine's cursor events, the statement runs on psycopg's own cursor and the column names are read once per
    statement; a driver error is still raised as SQLAlchemy's (``DBAPIError``, a broken connection invalidated) by
    the connection's own handler. When something listens (error reporting's spans, which keep their state on the
    execution context; the tests' and the bench's statement counts), it gets SQLAlchemy's own execution, context
    and all."""
    connection = session.connection()
    if connection.dispatch.before_cursor_execute or connection.dispatch.after_cursor_execute:
        return connection.exec_driver_sql(sql, params).first()
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        row_type: Any = _ROW_TYPES.get(sql)
        if row_type is None:
            row_type = _ROW_TYPES[sql] = namedtuple("DriverRow", [column[0] for column in cursor.description])
        return None if row is None else row_type._make(row)
    except connection.dialect.loaded_dbapi.Error as error:
        connection._handle_dbapi_exception(error, sql, params, cursor, None)  # raises it as SQLAlchemy's
    finally:
        cursor.close()


_LOCK_PG = _driver_sql(_LOCK_COLUMNS + " FOR UPDATE OF m, a")

# After the locks, in a new snapshot: a twin that committed while we waited, a day finance approved meanwhile,
# the months another payment took, all are seen. One row; the payment's id is drawn only when it will be used.
# The agent's cash is his kept totals (AgentCashTotal: triggers keep them); when he holds some, its oldest day is
# read from the newest end of ix_payments_agent_settled_cash (payments/ledger/services.py oldest_undeposited).
_NEWEST_HELD = """
    SELECT h.paid_on FROM (
        SELECT paid_on, sum(amount_idr) OVER (ORDER BY paid_on DESC, recorded_at DESC, id DESC ROWS UNBOUNDED PRECEDING)
               AS newer_idr
        FROM payments WHERE agent_id = :agent_id AND channel = 'cash' AND status = 'settled'
    ) h WHERE h.newer_idr >= t.collected - t.deposited LIMIT 1"""
_TOTALS = """(
    SELECT coalesce(max(collected_idr), 0) AS collected, coalesce(max(deposited_idr), 0) AS deposited
    FROM agent_cash_totals WHERE agent_id = :agent_id) t"""
_AFTER_LOCKS_PG = _driver_sql(
    f"""
    SELECT e.id AS existing_id, e.request_fingerprint AS existing_fingerprint,
           (SELECT status FROM daily_batches WHERE agent_id = :agent_id AND business_date = :paid_on) AS batch_status,
           p.id AS period_id, p.first_month, p.started_on, p.ended_on, p.end_cause,
           ARRAY(SELECT month FROM payment_allocations
                 WHERE member_id = :member_id AND NOT reversed AND month >= p.first_month) AS settled,
           t.collected, t.deposited,
           CASE WHEN t.collected > t.deposited THEN ({_NEWEST_HELD}) END AS oldest,
           CASE WHEN e.id IS NULL THEN nextval(pg_get_serial_sequence('payments', 'id')) END AS new_payment_id
    FROM {_TOTALS}
    JOIN LATERAL (
        SELECT id, first_month, started_on, ended_on, end_cause FROM membership_periods
        WHERE member_id = :member_id ORDER BY started_on DESC, id DESC LIMIT 1
    ) p ON true
    LEFT JOIN payments e ON e.idempotency_key = :key
    """
)

_SQLITE_READS: dict[str, Executable] = {
    "existing": text("SELECT id, request_fingerprint FROM payments WHERE idempotency_key = :key"),
    "batch": text(
        "SELECT status FROM daily_batches WHERE agent_id = :agent_id AND business_date = :paid_on"
    ).bindparams(bindparam("paid_on", type_=Date())),
    "period": text(
        "SELECT id, first_month, started_on, ended_on, end_cause FROM membership_periods WHERE member_id = :member_id "
        "ORDER BY started_on DESC, id DESC LIMIT 1"
    ).columns(first_month=MonthType(), started_on=Date(), ended_on=Date()),
    "settled": text(
        "SELECT month FROM payment_allocations WHERE member_id = :member_id AND NOT reversed AND month >= :first"
    )
    .bindparams(bindparam("first", type_=MonthType()))
    .columns(month=MonthType()),
    "cash": text(
        f"SELECT t.collected, t.deposited, CASE WHEN t.collected > t.deposited THEN ({_NEWEST_HELD}) END AS oldest "
        f"FROM {_TOTALS}"
    ).columns(oldest=Date()),
}


@dataclass(frozen=True)
class Locked:
    """The member's and the agent's rows as locked, with the member's branch."""

    member_id: int
    name: str
    phone: str | None
    branch_id: int
    status: str
    paid_through: Month | None
    first_month: Month
    period_started_on: date
    terms: ContributionTerms
    branch_code: str
    timezone: str
    province_code: str
    regency_code: str
    agent_id: int
    agent_code: str
    agent_status: str
    agent_branch_id: int
    # The cash rules of the agent's branch (payments/ledger/services.py agent_cash)
    cash_limit_idr: int
    deposit_deadline_working_days: int
    agent_province_code: str
    agent_regency_code: str


@dataclass(frozen=True)
class AfterLocks:
    """What the rules need, read after the locks."""

    existing_id: int | None
    existing_fingerprint: str | None
    batch_status: str | None
    period_id: int
    period_first_month: Month
    period_started_on: date
    period_ended_on: date | None
    period_end_cause: str | None
    settled: frozenset[Month]  # the months settled in the period, not reversed
    collected_idr: int  # the agent's settled cash
    deposited_idr: int
    oldest_undeposited_on: date | None
    new_payment_id: int | None  # PostgreSQL: the id the payment will have (None on SQLite, or for a retry)


def lock_member_and_agent(session: DbSession, member_id: int, user_id: int) -> Locked | None:
    """Lock the member and the agent behind ``user_id`` (one statement); None if either is missing."""
    params = {"member_id": member_id, "user_id": user_id}
    if session.get_bind().dialect.name == "postgresql":
        row = _driver_row(session, _LOCK_PG, params)
        if row is None:
            return None
        # the dates psycopg returns: a month is stored as the date of its first day (core/extensions.py MonthType)
        paid_through = None if row.paid_through is None else Month.of(row.paid_through)
        first_month = Month.of(row.first_month)
    else:
        row = session.execute(_LOCK_SQLITE, params).first()
        if row is None:
            return None
        paid_through, first_month = row.paid_through, row.first_month
    return Locked(
        member_id=row.id,
        name=row.name,
        phone=row.phone,
        branch_id=row.branch_id,
        status=row.status,
        paid_through=paid_through,
        first_month=first_month,
        period_started_on=row.period_started_on,
        terms=ContributionTerms(
            bracket=row.bracket, package=Package(row.package), sector=Sector(row.sector), payer=Payer.SELF
        ),
        branch_code=row.branch_code,
        timezone=row.timezone,
        province_code=row.province_code,
        regency_code=row.regency_code,
        agent_id=row.agent_id,
        agent_code=row.agent_code,
        agent_status=row.agent_status,
        agent_branch_id=row.agent_branch_id,
        cash_limit_idr=row.cash_limit_idr,
        deposit_deadline_working_days=row.deposit_deadline_working_days,
        agent_province_code=row.agent_province_code,
        agent_regency_code=row.agent_regency_code,
    )


def read_after_locks(session: DbSession, locked: Locked, key: str, paid_on: date) -> AfterLocks:
    """Everything a cash payment's rules need, read once the member and the agent are locked."""
    params = {"member_id": locked.member_id, "agent_id": locked.agent_id, "key": key, "paid_on": paid_on}
    if session.get_bind().dialect.name == "postgresql":
        row = _driver_row(session, _AFTER_LOCKS_PG, params)
        return AfterLocks(
            existing_id=row.existing_id,
            existing_fingerprint=row.existing_fingerprint,
            batch_status=row.batch_status,
            period_id=row.period_id,
            period_first_month=Month.of(row.first_month),
            period_started_on=row.started_on,
            period_ended_on=row.ended_on,
            period_end_cause=row.end_cause,
            settled=frozenset(Month.of(m) for m in row.settled),
            collected_idr=int(row.collected),
            deposited_idr=int(row.deposited),
            oldest_undeposited_on=row.oldest,
            new_payment_id=row.new_payment_id,
        )
    existing = session.execute(_SQLITE_READS["existing"], params).first()
    batch_status = session.execute(_SQLITE_READS["batch"], params).scalar()
    period = session.execute(_SQLITE_READS["period"], params).one()
    settled = session.execute(_SQLITE_READS["settled"], params | {"first": period.first_month}).scalars()
    cash = session.execute(_SQLITE_READS["cash"], params).one()
    return AfterLocks(
        existing_id=existing.id if existing else None,
        existing_fingerprint=existing.request_fingerprint if existing else None,
        batch_status=batch_status,
        period_id=period.id,
        period_first_month=period.first_month,
        period_started_on=period.started_on,
        period_ended_on=period.ended_on,
        period_end_cause=period.end_cause,
        settled=frozenset(settled),
        collected_idr=int(cash.collected),
        deposited_idr=int(cash.deposited),
        oldest_undeposited_on=cash.oldest,
        new_payment_id=None,
    )


@dataclass(frozen=True)
class StatusChange:
    """A change of the member's status; ``cause`` may name ``{payment_id}``, filled in when the payment has it."""

    from_status: str | None
    to_status: str
    changed_on: date
    cause: str


@dataclass(frozen=True)
class CashPayment:
    """Everything one cash payment writes, worked out by the rules before anything is written."""

    payment_id: int | None  # drawn by the read after the locks on PostgreSQL; None: the insert assigns it
    member_id: int
    amount_idr: int
    credit_idr: int
    paid_on: date
    agent_id: int
    actor_id: int
    idempotency_key: str
    fingerprint: str
    now: datetime
    allocations: tuple[Allocation, ...]
    verification_code: str
    phone: str | None
    member_values: dict[str, Any]  # the member's columns that change (empty: none)
    status_changes: tuple[StatusChange, ...] = ()
    close_period: tuple[int, date | None, str | None] | None = None  # (id, ended_on, end_cause)
    open_period_on: date | None = None  # a new period from this day and its month (a payment after a lapse)


# What the receipt's number, the text's body and the audit details are, given the payment's id.
Describe = Callable[[int], tuple[str, str, dict[str, Any]]]


def write_cash_payment(session: DbSession, new: CashPayment, describe: Describe) -> tuple[int, str]:
    """Write the payment and everything that goes with it; returns its id and the receipt's number."""
    if session.get_bind().dialect.name == "postgresql" and new.payment_id is not None:
        number, body, details = describe(new.payment_id)
        statement, params = _cte(new, new.payment_id, number, body, details)
        _driver_row(session, statement, params)
        return new.payment_id, number
    return _write_plain(session, new, describe)


_CTE_CACHE: dict[tuple[Any, ...], str] = {}
_PAYMENT = """p AS (
    INSERT INTO payments (id, member_id, channel, amount_idr, credit_idr, paid_on, status, agent_id,
                          recorded_by_user_id, idempotency_key, request_fingerprint, recorded_at)
    VALUES (:payment_id, :member_id, 'cash', :amount_idr, :credit_idr, :paid_on, 'settled', :agent_id, :actor_id,
            :idempotency_key, :fingerprint, :now) RETURNING id)"""
_ALLOCATIONS = """a AS (
    INSERT INTO payment_allocations (payment_id, member_id, month, amount_idr, reversed)
    SELECT p.id, :member_id, u.month, u.amount_idr, false
    FROM p, unnest(CAST(:months AS date[]), CAST(:amounts AS integer[])) AS u(month, amount_idr))"""
_RECEIPT = """r AS (
    INSERT INTO receipts (payment_id, number, verification_code, issued_at)
    SELECT p.id, :number, :verification_code, :now FROM p)"""
_TEXT = """o AS (
    INSERT INTO outbox_messages (kind, recipient, body, dedupe_key, created_at, attempts)
    SELECT 'receipt', :phone, :body, NULL, :written_at, 0 FROM p)"""
_AUDIT = """e AS (
    INSERT INTO audit_events (at, actor_user_id, action, entity_type, entity_id, ip, device, details)
    SELECT :written_at, :actor_id, 'contribution.recorded', 'payment', CAST(p.id AS varchar), :ip, :device,
           CAST(:details AS json) FROM p)"""
_CLOSE_PERIOD = """c AS (
    UPDATE membership_periods SET ended_on = :period_ended_on, end_cause = :period_end_cause WHERE id = :period_id)"""
_OPEN_PERIOD = """n AS (
    INSERT INTO membership_periods (member_id, started_on, first_month) VALUES (:member_id, :open_on, :open_month))"""
_STATUS = """s{i} AS (
    INSERT INTO member_status_changes (member_id, from_status, to_status, changed_on, cause, recorded_at)
    VALUES (:member_id, :from_status_{i}, :to_status_{i}, :changed_on_{i}, :cause_{i}, :written_at))"""


def _cte(
    new: CashPayment, payment_id: int, number: str, body: str, details: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """One data-modifying statement for the whole payment (PostgreSQL), its text for the driver cached per shape;
    the parameters as psycopg takes them (a month as the date of its first day)."""
    member_columns = tuple(sorted(new.member_values))
    shape = (
        bool(new.allocations),
        new.phone is not None,
        member_columns,
        len(new.status_changes),
        new.close_period is not None,
        new.open_period_on is not None,
    )
    statement = _CTE_CACHE.get(shape)
    if statement is None:
        parts = [_PAYMENT, _RECEIPT, _AUDIT]
        if new.allocations:
            parts.append(_ALLOCATIONS)
        if new.phone is not None:
            parts.append(_TEXT)
        if member_columns:
            sets = ", ".join(f"{column} = :member_{column}" for column in member_columns)
            parts.append(f"m AS (UPDATE members SET {sets}, updated_at = :written_at WHERE id = :member_id)")
        for i in range(len(new.status_changes)):
            parts.append(_STATUS.format(i=i))
        if new.close_period is not None:
            parts.append(_CLOSE_PERIOD)
        if new.open_period_on is not None:
            parts.append(_OPEN_PERIOD)
        statement = _driver_sql("WITH " + ",\n".join(parts) + "\nSELECT id FROM p")
        _CTE_CACHE[shape] = statement
    ip, device = origin()
    params: dict[str, Any] = {
        "payment_id": payment_id,
        "member_id": new.member_id,
        "amount_idr": new.amount_idr,
        "credit_idr": new.credit_idr,
        "paid_on": new.paid_on,
        "agent_id": new.agent_id,
        "actor_id": new.actor_id,
        "idempotency_key": new.idempotency_key,
        "fingerprint": new.fingerprint,
        "now": new.now,
        "written_at": utcnow(),  # what the columns' defaults would write (core/outbox.py, core/audit.py)
        "number": number,
        "verification_code": new.verification_code,
        "phone": new.phone,
        "body": body,
        "ip": ip,
        "device": device,
        "details": json.dumps(details),
        "months": [a.month.first_day() for a in new.allocations],
        "amounts": [a.amount_idr for a in new.allocations],
    }
    params |= {
        f"member_{column}": value.first_day() if isinstance(value, Month) else value
        for column, value in new.member_values.items()
    }
    for i, change in enumerate(new.status_changes):
        params |= {
            f"from_status_{i}": change.from_status,
            f"to_status_{i}": change.to_status,
            f"changed_on_{i}": change.changed_on,
            f"cause_{i}": change.cause.format(payment_id=payment_id),
        }
    if new.close_period is not None:
        params |= dict(zip(("period_id", "period_ended_on", "period_end_cause"), new.close_period, strict=True))
    if new.open_period_on is not None:
        params |= {"open_on": new.open_period_on, "open_month": Month.of(new.open_period_on).first_day()}
    return statement, params


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _write_plain(session: DbSession, new: CashPayment, describe: Describe) -> tuple[int, str]:
    """The same writes as plain Core statements, one after another (SQLite)."""
    written_at = utcnow()
    payment_id = session.execute(
        insert(_table(Payment))
        .values(
            member_id=new.member_id,
            channel=Channel.CASH,
            amount_idr=new.amount_idr,
            credit_idr=new.credit_idr,
            paid_on=new.paid_on,
            status=PaymentStatus.SETTLED,
            agent_id=new.agent_id,
            recorded_by_user_id=new.actor_id,
            idempotency_key=new.idempotency_key,
            request_fingerprint=new.fingerprint,
            recorded_at=new.now,
        )
        .returning(_table(Payment).c.id)
    ).scalar_one()
    number, body, details = describe(payment_id)
    if new.allocations:
        session.execute(
            insert(_table(PaymentAllocation)),
            [
                {"payment_id": payment_id, "member_id": new.member_id, "month": a.month, "amount_idr": a.amount_idr}
                for a in new.allocations
            ],
        )
    session.execute(
        insert(_table(Receipt)).values(
            payment_id=payment_id, number=number, verification_code=new.verification_code, issued_at=new.now
        )
    )
    if new.phone is not None:
        session.execute(
            insert(_table(OutboxMessage)).values(
                kind="receipt", recipient=new.phone, body=body, dedupe_key=None, created_at=written_at
            )
        )
    ip, device = origin()
    session.execute(
        insert(_table(AuditEvent)).values(
            at=written_at,
            actor_user_id=new.actor_id,
            action="contribution.recorded",
            entity_type="payment",
            entity_id=str(payment_id),
            ip=ip,
            device=device,
            details=details,
        )
    )
    if new.member_values:
        session.execute(
            update(_table(MemberRow))
            .where(_table(MemberRow).c.id == new.member_id)
            .values(**new.member_values, updated_at=written_at)
        )
    for change in new.status_changes:
        session.execute(
            insert(_table(MemberStatusChange)).values(
                member_id=new.member_id,
                from_status=change.from_status,
                to_status=change.to_status,
                changed_on=change.changed_on,
                cause=change.cause.format(payment_id=payment_id),
                recorded_at=written_at,
            )
        )
    if new.close_period is not None:
        period_id, ended_on, end_cause = new.close_period
        session.execute(
            update(_table(MembershipPeriod))
            .where(_table(MembershipPeriod).c.id == period_id)
            .values(ended_on=ended_on, end_cause=end_cause)
        )
    if new.open_period_on is not None:
        session.execute(
            insert(_table(MembershipPeriod)).values(
                member_id=new.member_id, started_on=new.open_period_on, first_month=Month.of(new.open_period_on)
            )
        )
    return payment_id, number
