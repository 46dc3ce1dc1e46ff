"""Callbacks in batches attacked from outside: garbage stored, a lapsed member, a member without a period, two
members' events interleaved, a settlement of an attempt settled already; bulk and one by one must end alike."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update

from collection.members.models import Member, MembershipPeriod, PaymentAllocation
from core.clock import utcnow
from core.extensions import db
from core.months import Month
from core.outbox import OutboxMessage
from payments.autodebit.models import DebitAttempt, WebhookEvent
from payments.ledger.models import Payment, Receipt
from tests.factories import sent_debit
from tests.payments.autodebit.test_batches import callback, debits, members, outcome, process
from tests.payments.autodebit.test_webhooks import provider, settled_at_provider

__all__ = ["members", "provider"]  # the fixtures


def odd_batch(app: Any, client: Any, member_ids: list[int], tag: str, gone: bool) -> dict[str, str]:
    """Garbage stored for a real order, a lapsed member's settlement, a member without a period, two members'
    pending and settled callbacks interleaved with a second debit of one of them, a settlement twice."""
    garbage, lapsed, no_period = debits(app, member_ids[:3], tag)
    b1, settled_twice = debits(app, member_ids[4:6], tag)
    mandate, _, a1 = sent_debit(app, member_ids[3], f"SBX-{tag}-A", order_id=f"IUR-{tag}-A1")
    _, _, a2 = sent_debit(app, member_ids[3], "", (2026, 12), mandate_id=mandate, order_id=f"IUR-{tag}-A2")
    with app.app_context():
        db.session.execute(update(DebitAttempt).where(DebitAttempt.order_id.in_([a1, b1])).values(status="created"))
        lapsed_id, gone_id = member_ids[1], member_ids[2]
        db.session.execute(
            update(MembershipPeriod).where(MembershipPeriod.member_id == lapsed_id).values(first_month=Month(2025, 10))
        )
        db.session.execute(update(Member).where(Member.id == lapsed_id).values(first_month=Month(2025, 10)))
        if gone:  # no member is without one (enrolment and both imports write it): a broken row
            db.session.execute(delete(MembershipPeriod).where(MembershipPeriod.member_id == gone_id))
        db.session.add(
            WebhookEvent(
                provider="midtrans",
                event_key=f"garbage-{tag}",
                order_id=garbage,
                raw_body="{not json",
                received_at=utcnow(),
                state="received",
            )
        )
        db.session.commit()
    callback(client, lapsed)
    callback(client, a1, "pending")
    callback(client, no_period)
    callback(client, b1, "pending")
    callback(client, settled_twice)
    callback(client, a1)
    callback(client, b1)
    callback(client, a2)
    callback(client, settled_twice, again="-again")
    roles = ["garbage", "lapsed", "no_period", "a1", "b1", "settled_twice", "a2"]
    return dict(zip([garbage, lapsed, no_period, a1, b1, settled_twice, a2], roles, strict=True))


@pytest.mark.parametrize("gone", [False, True])
def test_odd_callbacks_in_bulk_end_exactly_as_one_by_one(pinned_app, client, members, caplog, gone):
    one_by_one = odd_batch(pinned_app, client, members(6), "X", gone)
    assert process(pinned_app, bulk=False) == 10
    bulk = odd_batch(pinned_app, client, members(6), "Y", gone)
    with caplog.at_level(logging.WARNING, logger="payments.autodebit.services"):
        assert process(pinned_app, bulk=True) == 10

    # a member without a period (a broken row) fails the whole batch in bulk: it is replayed one by one
    assert ("replaying" in caplog.text) == gone
    expected, got = outcome(pinned_app, one_by_one), outcome(pinned_app, bulk)
    for found in (expected, got):  # the notes name the member's id
        found["events"] = [(r, s, n and re.sub(r"member \d+", "member #", n)) for r, s, n in found["events"]]
    assert got == expected
    states = {(role, state) for role, state, _ in got["events"]}
    assert ("garbage", "review") in states and ("settled_twice", "ignored") in states
    assert set(got["payments"]) == {"lapsed", "a1", "b1", "settled_twice", "a2"} | (set() if gone else {"no_period"})
    assert got["members"]["a1"] == ("active", "2026-12")


WORKER = """
import sys
from app import create_app
from core.extensions import db
from payments.autodebit.providers import configured_providers
from payments.autodebit.services import process_webhook_events
from tests.factories import NOW

