"""workers.worker.IuranWorker in a real ``rq worker`` process: the app is built once, in the worker, before the
work horses fork, and every job opens its own database connections (both databases)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from redis import Redis
from rq import Queue

ROOT = Path(__file__).resolve().parent.parent.parent
RQ = Path(sys.executable).parent / "rq"
QUEUE = "test-warm"


def run_burst(worker_class: str, redis_url: str, database_url: str, *job_names: str) -> tuple[int, list[object]]:
    """Enqueue the jobs, run one ``rq worker --burst`` of the class over them, return its pid and their results."""
    queue = Queue(QUEUE, connection=Redis.from_url(redis_url))
    queued = [queue.enqueue(name) for name in job_names]
    env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    argv = [str(RQ), "worker", "--burst", "-w", worker_class, "-u", redis_url, QUEUE]
    worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    results = []
    for job in queued:
        result = job.latest_result()
        assert result is not None and result.type == result.Type.SUCCESSFUL, output
        results.append(result.return_value)
    return worker.pid, results


def test_jobs_run_in_forks_of_the_worker_that_built_the_app(redis_url, database_url, instance_path):
    worker_pid, results = run_burst("workers.worker.IuranWorker", redis_url, database_url, *["workers.jobs.probe"] * 3)
    assert [r["app_built_in"] for r in results] == [worker_pid] * 3  # type: ignore[index]
    horses = {r["ran_in"] for r in results}  # type: ignore[index]
    assert len(horses) == 3 and worker_pid not in horses  # a fork per job, as with rq's Worker


def test_rq_plain_worker_builds_the_app_in_each_fork(redis_url, database_url, instance_path):
    """What IuranWorker changes: under rq's Worker the app is built by the job's own process."""
    worker_pid, results = run_burst("rq.worker.Worker", redis_url, database_url, "workers.jobs.probe")
    assert results[0]["app_built_in"] == results[0]["ran_in"] != worker_pid  # type: ignore[index]


def test_a_job_never_uses_a_connection_of_the_worker_pool(redis_url, database_url, instance_path):
    """The worker's pool holds an open connection when it forks; each horse sets it aside and opens its own,
    job after job."""
    _, results = run_burst(
        "tests.workers.warm_probe.PoolHoldingWorker",
        redis_url,
        database_url,
        *["tests.workers.warm_probe.which_connection"] * 3,
    )
    for result in results:
        assert result["job"] != result["parent"]  # type: ignore[index]


def test_a_job_that_crashes_its_horse_leaves_the_worker_running(redis_url, database_url, instance_path):
    queue = Queue(QUEUE, connection=Redis.from_url(redis_url))
    crash = queue.enqueue(os._exit, 3)
    after = queue.enqueue("workers.jobs.probe")
    env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    argv = [str(RQ), "worker", "--burst", "-w", "workers.worker.IuranWorker", "-u", redis_url, QUEUE]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert crash.get_status() == "failed"
    result = after.latest_result()
    assert result is not None and result.type == result.Type.SUCCESSFUL
