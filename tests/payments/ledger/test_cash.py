"""The cash rule as a table: on hand, the deposit deadline, and when an agent is blocked."""

from __future__ import annotations

from datetime import date

import pytest

from payments.ledger.cash import cash_position, deposit_deadline, is_deposited

HOLIDAYS = {date(2026, 12, 25)}


@pytest.mark.parametrize(
    ("collected_on", "days", "expected"),
    [
        (date(2026, 11, 20), 1, date(2026, 11, 21)),  # Friday → Saturday (a working day here)
        (date(2026, 11, 21), 1, date(2026, 11, 23)),  # Saturday → Monday, past Sunday
        (date(2026, 12, 24), 1, date(2026, 12, 26)),  # past Christmas
        (date(2026, 11, 20), 2, date(2026, 11, 23)),
        (date(2026, 11, 20), 0, date(2026, 11, 20)),
    ],
)
def test_the_deposit_deadline_counts_working_days(collected_on, days, expected):
    assert deposit_deadline(collected_on, days, HOLIDAYS) == expected


@pytest.mark.parametrize(
    ("collected", "deposited", "oldest", "today", "on_hand", "due_by", "blocked"),
    [
        (0, 0, None, date(2026, 11, 22), 0, None, False),
        (25_200, 0, date(2026, 11, 22), date(2026, 11, 23), 25_200, date(2026, 11, 23), False),  # the deadline day
        (25_200, 0, date(2026, 11, 22), date(2026, 11, 24), 25_200, date(2026, 11, 23), True),  # the day after
        (25_200, 25_200, date(2026, 11, 22), date(2026, 11, 30), 0, None, False),  # all deposited
        (5_000_001, 0, date(2026, 11, 22), date(2026, 11, 22), 5_000_001, date(2026, 11, 23), True),  # over the limit
        (5_000_000, 0, date(2026, 11, 22), date(2026, 11, 22), 5_000_000, date(2026, 11, 23), False),  # at the limit
    ],
)
def test_cash_position(collected, deposited, oldest, today, on_hand, due_by, blocked):
    position = cash_position(collected, deposited, oldest, today, 5_000_000, 1, HOLIDAYS)

    assert (position.on_hand_idr, position.deposit_due_by, position.blocked) == (on_hand, due_by, blocked)
    assert position.room_idr() == max(0, 5_000_000 - on_hand)


@pytest.mark.parametrize(
    ("through", "deposited", "expected"), [(8_400, 8_400, True), (16_800, 8_400, False), (0, 0, True)]
)
def test_cash_is_deposited_oldest_first(through, deposited, expected):
    assert is_deposited(through, deposited) is expected
