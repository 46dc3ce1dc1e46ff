"""The calendar month as a value type: every due, allocation and period is counted in months."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import overload

from flask_babel import gettext

_MONTH_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_SEEN: dict[int, Month] = {}  # Month.of's values, at most one per month of years 1900-2999 (immutable, so shared)


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month, e.g. ``Month(2026, 3)`` for March 2026 (``"2026-03"``)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(
                gettext("There is no month %(month)s: write the month as 01 to 12, e.g. 2026-03.", month=self.month)
            )
        if not 1900 <= self.year <= 2999:
            raise ValueError(
                gettext("The year %(year)s is out of range: give a month from 1900-01 to 2999-12.", year=self.year)
            )

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM``; raise ValueError with a message an API user can act on."""
        match = _MONTH_PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(gettext("'%(text)s' is not a month: write it as YYYY-MM, e.g. 2026-03.", text=text))
        return cls(int(match.group(1)), int(match.group(2)))

    def __hash__(self) -> int:  # the dataclass's own hashes a new tuple: months key the hot paths' dicts
        return self.year * 12 + self.month

    @classmethod
    def of(cls, day: date) -> Month:
        """The month a date falls in (one shared value per month: lists of thousands of rows read two each)."""
        key = day.year * 12 + day.month
        month = _SEEN.get(key)
        if month is None:
            month = _SEEN[key] = cls(day.year, day.month)
        return month

    @classmethod
    def from_index(cls, index: int) -> Month:
        """Inverse of :attr:`index`."""
        return cls(index // 12, index % 12 + 1)

    @property
    def index(self) -> int:
        """Months since year 0: consecutive months have consecutive indexes."""
        return self.year * 12 + self.month - 1

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __add__(self, months: int) -> Month:
        return Month.from_index(self.index + months)

    @overload
    def __sub__(self, other: Month) -> int: ...
    @overload
    def __sub__(self, other: int) -> Month: ...
    def __sub__(self, other: Month | int) -> int | Month:
        """``Month(2026,3) - Month(2026,1) == 2``; ``Month(2026,3) - 2 == Month(2026,1)``."""
        if isinstance(other, Month):
            return self.index - other.index
        return Month.from_index(self.index - other)

    def until(self, last: Month) -> Iterator[Month]:
        """Each month from this one to ``last``, both included."""
        for index in range(self.index, last.index + 1):
            yield Month.from_index(index)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
