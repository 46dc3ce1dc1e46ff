"""Texts sent exactly once by two real `rq worker` processes delivering at the same time, through the HTTP sender to
the stand-in gateway, counted there per recipient (raw requests, not the deduplicated ones)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.outbox import OutboxMessage
from tests.gateway import StandInGateway
from tests.outbox_workers import deliver_with_workers, queue_texts

DISTINCT = 1_000  # recipients with one text each …
REPEATED, PER_REPEATED = 25, 4  # … and 25 of them with 4 more


@pytest.mark.postgresql_only
def test_two_workers_delivering_at_once_send_every_text_exactly_once(app, database_url, redis_url, tmp_path: Path):
    expected = queue_texts(app, DISTINCT, REPEATED, PER_REPEATED)
    total = sum(expected.values())
    # The gateway holds the first request until a second one is in flight: the two workers' deliveries overlap.
    with StandInGateway(hold_first=True, hold_seconds=60).running() as gateway:
        run = deliver_with_workers(database_url, redis_url, gateway, workers=2, jobs=4, log_dir=tmp_path)
    print("\n" + run.summary(f"outbox, 2 rq workers, 4 delivery jobs, {total} texts to {len(expected)} recipients"))

    assert gateway.max_in_flight >= 2  # both workers were sending at the same moment
    assert len(run.per_worker) == 2 and all(count > 0 for count in run.per_worker.values())
    assert gateway.raw_per_recipient() == expected  # every recipient got each of its texts once
    assert run.requests == run.delivered == run.texts == total
    assert run.duplicates == 0
    assert all(request.answer == 200 for request in gateway.requests)
    with app.app_context():
        unsent = db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None)))
        senders = select(OutboxMessage.sender, func.count()).group_by(OutboxMessage.sender)
        by_sender = {name: count for name, count in db.session.execute(senders)}
        attempts = set(db.session.scalars(select(OutboxMessage.attempts).distinct()))
    assert unsent == 0 and by_sender == {"http": total} and attempts == {1}
