"""When a month's contribution is due: the 15th of the month, or the next working day after it."""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from core.months import Month

DUE_DAY = 15
HOLIDAYS_CSV = Path(__file__).parent / "data" / "holidays_id.csv"
_HOLIDAY_COLUMNS = ["date", "name", "region_code"]
_SUNDAY = 6  # date.weekday(); Saturday is a working day for contributions (domain.md §3)


@dataclass(frozen=True)
class HolidayRow:
    """One public holiday: national when ``region_code`` is None."""

    on: date
    name: str
    region_code: str | None


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    """True unless the day is a Sunday or a public holiday."""
    return day.weekday() != _SUNDAY and day not in holidays


def next_working_day(day: date, holidays: Collection[date]) -> date:
    """The day itself when it is a working day, else the first working day after it."""
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    return day


def due_date(month: Month, holidays: Collection[date]) -> date:
    """The day the contribution for ``month`` is due: the 15th, moved past Sundays and holidays."""
    return next_working_day(month.first_day().replace(day=DUE_DAY), holidays)


def load_holidays_csv(path: Path | None = None) -> list[HolidayRow]:
    """Read a holiday calendar (columns ``date,name,region_code``); the shipped one by default."""
    path = HOLIDAYS_CSV if path is None else path
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != _HOLIDAY_COLUMNS:
            raise ValueError(f"{path}: the header must be {','.join(_HOLIDAY_COLUMNS)}, got {reader.fieldnames}")
        return [_holiday_row(record, path, reader.line_num) for record in reader]


def _holiday_row(record: dict[str, str], path: Path, line: int) -> HolidayRow:
    try:
        on = date.fromisoformat(record["date"])
    except (TypeError, ValueError):
        raise ValueError(f"{path}, line {line}: {record['date']!r} is not a date; write YYYY-MM-DD") from None
    name = (record["name"] or "").strip()
    if not name:
        raise ValueError(f"{path}, line {line}: the holiday on {on} needs a name")
    return HolidayRow(on=on, name=name, region_code=(record["region_code"] or "").strip() or None)
