"""Callbacks applied in bulk: the same outcome as one by one, a failed batch replayed event by event, workers that
share a backlog booking each event once, and a batch's statements that do not grow with its events."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from collection.members.models import Member, MembershipPeriod, PaymentAllocation, VisitItem
from core.audit import AuditEvent
from core.extensions import db
from core.outbox import OutboxMessage
from payments.autodebit.models import DebitAttempt, DebitRequest, WebhookEvent
from payments.autodebit.providers import configured_providers
from payments.autodebit.services import process_webhook_events
from payments.ledger.models import Payment, Receipt
from tests.factories import nik_for, sent_debit
from tests.payments.autodebit.test_webhooks import midtrans, post
from tests.statements import captured


def process(app: Any, bulk: bool = True, batch: int = 500, links: Any = None) -> int:
    with app.app_context():
        return process_webhook_events(
            db.session,
            configured_providers(app.config),
            app.config["CLOCK"](),
            app.config["PUBLIC_BASE_URL"],
            batch=batch,
            bulk=bulk,
            links=links,
        )


@pytest.fixture
def members(pinned_app: Any, enrol: Any) -> Callable[[int], list[int]]:
    """``members(n)``: n members like one enrolled through the API (copied in the database: enrolling each through
    the API would take the test's time), each with his own protection period."""
    template = enrol()["id"]
    made = [0]

    def make(count: int) -> list[int]:
        with pinned_app.app_context():
            source = db.session.get(Member, template)
            period = db.session.scalars(select(MembershipPeriod).where(MembershipPeriod.member_id == template)).one()
            columns = [c.key for c in Member.__table__.columns if c.key not in ("id", "nik", "kpj")]
            ids = []
            for _ in range(count):
                made[0] += 1
                serial = 100 + made[0]
                copy = Member(**{c: getattr(source, c) for c in columns if c != "phone"}, nik=nik_for(serial=serial))
                copy.kpj, copy.phone = f"9{serial:010d}", f"+62812{serial:07d}"
                db.session.add(copy)
                db.session.flush()
                db.session.add(
                    MembershipPeriod(member_id=copy.id, started_on=period.started_on, first_month=period.first_month)
                )
                ids.append(copy.id)
            db.session.commit()
            return ids

    return make


def callback(client: Any, order_id: str, status: str = "settlement", amount: int = 8_400, again: str = "") -> None:
    """Post the provider's signed callback: its transaction id is the order's own (the event key is made of it)."""
    response = post(client, midtrans(order_id, status, amount, transaction_id=f"trx-{order_id}{again}"))
    assert response.status_code == 200 and response.get_json()["duplicate"] is False


def debits(app: Any, member_ids: list[int], tag: str) -> list[str]:
    """A sent debit of Rp8.400 for each member; their order ids."""
    return [sent_debit(app, m, f"SBX-{tag}-{m}", order_id=f"IUR-{tag}-{m}")[2] for m in member_ids]


def outcome(app: Any, orders: dict[str, str]) -> dict[str, Any]:
    """What the events did, by role (``orders`` maps each order id to its role), ids and codes taken out."""

    def named(text: str | None) -> str | None:
        if text is None:
            return None
        for order_id, role in orders.items():
            text = text.replace(order_id, role)
        return re.sub(r"[A-Z]{3}-\d{6}-\d{8}|kode [0-9A-Z]{10}|/r/[0-9A-Z]{10}", "#", text)

    with app.app_context():
        events = db.session.scalars(select(WebhookEvent).where(WebhookEvent.order_id.in_(orders))).all()
        attempts = db.session.scalars(select(DebitAttempt).where(DebitAttempt.order_id.in_(orders))).all()
        requests = {a.order_id: db.session.get(DebitRequest, a.debit_request_id) for a in attempts}
        rows = db.session.execute(
            select(Payment.id, Payment.idempotency_key, Payment.channel, Payment.amount_idr, Payment.status).where(
                Payment.idempotency_key.in_([f"debit:{o}" for o in orders])
            )
        ).all()
        payments = {
            orders[key.removeprefix("debit:")]: (channel, amount, status) for _, key, channel, amount, status in rows
        }
        role_of_payment = {str(pid): orders[key.removeprefix("debit:")] for pid, key, *_ in rows}
        audits = sorted(
            (
                role_of_payment[a.entity_id],
                a.action,
                a.actor_user_id,
                a.ip,
                {**a.details, "member_id": 0, "receipt": "#"},
            )
            for a in db.session.scalars(select(AuditEvent).where(AuditEvent.entity_id.in_(role_of_payment)))
            if a.entity_type == "payment"
        )
        member_of = {a.order_id: requests[a.order_id].member_id for a in attempts}
        role_of_member = {m: orders[o] for o, m in member_of.items()}
        members = {
            orders[o]: (m.status, str(m.paid_through))
            for o, m_id in member_of.items()
            for m in [db.session.get(Member, m_id)]
        }
        phones = {db.session.get(Member, m).phone for m in member_of.values()}
        texts = sorted(
            (t.kind, named(t.body))
            for t in db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient.in_(phones)))
        )
        return {
            "events": sorted((orders.get(e.order_id or "", e.order_id), e.state, named(e.note)) for e in events),
            "attempts": sorted(
                (orders[a.order_id], a.status, named(a.provider_transaction_id), a.failure_reason) for a in attempts
            ),
            "requests": sorted(
                (orders[o], r.status, r.next_attempt_on, r.failure_reason, r.payment_id is not None)
                for o, r in requests.items()
            ),
            "payments": payments,
            "audit": audits,
            "visits": sorted(
                (role_of_member[v.member_id], v.reason, v.agent_id, named(v.note), v.resolved_at)
                for v in db.session.scalars(select(VisitItem).where(VisitItem.member_id.in_(role_of_member)))
            ),
            "members": members,
            "texts": texts,
        }


