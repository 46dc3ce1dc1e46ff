"""The outbox: a text is sent once, also when two delivery jobs run at the same time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select, true

from core import outbox
from core.audit import AuditEvent
from core.extensions import db
from core.outbox import CLAIM_SECONDS, OutboxMessage, OutgoingText, deliver_pending, queue_message, retry_delay
from tests.factories import NOW


class SlowSender:
    """A gateway that takes a while per text and remembers every send."""

    name = "slow"

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()
        self.lock = threading.Lock()

    def send(self, text: OutgoingText) -> None:
        time.sleep(0.05)
        with self.lock:
            self.sent[int(text.body)] += 1


def queue_texts(app: Any, count: int) -> None:
    with app.app_context():
        for number in range(count):
            queue_message(db.session, "test", "+6281234567890", str(number))
        db.session.commit()


def deliver(app: Any, sender: SlowSender, now: Any = NOW) -> int:
    with app.app_context():
        try:
            return deliver_pending(db.session, sender, now)
        finally:
            db.session.remove()


def test_two_deliveries_at_once_send_each_text_once(app):
    queue_texts(app, 12)
    sender = SlowSender()
    results: list[int] = []

    threads = [threading.Thread(target=lambda: results.append(deliver(app, sender))) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)  # the second starts while the first is sending
    for thread in threads:
        thread.join(timeout=60)

    assert sum(results) == 12
    assert sorted(sender.sent) == list(range(12))
    assert set(sender.sent.values()) == {1}


def test_a_text_claimed_by_a_delivery_that_died_is_sent_once_its_claim_runs_out(app):
    queue_texts(app, 1)
    with app.app_context():  # a delivery claimed it, then its worker was killed before it sent
        message = db.session.scalar(select(OutboxMessage))
        message.claimed_until = NOW + timedelta(seconds=CLAIM_SECONDS)
        db.session.commit()
    sender = SlowSender()

    assert deliver(app, sender) == 0  # still claimed: nobody else sends it meanwhile
    assert deliver(app, sender, NOW + timedelta(seconds=CLAIM_SECONDS + 1)) == 1
    assert sender.sent == Counter({0: 1})


def test_a_failed_send_is_tried_again_by_a_delivery_after_its_wait(app):
    class Failing(SlowSender):
        def send(self, text: OutgoingText) -> None:
            raise RuntimeError("gateway down")

    queue_texts(app, 1)
    assert deliver(app, Failing()) == 0
    sender = SlowSender()
    assert deliver(app, sender) == 0  # the next sweep at once leaves it: it waits a minute (retry_delay(1))
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert message.last_error == "gateway down" and message.claimed_until >= NOW + retry_delay(1)
    assert deliver(app, sender, NOW + retry_delay(1) + timedelta(seconds=5)) == 1
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert message.attempts == 2 and message.sent_at is not None


def test_a_long_delivery_keeps_its_later_claims_alive(app):
    """A run's claims are dated by the time it has taken, not by when it started: a second delivery that starts
    after the first's start plus the claim time still finds the first's current text claimed."""
    queue_texts(app, 4)
    sender = SlowSender()
    results: list[int] = []

    def deliver_with_short_claims(started: float) -> None:
        with app.app_context():  # each job passes the clock as it reads it when it starts
            try:
                results.append(deliver_pending(db.session, sender, NOW + timedelta(seconds=started), claim_seconds=1))
            finally:
                db.session.remove()

    sender_delay = SlowSender.send

    def slow_send(self: SlowSender, text: OutgoingText) -> None:
        time.sleep(0.6)
        sender_delay(self, text)

    SlowSender.send = slow_send  # type: ignore[method-assign]
    try:
        first = threading.Thread(target=deliver_with_short_claims, args=(0.0,))
        first.start()
        time.sleep(1.5)  # the first run is on its third text: its start plus the 1 s claim has passed
        second = threading.Thread(target=deliver_with_short_claims, args=(1.5,))
        second.start()
        first.join(timeout=60)
        second.join(timeout=60)
    finally:
        SlowSender.send = sender_delay  # type: ignore[method-assign]

    assert sum(results) == 4
    assert set(sender.sent.values()) == {1}


def test_a_backlog_larger_than_a_batch_goes_out_in_one_run(app):
    class Quick(SlowSender):
        def send(self, text: OutgoingText) -> None:
            self.sent[int(text.body)] += 1

    queue_texts(app, 25)
    sender = Quick()
    with app.app_context():
        assert deliver_pending(db.session, sender, NOW, batch=10) == 25

    assert sorted(sender.sent) == list(range(25))


class MeetingSender(SlowSender):
    """The first send of each of two deliveries waits until the other delivery is sending too."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=30)
        self.calls = 0

    def send(self, text: OutgoingText) -> None:
        with self.lock:
            self.sent[int(text.body)] += 1
            self.calls += 1
            meet = self.calls <= 2
        if meet:
            self.barrier.wait()


