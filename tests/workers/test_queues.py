"""The queue names: a job that a route or a service enqueues by name is a job of workers/jobs.py."""

from __future__ import annotations

import pytest

from core.extensions import redis_connection
from workers import jobs, queues


@pytest.mark.parametrize("name", queues.JOBS)
def test_a_job_enqueued_by_name_is_a_job(name):
    module, _, function = name.rpartition(".")
    assert module == jobs.__name__
    assert callable(getattr(jobs, function))


def test_a_burst_that_finds_the_outbox_run_queued_asks_redis_again_only_after_a_pause(app, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(queues, "clock", lambda: now[0])
    with app.test_request_context():
        pending = queues.queue(queues.DEFAULT)
        redis = redis_connection()

        queues.schedule_outbox_delivery()  # the first text of the burst queues a run
        assert pending.count == 1
        queues.schedule_outbox_delivery()  # the run is queued: found so, and not asked about again for a while
        assert pending.count == 1

        redis.delete("iuran:scheduled:outbox")  # a worker takes the run (workers/jobs.py deliver_outbox)
        now[0] += queues.OUTBOX_QUEUED_PAUSE_SECONDS / 2
        queues.schedule_outbox_delivery()  # within the pause: Redis is not asked
        assert pending.count == 1
        assert not redis.exists("iuran:scheduled:outbox")

        now[0] += queues.OUTBOX_QUEUED_PAUSE_SECONDS  # after it, the next text queues a run again
        queues.schedule_outbox_delivery()
        assert pending.count == 2
        assert redis.exists("iuran:scheduled:outbox")


def test_webhook_processing_asks_redis_on_every_call(app):
    with app.test_request_context():
        redis = redis_connection()
        queues.schedule_webhook_processing()
        queues.schedule_webhook_processing()
        redis.delete("iuran:scheduled:webhooks")  # a worker takes the run
        queues.schedule_webhook_processing()  # no pause: a new run at once
        assert queues.queue(queues.HIGH).count == 2