app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "REDIS_URL": sys.argv[2],
                  "SECRET_KEY": "test"})
with app.app_context():
    process_webhook_events(db.session, configured_providers(app.config), NOW, "https://x.test", batch=2)
"""


@pytest.mark.postgresql_only
def test_a_worker_killed_mid_batch_loses_nothing_and_books_nothing_twice(
    pinned_app, client, members, database_url, redis_url
):
    """A worker applies batches of two; the test holds the fourth event's member, so the worker waits inside its
    second batch (the first committed); it is killed with SIGKILL there. After a restart every event is applied
    once."""
    ids = members(6)
    orders = debits(pinned_app, ids, "K")
    for order_id in orders:
        callback(client, order_id)
    with pinned_app.app_context():
        holder = db.engine.connect()
    holder.execute(text("BEGIN"))
    holder.execute(text("SELECT id FROM members WHERE id = :id FOR UPDATE"), {"id": ids[3]})
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    worker = subprocess.Popen([sys.executable, "-c", WORKER, database_url, redis_url], env=env)
    try:
        for _ in range(600):  # until the worker waits for our lock (a state polled, not a time)
            waiting = holder.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                )
            ).scalar()
            if waiting or worker.poll() is not None:
                break
            time.sleep(0.1)
        assert worker.poll() is None, "the worker ended before it reached the held member"
        assert waiting
        with pinned_app.app_context():
            states = sorted(db.session.scalars(select(WebhookEvent.state)))
            assert states.count("processed") == 2  # the first batch committed, the second is under way
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        holder.rollback()
        holder.close()

    assert process(pinned_app) == 4  # the restart: the killed batch and the one after it
    with pinned_app.app_context():
        assert sorted(db.session.scalars(select(WebhookEvent.state))) == ["processed"] * 6
        keys = sorted(db.session.scalars(select(Payment.idempotency_key)))
        assert keys == sorted(f"debit:{o}" for o in orders)
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 6
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "receipt")) == 6
        assert db.session.scalar(select(func.count()).select_from(PaymentAllocation)) == 6


def refund_batch(app: Any, client: Any, sandbox: Any, member_ids: list[int], tag: str) -> dict[str, str]:
    """In one batch: A's settlement, B's, A's refund of it, then A's second debit settled."""
    a, b = member_ids
    mandate, _, first = sent_debit(app, a, f"SBX-{tag}-A", order_id=f"IUR-{tag}-A1")
    _, _, second = sent_debit(app, a, "", (2026, 12), mandate_id=mandate, order_id=f"IUR-{tag}-A2")
    (other,) = debits(app, [b], tag)
    settled_at_provider(sandbox, first, 8_400)
    sandbox.refund(first)
    callback(client, first)
    callback(client, other)
    callback(client, first, "refund", again="-refund")
    callback(client, second)
    return {first: "refunded", second: "second", other: "other"}


def test_a_refund_inside_a_batch_ends_as_one_by_one(pinned_app, client, members, provider, caplog):
    one_by_one = refund_batch(pinned_app, client, provider, members(2), "R")
    assert process(pinned_app, bulk=False) == 4
    bulk = refund_batch(pinned_app, client, provider, members(2), "S")
    with caplog.at_level(logging.WARNING, logger="payments.autodebit.services"):
        assert process(pinned_app, bulk=True) == 4

    assert "replaying" not in caplog.text
    expected, got = outcome(pinned_app, one_by_one), outcome(pinned_app, bulk)
    assert got == expected
    assert got["payments"]["refunded"][2] == "reversed"
    assert got["members"]["second"] == ("active", "2026-11")  # the second debit took the month the refund reopened