def mixed_batch(app: Any, client: Any, orders: list[str], unknown: str) -> dict[str, str]:
    """Settled, failed, pending, duplicate, late, contradicting, wrong-amount and unknown callbacks, interleaved."""
    settled, failed, pending, twice, late, contra, wrong, pend_then_settle, final = orders
    with app.app_context():  # not yet acknowledged by the provider: its pending callback moves it
        db.session.execute(update(DebitAttempt).where(DebitAttempt.order_id == pending).values(status="created"))
        request_id = db.session.scalar(select(DebitAttempt.debit_request_id).where(DebitAttempt.order_id == final))
        db.session.execute(update(DebitRequest).where(DebitRequest.id == request_id).values(attempts=4))  # the last
        db.session.commit()
    callback(client, settled, "settlement")
    callback(client, failed, "deny")
    callback(client, twice, "settlement")
    callback(client, unknown, "settlement")
    callback(client, pending, "pending")
    callback(client, late, "settlement")
    callback(client, twice, "settlement", again="-trx-again")  # same order, another delivery
    callback(client, wrong, "settlement", 16_800)
    callback(client, late, "pending")  # older than what the first said
    callback(client, contra, "settlement")
    callback(client, pend_then_settle, "pending")
    callback(client, contra, "deny", again="-trx-deny")
    callback(client, pend_then_settle, "settlement")
    callback(client, final, "deny")
    roles = ["settled", "failed", "pending", "twice", "late", "contra", "wrong", "pend_then_settle", "final"]
    return dict(zip(orders, roles, strict=True)) | {unknown: "unknown"}


def test_a_mixed_batch_in_bulk_ends_exactly_as_one_by_one(pinned_app, client, members, caplog):
    one_by_one = mixed_batch(pinned_app, client, debits(pinned_app, members(9), "A"), "IUR-UNKNOWN-A")
    assert process(pinned_app, bulk=False) == 14
    bulk = mixed_batch(pinned_app, client, debits(pinned_app, members(9), "B"), "IUR-UNKNOWN-B")
    with caplog.at_level(logging.WARNING, logger="payments.autodebit.services"):
        assert process(pinned_app, bulk=True) == 14
    assert "replaying" not in caplog.text  # the bulk path applied the batch (and left what it must to one by one)

    expected, got = outcome(pinned_app, one_by_one), outcome(pinned_app, bulk)
    assert got == expected
    # and the outcome is the one the rules give (not two paths equally wrong)
    assert got["payments"] == {
        r: ("auto_debit", 8_400, "settled") for r in ("settled", "twice", "late", "contra", "pend_then_settle")
    }
    states = {(role, state) for role, state, _ in got["events"]}
    assert ("unknown", "review") in states and ("wrong", "review") in states and ("twice", "ignored") in states
    assert ("failed", "processed") in states and ("contra", "review") in states
    assert [t for t in got["texts"] if t[0] == "receipt"] == [
        (
            "receipt",
            "BPJS Ketenagakerjaan: iuran Rp8.400 untuk 2026-11 diterima. Kuitansi #, #. Cek: "
            f"{pinned_app.config['PUBLIC_BASE_URL']}#",
        )
    ] * 5
    assert [(role, action) for role, action, *_ in got["audit"]] == [
        (r, "contribution.recorded") for r in sorted(got["payments"])
    ]
    assert [(role, reason) for role, reason, *_ in got["visits"]] == [("final", "debit_failed")]
    assert [body for kind, body in got["texts"] if kind == "debit_failed"] == [
        "BPJS Ketenagakerjaan: autodebet iuran 2026-11 gagal (saldo tidak cukup). Bayar lewat agen Perisai sebelum "
        "jatuh tempo agar perlindungan tetap aktif."
    ]
    assert ("pending", "pending", "trx-pending", None) in got["attempts"]
    assert ("failed", "failed", "trx-failed", "insufficient_funds") in got["attempts"]
    assert [(role, status) for role, status, *_ in got["requests"] if role in ("failed", "final")] == [
        ("failed", "retry"),
        ("final", "failed"),
    ]


