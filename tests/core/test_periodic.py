"""core/periodic.py: the due time and period of a branch's periodic job in its own zone, and the record of the last
success that the fan-outs read to catch up a missed run."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core import periodic

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"  # UTC+7, +8, +9


@pytest.mark.parametrize(
    ("zone", "now", "due_at", "period"),
    [
        (WIB, datetime(2026, 11, 19, 18, 5), datetime(2026, 11, 19, 18, 0), date(2026, 11, 20)),  # 01:05 WIB
        (WIB, datetime(2026, 11, 19, 17, 59), datetime(2026, 11, 18, 18, 0), date(2026, 11, 19)),  # 00:59 WIB
        (WITA, datetime(2026, 11, 19, 17, 0), datetime(2026, 11, 19, 17, 0), date(2026, 11, 20)),  # 01:00 WITA
        (WIT, datetime(2026, 11, 19, 16, 5), datetime(2026, 11, 19, 16, 0), date(2026, 11, 20)),  # 01:05 WIT
        (WIT, datetime(2026, 11, 20, 3, 0), datetime(2026, 11, 19, 16, 0), date(2026, 11, 20)),  # noon WIT
    ],
)
def test_the_night_due_is_the_last_one_in_local_time(zone, now, due_at, period):
    assert periodic.last_due(zone, now, 1) == due_at
    assert periodic.period_at(zone, now, 1) == period


def test_the_day_end_due_counts_minutes_and_the_previous_evening():
    at_2140_wita = datetime(2026, 11, 19, 13, 40)
    assert periodic.last_due(WITA, at_2140_wita, 21, 40) == at_2140_wita
    assert periodic.period_at(WITA, datetime(2026, 11, 19, 13, 39), 21, 40) == date(2026, 11, 18)


def test_a_branch_is_due_until_its_period_is_recorded(session):
    branches = [(1, WIB), (2, WITA), (3, WIT)]
    night = datetime(2026, 11, 19, 18, 5)  # 01:05 WIB, 02:05 WITA, 03:05 WIT on 20 Nov
    assert [d.branch_id for d in periodic.due(session, periodic.RECONCILIATION, branches, night, 1)] == [1, 2, 3]

    periodic.record(session, periodic.RECONCILIATION, 1, date(2026, 11, 20), night)
    periodic.record(session, periodic.RECONCILIATION, 2, date(2026, 11, 19), night)  # the night before only
    periodic.record(session, periodic.DAY_END, 3, date(2026, 11, 20), night)  # another job

    due = periodic.due(session, periodic.RECONCILIATION, branches, night, 1)
    assert [(d.branch_id, d.period, d.at) for d in due] == [
        (2, date(2026, 11, 20), datetime(2026, 11, 19, 17, 0)),
        (3, date(2026, 11, 20), datetime(2026, 11, 19, 16, 0)),
    ]


def test_a_late_record_of_an_earlier_period_does_not_move_the_record_back(session):
    periodic.record(session, periodic.DAY_END, 7, date(2026, 11, 20), datetime(2026, 11, 20, 14, 5))
    periodic.record(session, periodic.DAY_END, 7, date(2026, 11, 19), datetime(2026, 11, 20, 14, 9))
    periodic.record(session, periodic.REMITTANCE, 7, date(2026, 11, 20), datetime(2026, 11, 20, 14, 45))

    assert session.get(periodic.PeriodicRun, (periodic.DAY_END, 7)).period == date(2026, 11, 20)
    assert periodic.last_runs(session) == [
        (periodic.DAY_END, 7, datetime(2026, 11, 20, 14, 5)),
        (periodic.REMITTANCE, 7, datetime(2026, 11, 20, 14, 45)),
    ]
