"""The delivery job clears the Redis flag when it starts ("texts queued from now on schedule anew"): a text or a
callback recorded after a fast run gets a run of its own at once, not the minute's sweep (an outsider's attack on a
per-process memory of the flag, which was taken out again for this: README "Recording cash")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.extensions import db
from core.outbox import OutboxMessage
from tests.factories import nik_for
from tests.payments.ledger.test_contributions_api import pay
from workers import queues


def test_a_text_recorded_after_the_run_this_process_enqueued_gets_a_run_of_its_own(
    pinned_app: Any, client: Any, world: dict[str, Any], enrol: Any, rq_burst: Any, monkeypatch: Any
) -> None:
    pay(client, world["agent"], member_id=enrol()["id"], months=1)
    rq_burst()  # a real worker: the run clears the flag, sends the first text and ends
    with pinned_app.app_context():
        assert [m.sent_at is not None for m in db.session.scalars(select(OutboxMessage))] == [True]

    pay(client, world["agent"], member_id=enrol(nik=nik_for(serial=2))["id"], months=1)  # a moment later

    with pinned_app.app_context():
        assert queues.queue(queues.DEFAULT).count == 1  # a run for the second text, not a minute's wait
    rq_burst()
    with pinned_app.app_context():
        assert [m.sent_at is not None for m in db.session.scalars(select(OutboxMessage))] == [True, True]


def test_a_callback_after_a_fast_run_gets_a_run_of_its_own(pinned_app: Any, monkeypatch: Any) -> None:
    """A member waits on his page for his payment: a callback after a run that cleared the flag gets a run."""
    with pinned_app.app_context():
        high = queues.queue(queues.HIGH)
        queues.schedule_webhook_processing()
        queues.redis_connection().delete("iuran:scheduled:webhooks")  # the run started: it cleared the flag
        queues.schedule_webhook_processing()
        assert high.count == 2
