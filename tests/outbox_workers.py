"""Texts queued in the outbox, delivered by real `rq worker` processes through the HTTP sender to the stand-in
gateway (tests/gateway.py), and counted there: shared by tests/workers/test_outbox_workers.py and bench/outbox.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job

from core.extensions import db
from core.outbox import queue_message
from tests.gateway import StandInGateway
from workers.queues import DEFAULT, DELIVER_OUTBOX, LONG_JOB_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_TOKEN = "stand-in-token"


def recipient(number: int) -> str:
    return f"+62812{number:08d}"


def queue_texts(app: Any, distinct: int, repeated: int, per_repeated: int) -> Counter[str]:
    """One text to each of ``distinct`` recipients, and ``per_repeated`` more to each of the first ``repeated``;
    returns how many each recipient should get."""
    expected: Counter[str] = Counter()
    with app.app_context():
        for number in range(distinct):
            extra = per_repeated if number < repeated else 0
            for copy in range(1 + extra):
                body = f"Iuran diterima, kwitansi R-{number:05d}-{copy}."
                queue_message(db.session, "receipt", recipient(number), body)
                expected[recipient(number)] += 1
        db.session.commit()
        db.session.remove()
    return expected


@dataclass
class WorkerRun:
    texts: int  # what the jobs reported sent
    requests: int  # raw requests at the gateway
    delivered: int  # distinct Idempotency-Keys the gateway took
    duplicates: int  # requests beyond the first for a key
    per_worker: dict[str, int]  # texts sent by each worker's jobs
    seconds: float  # from starting the workers until they all exit (with their start-up)
    sending_seconds: float  # from the gateway's first request to its last
    max_in_flight: int

    def summary(self, label: str) -> str:
        share = ", ".join(f"{name}: {count}" for name, count in sorted(self.per_worker.items()))
        return (
            f"{label}: {self.texts} texts sent, {self.requests} gateway requests, {self.delivered} delivered, "
            f"{self.duplicates} duplicates, per worker {{{share}}}, at most {self.max_in_flight} requests at once, "
            f"{self.seconds:.1f} s with start-up, {self.sending_seconds:.2f} s sending "
            f"({self.texts / max(self.sending_seconds, 1e-9):.0f} texts/s)"
        )


def deliver_with_workers(
    database_url: str, redis_url: str, gateway: StandInGateway, workers: int, jobs: int, log_dir: Path
) -> WorkerRun:
    """Enqueue ``jobs`` deliver_outbox jobs at once, then run ``workers`` real `rq worker --burst` processes side
    by side (sender ``http`` pointed at ``gateway``) until the queue is empty; their output goes to ``log_dir``."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PYTHONPATH=str(ROOT),
        OUTBOX_SENDER="http",
        OUTBOX_GATEWAY_URL=gateway.url,
        OUTBOX_GATEWAY_TOKEN=GATEWAY_TOKEN,
        # longer than the stand-in holds its first request (waiting for a second worker's)
        OUTBOX_GATEWAY_TIMEOUT_SECONDS=str(gateway.hold_seconds + 30),
        OUTBOX_CLAIM_SECONDS=str(int(4 * (gateway.hold_seconds + 30))),
    )
    gateway.token = GATEWAY_TOKEN
    rq = str(Path(sys.executable).parent / "rq")
    with Redis.from_url(redis_url) as redis:
        queue = Queue(DEFAULT, connection=redis)
        job_ids = [queue.enqueue(DELIVER_OUTBOX, job_timeout=LONG_JOB_TIMEOUT).id for _ in range(jobs)]
        started = time.monotonic()
        logs = []
        processes = []
        for number in range(1, workers + 1):
            argv = [rq, "worker", "--burst", "-u", redis_url, "--name", f"outbox-{number}-{os.getpid()}", DEFAULT]
            log = (log_dir / f"outbox-worker-{number}.log").open("w+")
            logs.append(log)
            processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        try:
            for process in processes:
                process.wait(timeout=600)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        seconds = time.monotonic() - started
        for process, log in zip(processes, logs, strict=True):
            log.seek(0)
            output = log.read()
            log.close()
            if process.returncode != 0:
                raise AssertionError(f"rq worker exited {process.returncode}:\n{output}")
        per_worker: Counter[str] = Counter()
        for job_id in job_ids:
            result = Job.fetch(job_id, connection=redis).latest_result()
            if result is None or result.return_value is None:
                raise AssertionError(f"job {job_id} has no result: {result and result.exc_string}")
            per_worker[result.worker_name.rsplit("-", 1)[0]] += int(result.return_value)
    keys = gateway.by_key()
    arrivals = [request.at for request in gateway.requests]
    return WorkerRun(
        texts=sum(per_worker.values()),
        requests=len(gateway.requests),
        delivered=len(gateway.delivered),
        duplicates=sum(len(tries) - 1 for tries in keys.values()),
        per_worker=dict(per_worker),
        seconds=seconds,
        sending_seconds=(max(arrivals) - min(arrivals)) if arrivals else 0.0,
        max_in_flight=gateway.max_in_flight,
    )
