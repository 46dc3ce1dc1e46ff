"""The queue names: a job that a route or a service enqueues by name is a job of workers/jobs.py."""

from __future__ import annotations

import pytest

from workers import jobs, queues


@pytest.mark.parametrize("name", queues.JOBS)
def test_a_job_enqueued_by_name_is_a_job(name):
    module, _, function = name.rpartition(".")
    assert module == jobs.__name__
    assert callable(getattr(jobs, function))
