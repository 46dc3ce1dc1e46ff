"""The queue names: a job that a route or a service enqueues by name is a job of workers/jobs.py."""

from __future__ import annotations

import pytest

from workers import jobs, queues


@pytest.mark.parametrize("name", queues.JOBS)
def test_a_job_enqueued_by_name_is_a_job(name):
    module, _, function = name.rpartition(".")
    assert module == jobs.__name__
    assert callable(getattr(jobs, function))


def test_a_burst_enqueues_one_delivery_and_asks_redis_a_few_times_not_once_a_request(app, monkeypatch):
    """The flag in Redis makes one job per burst for every process; each process also remembers it, so after it
    enqueued a run it does not ask Redis again until the flag would have expired."""
    now = [1_000.0]
    monkeypatch.setattr(queues.time, "monotonic", lambda: now[0])
    with app.app_context():
        redis = queues.redis_connection()
        delivery = queues.queue(queues.DEFAULT)

        queues.schedule_outbox_delivery()
        redis.delete("iuran:scheduled:outbox")  # Redis forgets: this process still knows a run is on its way
        queues.schedule_outbox_delivery()
        assert delivery.count == 1

        now[0] += 2.01  # past the flag's two seconds: the next text asks for a run again
        queues.schedule_outbox_delivery()
        assert delivery.count == 2

        redis.set("iuran:scheduled:outbox", 1, ex=2)  # another process enqueued one just now
        now[0] += 2.01
        queues.schedule_outbox_delivery()
        redis.delete("iuran:scheduled:outbox")
        queues.schedule_outbox_delivery()  # trusted for half a second only: the other's flag may be expiring
        assert delivery.count == 2
        now[0] += 0.51
        queues.schedule_outbox_delivery()
        assert delivery.count == 3
