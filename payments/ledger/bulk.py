"""Booking many payments at once: the members' positions read for a whole batch in a few queries, and the
payments, allocations, receipts, texts, audit events and standings written with one statement each.

It mirrors payments/ledger/services.py ``book_payment`` (the one-by-one path, which stays the reference): the same
allocation, receipt number and code, text, audit details and standing. A batch holds each member once, and only
members whose payment opens no new period (a lapsed member's payment goes one by one: it ends the old period).
The caller holds the members' locks (:func:`lock_members`) and commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, Select, Table, bindparam, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from collection.members.arrears import MemberStatus
from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.position import MemberPosition, position_from
from collection.members.services import holidays_for, load_rate_table, terms_of
from core.audit import AuditEvent
from core.clock import utcnow
from core.extensions import DbSession, among
from core.months import Month
from core.outbox import OutboxMessage
from organisation.models import Branch
from payments.ledger.allocation import Due, allocate
from payments.ledger.models import Channel, Payment, PaymentStatus, Receipt
from payments.ledger.receipts import new_verification_code, receipt_link, receipt_number, receipt_text


def insert_rows(
    session: DbSession, model: type[Any], rows: Sequence[Mapping[str, Any]], skip_duplicates: bool = False
) -> None:
    """Insert rows (dicts with the same keys, every column without a server default given) in one statement: on
    PostgreSQL ``INSERT ... SELECT FROM unnest(...)`` with one array a column, elsewhere an executemany.
    ``skip_duplicates``: a row a unique key already holds is not inserted (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name != "postgresql":
        session.execute(sqlite_insert(table).on_conflict_do_nothing() if skip_duplicates else insert(table), list(rows))
        return
    names = list(rows[0])
    arrays, params = _arrays(session, table, names, rows)
    quote = session.get_bind().dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    session.execute(
        text(
            f"INSERT INTO {quote(table.name)} ({columns}) SELECT * FROM unnest({', '.join(arrays)})"
            + (" ON CONFLICT DO NOTHING" if skip_duplicates else "")
        ),
        params,
    )


def update_rows(session: DbSession, model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """Update rows by ``id`` (dicts, ``id`` among their keys) in one statement for each set of keys: on PostgreSQL
    ``UPDATE ... FROM unnest(...)``, elsewhere an executemany."""
    if not rows:
        return
    shapes: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    if len(shapes) > 1:
        for same in shapes.values():
            update_rows(session, model, same)
        return
    table = cast(Table, model.__table__)
    names = [n for n in rows[0] if n != "id"]
    if session.get_bind().dialect.name != "postgresql":
        statement = update(table).where(table.c.id == bindparam("row_id"))
        session.execute(
            statement.values({n: bindparam(f"v_{n}") for n in names}),
            [{"row_id": r["id"]} | {f"v_{n}": r[n] for n in names} for r in rows],
        )
        return
    arrays, params = _arrays(session, table, ["id", *names], rows)
    quote = session.get_bind().dialect.identifier_preparer.quote
    sets = ", ".join(f"{quote(n)} = v.{quote(n)}" for n in names)
    columns = ", ".join(quote(n) for n in names)
    name = quote(table.name)
    session.execute(
        text(f"UPDATE {name} SET {sets} FROM unnest({', '.join(arrays)}) AS v(id, {columns}) WHERE {name}.id = v.id"),
        params,
    )


def _arrays(
    session: DbSession, table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[list[str], dict[str, list[Any]]]:
    """Each column's values as one array parameter, cast to the column's type, through its bind processing."""
    dialect = session.get_bind().dialect
    arrays, params = [], {}
    for index, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        if isinstance(column.type, JSON):
            values = [None if v is None else json.dumps(v) for v in values]
        else:
            process = column.type.bind_processor(dialect)
            if process is not None:
                values = [process(v) for v in values]
        params[f"a{index}"] = values
        arrays.append(f"CAST(:a{index} AS {column.type.compile(dialect=dialect)}[])")
    return arrays, params


class NotBookableInBulk(Exception):
    """A booking the bulk writer does not make (the caller books it one by one instead)."""


def lock_members(session: DbSession, member_ids: Select[Any] | Iterable[int]) -> dict[int, Member]:
    """Lock the members, in id order (two batches that share members wait for each other, never deadlock), and
    read them afresh; one statement."""
    query = (
        select(Member)
        .where(Member.id.in_(member_ids) if isinstance(member_ids, Select) else among(session, Member.id, member_ids))
        .order_by(Member.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {member.id: member for member in session.scalars(query)}


def positions(
    session: DbSession, members: Sequence[Member], branches: Mapping[int, Branch], today_of: Callable[[Member], date]
) -> dict[int, MemberPosition]:
    """Each member's position on his branch's today: two statements for the batch (the current periods and the
    months settled), then :func:`position_from` as ``member_position`` computes it."""
    if not members:
        return {}
    ids = [m.id for m in members]
    current: dict[int, tuple[date, int, Month]] = {}
    for member_id, period_id, started_on, first_month in session.execute(
        select(
            MembershipPeriod.member_id, MembershipPeriod.id, MembershipPeriod.started_on, MembershipPeriod.first_month
        ).where(among(session, MembershipPeriod.member_id, ids))
    ):
        best = current.get(member_id)
        if best is None or (started_on, period_id) > best[:2]:  # the latest period, as current_period orders
            current[member_id] = (started_on, period_id, first_month)
    settled: dict[int, set[Month]] = {member_id: set() for member_id in ids}
    for member_id, month in session.execute(
        select(PaymentAllocation.member_id, PaymentAllocation.month).where(
            among(session, PaymentAllocation.member_id, ids), ~PaymentAllocation.reversed
        )
    ):
        settled[member_id].add(month)
    table = load_rate_table(session)
    holidays = {b.id: holidays_for(session, b, date.min, date.max) for b in branches.values()}  # all, cached
    result = {}
    for member in members:
        if member.id not in current:
            raise AssertionError(f"member {member.id} has no membership period")
        started_on, _, first_month = current[member.id]
        branch = branches[member.branch_id]
        result[member.id] = position_from(
            terms_of(member),
            first_month,
            started_on,
            {m for m in settled[member.id] if m >= first_month},
            table,
            lambda first, last, every=holidays[branch.id]: {d for d in every if first <= d <= last},  # type: ignore[misc]
            today_of(member),
        )
    return result


@dataclass(frozen=True)
class Booking:
    """One payment to book, with what ``book_payment`` takes."""

    member: Member
    branch: Branch
    position: MemberPosition
    amount_idr: int
    channel: Channel
    paid_on: date
    idempotency_key: str
    fingerprint: str
    agent_id: int | None
    actor_id: int | None
    today: date


@dataclass(frozen=True)
class Booked:
    payment_id: int
    receipt_number: str
    verification_code: str
    months: tuple[Month, ...]


def bookable(booking: Booking) -> bool:
    """Whether the bulk writer books it: a lapsed member's payment opens a new period, one by one."""
    return not booking.position.starts_new_period


def book_payments(session: DbSession, bookings: Sequence[Booking], now: datetime, public_base_url: str) -> list[Booked]:
    """Put the payments on the ledger as ``book_payment`` does each, in bulk: allocated earliest month first, a
    receipt each, the member texted, the standing re-derived, the audit log written. Returns what was booked, in
    the order of ``bookings``. Raises :class:`NotBookableInBulk` (having written nothing) for a member twice or a
    payment that opens a new period."""
    members = [b.member.id for b in bookings]
    if len(set(members)) != len(members):
        raise NotBookableInBulk("a member appears twice in the batch")
    for booking in bookings:
        if not bookable(booking):
            raise NotBookableInBulk(f"member {booking.member.id}'s payment opens a new period")
    if not bookings:
        return []
    if len({b.idempotency_key for b in bookings}) != len(bookings):
        raise NotBookableInBulk("two payments of the batch share an idempotency key")
    results = [allocate(b.amount_idr, [Due(d.month, d.amount_idr) for d in b.position.open_dues]) for b in bookings]
    # Many rows, no RETURNING (psycopg sends one short statement down a pipeline; a multi-row INSERT ... RETURNING is
    # a statement text as long as the batch), then the ids by their unique keys.
    insert_rows(
        session,
        Payment,
        [
            {
                "member_id": b.member.id,
                "channel": str(b.channel),
                "amount_idr": b.amount_idr,
                "credit_idr": r.credit_idr,
                "paid_on": b.paid_on,
                "status": str(PaymentStatus.SETTLED),
                "agent_id": b.agent_id,
                "recorded_by_user_id": b.actor_id,
                "idempotency_key": b.idempotency_key,
                "request_fingerprint": b.fingerprint,
                "recorded_at": now,
            }
            for b, r in zip(bookings, results, strict=True)
        ],
    )
    ids_by_key = {
        str(key): payment_id
        for key, payment_id in session.execute(
            select(Payment.idempotency_key, Payment.id).where(
                among(session, Payment.idempotency_key, [b.idempotency_key for b in bookings])
            )
        )
    }
    payment_ids = [ids_by_key[b.idempotency_key] for b in bookings]
    allocations = [
        {"payment_id": pid, "member_id": b.member.id, "month": a.month, "amount_idr": a.amount_idr, "reversed": False}
        for b, r, pid in zip(bookings, results, payment_ids, strict=True)
        for a in r.allocations
    ]
    if allocations:
        insert_rows(session, PaymentAllocation, allocations)
    booked = [
        Booked(pid, receipt_number(b.branch.code, b.today, pid), new_verification_code(), r.months)
        for b, r, pid in zip(bookings, results, payment_ids, strict=True)
    ]
    insert_rows(
        session,
        Receipt,
        [
            {
                "payment_id": k.payment_id,
                "number": k.receipt_number,
                "verification_code": k.verification_code,
                "issued_at": now,
            }
            for k in booked
        ],
    )
    changes, texts, audits, standings = [], [], [], []
    for b, k in zip(bookings, booked, strict=True):
        member, months = b.member, k.months
        standing = b.position.standing_after(months, b.today)
        if standing.status == MemberStatus.LAPSED and member.status != MemberStatus.LAPSED:
            raise NotBookableInBulk(f"member {member.id} would lapse on a payment")  # never: paying lapses nobody
        standings.append(
            {"id": member.id, "paid_through": standing.paid_through, "status": standing.status, "updated_at": utcnow()}
        )
        if standing.status != member.status:
            changes.append(
                {
                    "member_id": member.id,
                    "from_status": member.status,
                    "to_status": standing.status,
                    "changed_on": standing.lapsed_on or b.today,
                    "cause": f"payment {k.payment_id}",
                    "recorded_at": utcnow(),
                }
            )
        if member.phone:
            link = receipt_link(public_base_url, k.verification_code)
            texts.append(
                {
                    "kind": "receipt",
                    "recipient": member.phone,
                    "body": receipt_text(b.amount_idr, months, k.receipt_number, k.verification_code, link),
                    "dedupe_key": None,
                    "created_at": utcnow(),
                    "attempts": 0,
                }
            )
        audits.append(
            {
                "at": utcnow(),
                "action": "contribution.recorded",
                "entity_type": "payment",
                "entity_id": str(k.payment_id),
                "actor_user_id": b.actor_id,
                "ip": None,
                "device": None,
                "details": {
                    "member_id": member.id,
                    "channel": str(b.channel),
                    "amount_idr": b.amount_idr,
                    "months": [str(m) for m in months],
                    "receipt": k.receipt_number,
                },
            }
        )
    update_rows(session, Member, standings)  # the Member objects stay as read (the caller commits: they expire)
    if changes:
        insert_rows(session, MemberStatusChange, changes)
    if texts:
        insert_rows(session, OutboxMessage, texts)
    insert_rows(session, AuditEvent, audits)
    return booked