def two_deliveries_at_once(app: Any, sender: SlowSender) -> list[int]:
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(deliver(app, sender))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_deliveries_sending_at_the_same_moment_send_different_texts(app):
    queue_texts(app, 6)
    sender = MeetingSender()

    assert sum(two_deliveries_at_once(app, sender)) == 6

    assert sender.sent == Counter(dict.fromkeys(range(6), 1))


def test_without_the_claim_two_deliveries_at_once_send_the_same_text_twice(app, monkeypatch):
    """What the claim prevents: with it bypassed (any text claimable, as when unsent rows were just read), the
    two deliveries meeting in their first send are both sending the oldest text."""
    monkeypatch.setattr(outbox, "_claimable", lambda at: true())
    queue_texts(app, 6)
    sender = MeetingSender()

    two_deliveries_at_once(app, sender)

    assert sender.sent[0] == 2
    assert sum(sender.sent.values()) > 6


def test_an_operator_sends_the_given_up_texts_again_and_only_those_he_names(app):
    """`flask outbox-retry`: texts given up (8 deliveries, or refused) go out again on the next delivery; a sent
    text, one still being tried, and another kind (with --kind) or older ones (with --since) are left alone."""
    with app.app_context():
        rows = {
            "given_up": OutboxMessage(kind="receipt", recipient="+628111", body="1", attempts=outbox.MAX_ATTEMPTS,
                                      last_error="gateway answered 400", created_at=NOW),
            "refused_old": OutboxMessage(kind="receipt", recipient="+628112", body="2", attempts=outbox.MAX_ATTEMPTS,
                                         created_at=NOW - timedelta(days=10)),
            "other_kind": OutboxMessage(kind="debit_failed", recipient="+628113", body="3",
                                        attempts=outbox.MAX_ATTEMPTS, created_at=NOW),
            "trying": OutboxMessage(kind="receipt", recipient="+628114", body="4", attempts=2, created_at=NOW),
            "sent": OutboxMessage(kind="receipt", recipient="+628115", body="5", attempts=outbox.MAX_ATTEMPTS,
                                  sent_at=NOW, created_at=NOW),
        }  # fmt: skip
        db.session.add_all(rows.values())
        db.session.commit()
        ids = {name: row.id for name, row in rows.items()}
    runner = app.test_cli_runner()

    looked = runner.invoke(args=["outbox-retry", "--kind", "receipt", "--dry-run"])
    yesterday = str((NOW - timedelta(days=1)).date())
    retried = runner.invoke(args=["outbox-retry", "--kind", "receipt", "--since", yesterday])
    bad_day = runner.invoke(args=["outbox-retry", "--since", "6/12/2026"])

    assert looked.exit_code == 0 and "2 given-up texts would be sent again" in looked.output
    assert retried.exit_code == 0 and "1 given-up texts will be sent again" in retried.output, retried.output
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output
    with app.app_context():
        attempts = {name: db.session.get(OutboxMessage, i).attempts for name, i in ids.items()}
        assert attempts == {"given_up": 0, "refused_old": 8, "other_kind": 8, "trying": 2, "sent": 8}
        assert db.session.get(OutboxMessage, ids["given_up"]).last_error == "gateway answered 400"  # kept till sent
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retried")).all()
        assert event.details["texts"] == 1 and event.details["kind"] == "receipt"
    sender = SlowSender()
    assert deliver(app, sender) == 2  # the retried one and the one still being tried
    assert sorted(sender.sent) == [1, 4]
