"""core/extensions.py: the app's one Redis client, however many threads ask for it first."""

from __future__ import annotations

import threading
import time
from typing import Any

from redis import Redis

from core.extensions import redis_connection


def test_threads_asking_at_once_share_one_redis_client(app, monkeypatch):
    """Hole (found in a parallel login test, 500 "Bad file descriptor"): threads of a new web worker each made a
    client and the last one stored won; a lost client was collected and closed its sockets under its thread."""
    made_by = Redis.from_url

    def slow_from_url(*args: Any, **kwargs: Any) -> Redis:  # widens the window in which the threads race
        time.sleep(0.05)
        return made_by(*args, **kwargs)

    monkeypatch.setattr(Redis, "from_url", slow_from_url)
    start = threading.Barrier(8)
    clients: list[Redis] = []

    def ask() -> None:
        with app.app_context():
            start.wait()
            client = redis_connection()
            client.ping()
            clients.append(client)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(clients) == 8
    assert len({id(client) for client in clients}) == 1
    assert clients[0] is app.extensions["iuran_redis"]
    assert clients[0].ping()
