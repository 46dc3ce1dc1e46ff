"""Due dates: the 15th of the month, moved past Sundays and public holidays; and the shipped calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from collection.members.due_dates import (
    HolidayRow,
    due_date,
    load_holidays_csv,
    next_working_day,
)
from core.months import Month

SHIPPED = load_holidays_csv()
NATIONAL_HOLIDAYS = frozenset(row.on for row in SHIPPED if row.region_code is None)


@pytest.mark.parametrize(
    ("description", "month", "due"),
    [
        ("a plain Wednesday 15th", Month(2026, 7), date(2026, 7, 15)),
        ("a Saturday 15th stays: Saturday is a working day", Month(2026, 8), date(2026, 8, 15)),
        ("a Sunday 15th moves to Monday", Month(2026, 3), date(2026, 3, 16)),
        ("another Sunday 15th", Month(2026, 11), date(2026, 11, 16)),
        ("a holiday on the 15th (Local Election Day 2017)", Month(2017, 2), date(2017, 2, 16)),
        ("a Friday holiday moves to Saturday (Good Friday 2022)", Month(2022, 4), date(2022, 4, 16)),
        ("a Sunday that is also a holiday (Prophet's Birthday 2027)", Month(2027, 8), date(2027, 8, 16)),
        ("holiday, holiday, Sunday: skips all three (Eid al-Fitr 2018)", Month(2018, 6), date(2018, 6, 18)),
        ("a Sunday, then a Monday holiday (Vesak Day 2022)", Month(2022, 5), date(2022, 5, 17)),
        ("a Sunday, then a Monday holiday (Prophet's Birthday 2024)", Month(2024, 9), date(2024, 9, 17)),
        ("two holidays, then a Saturday (Eid al-Fitr 2029, estimated)", Month(2029, 2), date(2029, 2, 17)),
    ],
)
def test_the_contribution_is_due_on_the_15th_or_the_next_working_day(description: str, month: Month, due: date) -> None:
    assert due_date(month, NATIONAL_HOLIDAYS) == due


@pytest.mark.parametrize(
    ("description", "month", "holidays", "due"),
    [
        ("no holidays, a weekday", Month(2026, 4), set(), date(2026, 4, 15)),
        ("no holidays, a Sunday", Month(2026, 2), set(), date(2026, 2, 16)),
        ("a Saturday holiday, then Sunday", Month(2026, 8), {date(2026, 8, 15)}, date(2026, 8, 17)),
        ("a Saturday holiday, Sunday, a Monday holiday", Month(2026, 8), {date(2026, 8, 15), date(2026, 8, 17)},
         date(2026, 8, 18)),
        ("a holiday on another day changes nothing", Month(2026, 4), {date(2026, 4, 14)}, date(2026, 4, 15)),
    ],
)  # fmt: skip
def test_a_due_date_follows_the_calendar_it_is_given(
    description: str, month: Month, holidays: set[date], due: date
) -> None:
    assert due_date(month, holidays) == due


@pytest.mark.parametrize(
    ("day", "working_day"),
    [
        (date(2026, 8, 14), date(2026, 8, 14)),  # Friday
        (date(2026, 8, 15), date(2026, 8, 15)),  # Saturday
        (date(2026, 8, 16), date(2026, 8, 18)),  # Sunday, then Independence Day
        (date(2026, 12, 25), date(2026, 12, 26)),  # Christmas, a Friday
    ],
)
def test_next_working_day_is_the_day_itself_when_it_is_a_working_day(day: date, working_day: date) -> None:
    assert next_working_day(day, NATIONAL_HOLIDAYS) == working_day


def test_the_shipped_calendar_has_independence_day_2026() -> None:
    assert HolidayRow(on=date(2026, 8, 17), name="Independence Day", region_code=None) in SHIPPED


def test_the_shipped_calendar_covers_every_year_from_2015_to_2030() -> None:
    years = {row.on.year for row in SHIPPED}
    assert years == set(range(2015, 2031))
    for year in years:
        assert date(year, 1, 1) in NATIONAL_HOLIDAYS
        assert date(year, 8, 17) in NATIONAL_HOLIDAYS


def test_the_shipped_calendar_is_national_sorted_and_without_duplicates() -> None:
    days = [row.on for row in SHIPPED]
    assert days == sorted(set(days))
    assert all(row.region_code is None for row in SHIPPED)


def test_a_regional_holiday_keeps_its_region_code(tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text("date,name,region_code\n2026-03-19,Nyepi,BA\n2026-08-17,Independence Day,\n", encoding="utf-8")
    assert load_holidays_csv(path) == [
        HolidayRow(on=date(2026, 3, 19), name="Nyepi", region_code="BA"),
        HolidayRow(on=date(2026, 8, 17), name="Independence Day", region_code=None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,name,region_code\n2026-08-17,Independence Day,\n", "the header must be date,name,region_code"),
        ("date,name,region_code\n17-08-2026,Independence Day,\n", "line 2: '17-08-2026' is not a date"),
        ("date,name,region_code\n2026-08-17,,\n", "line 2: the holiday on 2026-08-17 needs a name"),
    ],
)
def test_a_bad_holiday_file_is_rejected_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_holidays_csv(path)