def test_a_batch_that_fails_in_bulk_is_replayed_event_by_event(pinned_app, client, members, caplog):
    first, poisoned, last = debits(pinned_app, members(3), "P")
    with pinned_app.app_context():  # a payment already holds the key the poisoned settlement books under
        member_id = db.session.scalar(
            select(DebitRequest.member_id).join(DebitAttempt).where(DebitAttempt.order_id == poisoned)
        )
        db.session.execute(
            insert(Payment).values(
                member_id=member_id,
                channel="auto_debit",
                amount_idr=8_400,
                paid_on=pinned_app.config["CLOCK"]().date(),
                idempotency_key=f"debit:{poisoned}",
                request_fingerprint="x",
                status="settled",
            )
        )
        db.session.commit()
    for order_id in (first, poisoned, last):
        callback(client, order_id, "settlement")

    with caplog.at_level(logging.WARNING, logger="payments.autodebit.services"):
        assert process(pinned_app) == 3

    assert "replaying one by one" in caplog.text  # the bulk path failed on the poisoned row
    with pinned_app.app_context():
        events = {e.order_id: (e.state, e.note) for e in db.session.scalars(select(WebhookEvent))}
        assert events[first] == ("processed", None) and events[last] == ("processed", None)
        assert events[poisoned][0] == "review" and events[poisoned][1].startswith("could not apply")
        statuses = dict(db.session.execute(select(DebitAttempt.order_id, DebitAttempt.status)).all())
        assert statuses == {first: "settled", poisoned: "pending", last: "settled"}
        keys = sorted(db.session.scalars(select(Payment.idempotency_key)))
        assert keys == sorted(f"debit:{o}" for o in (first, poisoned, last))  # nothing doubled, nothing lost
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 2
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "receipt")) == 2


def count_statements(app: Any, run: Callable[[], object]) -> int:
    with app.app_context():
        engine = db.engine
    with captured(engine) as seen:
        run()
    return len(seen)


def test_a_batch_takes_the_same_statements_for_ten_events_as_for_a_hundred(pinned_app, client, members):
    small = debits(pinned_app, members(10), "S")
    for order_id in small:
        callback(client, order_id, "settlement")
    ten = count_statements(pinned_app, lambda: process(pinned_app))
    large = debits(pinned_app, members(100), "L")
    for order_id in large:
        callback(client, order_id, "settlement")
    hundred = count_statements(pinned_app, lambda: process(pinned_app))

    assert hundred <= ten <= 25  # one by one, it took 16 statements an event (the first run reads the holidays)
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).where(DebitAttempt.status == "settled")) == 110
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 110


@pytest.mark.postgresql_only
def test_two_workers_sharing_a_backlog_book_each_event_once(pinned_app, client, members, caplog):
    orders = debits(pinned_app, members(60), "W")
    for order_id in orders:
        callback(client, order_id, "settlement")
    for order_id in orders[::4]:  # redelivered under another key: must be ignored, not booked twice
        callback(client, order_id, "settlement", again="-trx-again")
    handled: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            handled.append(process(pinned_app, batch=7))  # its own app context: its own session and connection
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    with caplog.at_level(logging.WARNING, logger="payments.autodebit.services"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == [] and sum(handled) == 75
    assert "replaying" not in caplog.text
    with pinned_app.app_context():
        states = dict(db.session.execute(select(WebhookEvent.state, func.count()).group_by(WebhookEvent.state)).all())
        assert states == {"processed": 60, "ignored": 15}
        keys = list(db.session.scalars(select(Payment.idempotency_key)))
        assert sorted(keys) == sorted(f"debit:{o}" for o in orders)
        assert db.session.scalar(select(func.count()).where(DebitAttempt.status == "settled")) == 60
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "receipt")) == 60


@pytest.mark.parametrize("bulk", [True, False])
def test_two_debits_of_one_member_in_one_batch_pay_successive_months(pinned_app, client, members, caplog, bulk):
    member = members(1)[0]
    mandate, _, november = sent_debit(pinned_app, member, "SBX-TWO", order_id="IUR-TWO-11")
    _, _, december = sent_debit(pinned_app, member, "", (2026, 12), mandate_id=mandate, order_id="IUR-TWO-12")
    callback(client, november)
    callback(client, december)

    with caplog.at_level(logging.WARNING, logger="payments.autodebit.services"):
        assert process(pinned_app, bulk=bulk) == 2

    assert "replaying" not in caplog.text
    with pinned_app.app_context():
        paid = db.session.execute(
            select(Payment.idempotency_key, PaymentAllocation.month)
            .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
            .where(Payment.member_id == member)
            .order_by(PaymentAllocation.month)
        ).all()
        assert [(key, str(month)) for key, month in paid] == [
            (f"debit:{november}", "2026-11"),
            (f"debit:{december}", "2026-12"),  # the second saw the month the first paid
        ]
        assert str(db.session.get(Member, member).paid_through) == "2026-12"
