"""The Month value type: parsing, arithmetic across year ends, ordering and ranges."""

from __future__ import annotations

from datetime import date

import pytest

from core.months import Month


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2026-03", Month(2026, 3)),
        ("2026-12", Month(2026, 12)),
        ("2026-01", Month(2026, 1)),
        ("1900-01", Month(1900, 1)),
        ("2999-12", Month(2999, 12)),
        (" 2026-03 ", Month(2026, 3)),  # surrounding blanks from a form are forgiven
    ],
)
def test_a_well_written_month_parses(text: str, month: Month) -> None:
    assert Month.parse(text) == month


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-3", r"'2026-3' is not a month: write it as YYYY-MM, e.g. 2026-03\."),
        ("26-03", "is not a month"),
        ("2026/03", "is not a month"),
        ("2026-03-01", "is not a month"),
        ("abc", "'abc' is not a month"),
        ("", "is not a month"),
        ("2026-13", "There is no month 13: write the month as 01 to 12"),
        ("2026-00", "There is no month 0: write the month as 01 to 12"),
        ("1899-12", "The year 1899 is out of range: give a month from 1900-01 to 2999-12"),
        (None, "is not a month"),
        (202603, "is not a month"),
    ],
)
def test_a_badly_written_month_is_refused_with_a_message_that_says_how_to_write_it(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Month.parse(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(("year", "month"), [(2026, 0), (2026, 13), (1899, 12), (3000, 1)])
def test_an_impossible_month_cannot_be_built(year: int, month: int) -> None:
    with pytest.raises(ValueError):
        Month(year, month)


@pytest.mark.parametrize(
    ("start", "months", "result"),
    [
        (Month(2026, 3), 0, Month(2026, 3)),
        (Month(2026, 3), 1, Month(2026, 4)),
        (Month(2026, 12), 1, Month(2027, 1)),
        (Month(2026, 11), 3, Month(2027, 2)),
        (Month(2026, 1), 12, Month(2027, 1)),
        (Month(2026, 1), 25, Month(2028, 2)),
        (Month(2026, 1), -1, Month(2025, 12)),
        (Month(2026, 3), -15, Month(2024, 12)),
    ],
)
def test_adding_months_carries_across_year_ends(start: Month, months: int, result: Month) -> None:
    assert start + months == result
    assert result - months == start


@pytest.mark.parametrize(
    ("later", "earlier", "difference"),
    [
        (Month(2026, 3), Month(2026, 1), 2),
        (Month(2026, 3), Month(2026, 3), 0),
        (Month(2027, 1), Month(2026, 12), 1),
        (Month(2027, 3), Month(2026, 1), 14),
        (Month(2026, 1), Month(2027, 3), -14),
    ],
)
def test_subtracting_a_month_gives_the_months_between(later: Month, earlier: Month, difference: int) -> None:
    assert later - earlier == difference


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        (Month(2026, 1), Month(2026, 2)),
        (Month(2025, 12), Month(2026, 1)),
        (Month(2025, 2), Month(2026, 1)),  # the year counts before the month
    ],
)
def test_months_order_by_year_then_month(smaller: Month, larger: Month) -> None:
    assert smaller < larger
    assert larger > smaller
    assert max(larger, smaller) == larger
    assert sorted([larger, smaller]) == [smaller, larger]


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        (Month(2026, 3), Month(2026, 3), ["2026-03"]),
        (Month(2026, 11), Month(2027, 2), ["2026-11", "2026-12", "2027-01", "2027-02"]),
        (Month(2026, 3), Month(2026, 2), []),
    ],
)
def test_until_lists_each_month_with_both_ends_included(first: Month, last: Month, months: list[str]) -> None:
    assert [str(month) for month in first.until(last)] == months


@pytest.mark.parametrize(
    ("month", "text"),
    [(Month(2026, 3), "2026-03"), (Month(2026, 12), "2026-12"), (Month(1900, 1), "1900-01")],
)
def test_a_month_is_written_yyyy_mm_and_reads_back(month: Month, text: str) -> None:
    assert str(month) == text
    assert Month.parse(str(month)) == month


@pytest.mark.parametrize(
    ("day", "month", "first_day"),
    [
        (date(2026, 3, 1), Month(2026, 3), date(2026, 3, 1)),
        (date(2026, 3, 31), Month(2026, 3), date(2026, 3, 1)),
        (date(2024, 2, 29), Month(2024, 2), date(2024, 2, 1)),
    ],
)
def test_a_day_belongs_to_its_month_which_starts_on_the_first(day: date, month: Month, first_day: date) -> None:
    assert Month.of(day) == month
    assert month.first_day() == first_day


@pytest.mark.parametrize("month", [Month(1900, 1), Month(2026, 12), Month(2027, 1), Month(2999, 12)])
def test_the_index_round_trips(month: Month) -> None:
    assert Month.from_index(month.index) == month


def test_equal_months_are_one_key() -> None:
    assert {Month(2026, 3), Month.parse("2026-03"), Month.of(date(2026, 3, 15))} == {Month(2026, 3)}


def test_a_month_is_immutable() -> None:
    month = Month(2026, 3)
    with pytest.raises(AttributeError):
        month.month = 4  # type: ignore[misc]
