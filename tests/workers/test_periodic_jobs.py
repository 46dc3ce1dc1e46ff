"""The hourly fan-outs of workers/jobs.py catch up what a down hour missed: each branch whose last success of the
job is older than its most recent due time (01:00 local for the reconciliation, 21:00 for the day end) is enqueued,
once, and each branch job records its success."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from rq import Queue

from core import periodic
from core.extensions import db, redis_connection
from workers import jobs
from workers.queues import DEFAULT, LOW

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"


@pytest.fixture
def branches(pinned_app, make_branch, monkeypatch):
    """Three branches, one per zone, each reconciled and closed on the night and day before 20 Nov 2026; the jobs
    run on this test's app (its database and Redis)."""
    monkeypatch.setattr(jobs, "_app", lambda: pinned_app)
    ids = {
        "wib": make_branch("PKP", "1971", WIB),
        "wita": make_branch("MKS", "7371", WITA),
        "wit": make_branch("JYP", "9471", WIT),
    }
    with pinned_app.app_context():
        for branch_id in ids.values():
            periodic.record(db.session, periodic.RECONCILIATION, branch_id, date(2026, 11, 19), datetime(2026, 11, 19))
            periodic.record(db.session, periodic.DAY_END, branch_id, date(2026, 11, 18), datetime(2026, 11, 18))
    return ids


def queued(app, name):
    with app.app_context():
        return Queue(name, connection=redis_connection()).get_jobs()


def test_a_night_missed_while_the_fan_out_was_down_is_reconciled_at_the_next_hour(pinned_app, branches):
    # 01:00 WIT (16:00 UTC) and 01:00 WITA (17:00 UTC) passed with no fan-out; the one at 18:05 UTC runs
    enqueued = jobs.fan_out_nightly_reconciliation("2026-11-19T18:05:00")

    assert sorted(enqueued) == sorted(branches.values())
    waiting = queued(pinned_app, LOW)
    assert sorted(job.args[0] for job in waiting) == sorted(branches.values())
    assert {job.id for job in waiting} == {f"periodic-reconciliation-{b}-2026-11-20" for b in branches.values()}


def test_a_branch_already_reconciled_is_not_enqueued_again(pinned_app, branches):
    at_0105_wita = "2026-11-19T17:05:00"  # 00:05 WIB: Jakarta's night is still the one done
    assert sorted(jobs.fan_out_nightly_reconciliation(at_0105_wita)) == sorted([branches["wita"], branches["wit"]])
    assert jobs.fan_out_nightly_reconciliation("2026-11-19T17:35:00") == []  # still queued: not twice

    for branch_id in (branches["wita"], branches["wit"]):  # what the worker runs
        jobs.reconcile_branch(branch_id, at_0105_wita)
    with pinned_app.app_context():
        done = {(job, branch): at for job, branch, at in periodic.last_runs(db.session)}
        nights = {
            b: db.session.get(periodic.PeriodicRun, (periodic.RECONCILIATION, b)).period for b in branches.values()
        }
        Queue(LOW, connection=redis_connection()).empty()
    assert nights == {
        branches["wib"]: date(2026, 11, 19),
        branches["wita"]: date(2026, 11, 20),
        branches["wit"]: date(2026, 11, 20),
    }
    assert done[(periodic.RECONCILIATION, branches["wita"])] > datetime(2026, 11, 19)

    assert jobs.fan_out_nightly_reconciliation("2026-11-19T18:05:00") == [branches["wib"]]  # 01:05 WIB
    jobs.reconcile_branch(branches["wib"], "2026-11-19T18:05:00")
    with pinned_app.app_context():
        Queue(LOW, connection=redis_connection()).empty()
    assert jobs.fan_out_nightly_reconciliation("2026-11-19T19:05:00") == []
    assert jobs.fan_out_nightly_reconciliation("2026-11-20T16:05:00") == [branches["wit"]]  # the next night, WIT


def test_a_late_day_end_closes_the_day_that_ended_not_the_one_under_way(pinned_app, branches):
    # cron was down all evening of 19 Nov; the first fan-out runs at 10:10 WIB on 20 Nov
    enqueued = jobs.fan_out_day_end("2026-11-20T03:10:00")

    assert sorted(enqueued) == sorted(branches.values())
    args = {job.args[0]: job.args[1] for job in queued(pinned_app, DEFAULT)}
    assert args == {
        branches["wib"]: "2026-11-19T14:00:00",  # 21:00 WIB on 19 Nov
        branches["wita"]: "2026-11-19T13:00:00",
        branches["wit"]: "2026-11-19T12:00:00",
    }
    jobs.close_branch_days(branches["wib"], args[branches["wib"]])
    with pinned_app.app_context():
        assert db.session.get(periodic.PeriodicRun, (periodic.DAY_END, branches["wib"])).period == date(2026, 11, 19)
