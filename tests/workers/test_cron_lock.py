"""Two real ``rq cron`` processes at once enqueue each period's job once (workers/cron_lock.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from redis import Redis
from rq import Queue

from tests.workers.cron_every_two_seconds import QUEUE
from workers.cron_lock import PERIOD_META

ROOT = Path(__file__).resolve().parent.parent.parent
RQ = Path(sys.executable).parent / "rq"


def test_two_schedulers_enqueue_each_period_once(redis_url):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TZ="UTC")
    argv = [str(RQ), "cron", "-u", redis_url, "tests.workers.cron_every_two_seconds"]
    schedulers = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    queue = Queue(QUEUE, connection=Redis.from_url(redis_url))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(queue) < 4:
            time.sleep(0.5)
        time.sleep(4)  # both schedulers are up and past a few periods together
    finally:
        outputs = []
        for proc in schedulers:
            proc.send_signal(signal.SIGTERM)
            outputs.append(proc.communicate(timeout=30)[0])
    log = "\n".join(outputs)

    periods = Counter(job.meta[PERIOD_META] for job in queue.get_jobs())
    assert len(periods) >= 4, log
    assert set(periods.values()) == {1}, periods
    assert "was enqueued by another scheduler" in log  # both ran, and met
