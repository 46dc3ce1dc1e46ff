"""The effective-dated contribution (iuran) table of PP 44/2015 and the amount due for a month."""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeGuard, TypeVar, cast

from flask_babel import gettext

from core.months import Month

RATES_JSON = Path(__file__).parent / "data" / "rates.json"

_Choice = TypeVar("_Choice", bound=StrEnum)


class Package(StrEnum):
    """The programmes a BPU member holds: JKK and JKM are mandatory, JHT is optional."""

    JKK_JKM = "JKK+JKM"
    JKK_JKM_JHT = "JKK+JKM+JHT"

    @property
    def programmes(self) -> frozenset[Programme]:
        """The programmes this package pays for."""
        return frozenset(Programme(code) for code in self.value.split("+"))


class Sector(StrEnum):
    """The member's line of work, as far as a discount cares."""

    TRANSPORT = "transport"  # online and base ojek drivers, couriers, logistics
    OTHER = "other"


class Payer(StrEnum):
    """Who pays the contribution."""

    SELF = "self"
    BUDGET = "budget"  # a government budget: APBN or APBD sponsorship
    DONOR = "donor"


class Programme(StrEnum):
    """JKK work accident, JKM death, JHT old-age savings."""

    JKK = "JKK"
    JKM = "JKM"
    JHT = "JHT"


class RateError(ValueError):
    """A contribution cannot be computed from the table; the message says how to fix it."""


class UnknownBracket(RateError):
    """The bracket number or income is not in the table."""


class NoRateForMonth(RateError):
    """No schedule of the table covers the month."""


@dataclass(frozen=True)
class Bracket:
    """One income bracket of Lampiran II: declared income from..to (inclusive; None = open) and its base."""

    number: int
    income_from_idr: int
    income_to_idr: int | None
    base_idr: int

    def __post_init__(self) -> None:
        _require_whole(self.number, "bracket number", minimum=1)
        where = f"bracket {self.number}"
        _require_whole(self.income_from_idr, f"{where}: income_from_idr", minimum=0)
        if self.income_to_idr is not None:
            _require_whole(self.income_to_idr, f"{where}: income_to_idr", minimum=self.income_from_idr)
        _require_whole(self.base_idr, f"{where}: base_idr", minimum=1)

    def covers(self, income_idr: int) -> bool:
        """True when a declared income falls in this bracket."""
        upper_ok = self.income_to_idr is None or income_idr <= self.income_to_idr
        return self.income_from_idr <= income_idr and upper_ok


@dataclass(frozen=True)
class RateSchedule:
    """The rates and brackets in force from ``effective_from`` to ``effective_to`` (inclusive; None = open)."""

    effective_from: Month
    effective_to: Month | None
    jkk_rate_bp: int
    jkm_flat_idr: int
    jht_rate_bp: int
    brackets: tuple[Bracket, ...]
    source: str

    def __post_init__(self) -> None:
        where = f"schedule from {self.effective_from}"
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"{where}: effective_to {self.effective_to} is before effective_from; "
                "swap them or leave effective_to empty for an open-ended schedule"
            )
        _require_whole(self.jkk_rate_bp, f"{where}: jkk_rate_bp", minimum=0)
        _require_whole(self.jkm_flat_idr, f"{where}: jkm_flat_idr", minimum=0)
        _require_whole(self.jht_rate_bp, f"{where}: jht_rate_bp", minimum=0)
        _require_contiguous_brackets(self.brackets, where)

    def bracket(self, number: int) -> Bracket:
        """The bracket with this number."""
        if not 1 <= number <= len(self.brackets):
            raise UnknownBracket(
                gettext(
                    "bracket %(number)s does not exist: brackets are 1 to %(last)s",
                    number=number,
                    last=len(self.brackets),
                )
            )
        return self.brackets[number - 1]

    def bracket_for_income(self, income_idr: int) -> Bracket:
        """The bracket a declared monthly income falls in."""
        if not _is_whole(income_idr):
            raise RateError(
                gettext("income must be whole rupiah (an integer), got %(income)s", income=repr(income_idr))
            )
        if income_idr < 0:
            raise RateError(
                gettext(
                    "income must be 0 or more, got %(income)s: declare the monthly income in rupiah", income=income_idr
                )
            )
        # Brackets are contiguous from 0 and the last one is open, so one always matches.
        return next(bracket for bracket in self.brackets if bracket.covers(income_idr))

    def covers(self, month: Month) -> bool:
        """True when this schedule is in force in the month."""
        return self.effective_from <= month and (self.effective_to is None or month <= self.effective_to)


@dataclass(frozen=True)
class Discount:
    """``percent``% off the listed programmes for members of ``sectors`` in [first_month, last_month]."""

    name: str
    programmes: frozenset[Programme]
    percent: int
    sectors: frozenset[Sector]
    first_month: Month
    last_month: Month
    excluded_payers: frozenset[Payer]
    source: str

    def __post_init__(self) -> None:
        where = f"discount {self.name!r}"
        if not self.name:
            raise ValueError("a discount needs a name: it is shown on the amount due")
        _require_whole(self.percent, f"{where}: percent", minimum=1)
        if self.percent > 100:
            raise ValueError(f"{where}: percent must be 1 to 100, got {self.percent}")
        if not self.programmes:
            raise ValueError(f"{where}: list at least one programme (JKK, JKM or JHT)")
        if not self.sectors:
            raise ValueError(f"{where}: list at least one sector (transport or other)")
        if self.last_month < self.first_month:
            raise ValueError(f"{where}: last_month {self.last_month} is before first_month {self.first_month}")

    def applies(self, sector: Sector, payer: Payer, month: Month) -> bool:
        """True when a member of this sector, paid for by this payer, gets the discount in the month."""
        return (
            self.first_month <= month <= self.last_month
            and sector in self.sectors
            and payer not in self.excluded_payers
        )


@dataclass(frozen=True)
class RateTable:
    """Every schedule, in order and without gaps or overlaps, and the discounts on top of them."""

    schedules: tuple[RateSchedule, ...]
    discounts: tuple[Discount, ...]

    def __post_init__(self) -> None:
        _require_contiguous_schedules(self.schedules)
        object.__setattr__(self, "_hash", hash((self.schedules, self.discounts)))
        names = [discount.name for discount in self.discounts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"discount names must be unique, repeated: {', '.join(duplicates)}")

    def __hash__(self) -> int:  # worked out once: the amount caches key on the table, a deep tuple of brackets
        return cast(int, self.__dict__["_hash"])

    def schedule_for(self, month: Month) -> RateSchedule:
        """The schedule in force in the month."""
        for schedule in self.schedules:
            if schedule.covers(month):
                return schedule
        first, last = self.schedules[0], self.schedules[-1]
        if month < first.effective_from:
            raise NoRateForMonth(
                gettext(
                    "no contribution table covers %(month)s: the first table starts %(first)s",
                    month=str(month),
                    first=str(first.effective_from),
                )
            )
        raise NoRateForMonth(
            gettext(
                "no contribution table covers %(month)s: the last table ends %(last)s; add a schedule for later months "
                "to the rate table",
                month=str(month),
                last=str(last.effective_to),
            )
        )

    def bracket_for_income(self, income_idr: int, month: Month) -> Bracket:
        """The bracket a declared monthly income falls in, under the schedule in force in the month."""
        return self.schedule_for(month).bracket_for_income(income_idr)

    def bracket(self, number: int, month: Month) -> Bracket:
        """The bracket with this number, under the schedule in force in the month."""
        return self.schedule_for(month).bracket(number)


@dataclass(frozen=True)
class ContributionTerms:
    """What a member's contribution depends on, apart from the month."""

    bracket: int
    package: Package
    sector: Sector
    payer: Payer


@dataclass(frozen=True)
class AmountDue:
    """The contribution for one month, per programme, with the discount taken off the total."""

    month: Month
    jkk_idr: int
    jkm_idr: int
    jht_idr: int
    discount_idr: int
    discounts: tuple[str, ...]

    @property
    def total_idr(self) -> int:
        """What the member (or sponsor) pays for the month."""
        return self.jkk_idr + self.jkm_idr + self.jht_idr - self.discount_idr


def amount_due(table: RateTable, terms: ContributionTerms, month: Month) -> AmountDue:
    """The contribution for a month; discounts are rounded half up to whole rupiah per programme.

    Several discounts on one programme add up but never beyond 100%. The discount on each programme is
    ``round_half_up(amount * percent / 100)``, so a half rupiah goes to the member.
    """
    schedule = table.schedule_for(month)
    base_idr = schedule.bracket(terms.bracket).base_idr
    has_jht = Programme.JHT in terms.package.programmes
    gross = {
        Programme.JKK: _round_half_up(base_idr * schedule.jkk_rate_bp, 10_000),
        Programme.JKM: schedule.jkm_flat_idr,
        Programme.JHT: _round_half_up(base_idr * schedule.jht_rate_bp, 10_000) if has_jht else 0,
    }
    applied = [d for d in table.discounts if d.applies(terms.sector, terms.payer, month)]
    discount_idr = 0
    for programme, amount_idr in gross.items():
        percent = min(100, sum(d.percent for d in applied if programme in d.programmes))
        discount_idr += _round_half_up(amount_idr * percent, 100)
    return AmountDue(
        month=month,
        jkk_idr=gross[Programme.JKK],
        jkm_idr=gross[Programme.JKM],
        jht_idr=gross[Programme.JHT],
        discount_idr=discount_idr,
        discounts=tuple(d.name for d in applied),
    )


def load_rate_table(data: dict[str, Any]) -> RateTable:
    """Build and validate a rate table from its JSON document (the shape of ``data/rates.json``)."""
    document = _Fields(data, "rate table")
    schedules = tuple(_load_schedule(entry) for entry in document.items("schedules"))
    discounts = tuple(_load_discount(entry) for entry in document.items("discounts"))
    document.finish()
    return RateTable(schedules=schedules, discounts=discounts)


def rate_table_to_data(table: RateTable) -> dict[str, Any]:
    """The JSON document of a rate table; ``load_rate_table`` reads it back unchanged."""
    return {
        "schedules": [
            {
                "effective_from": str(schedule.effective_from),
                "effective_to": None if schedule.effective_to is None else str(schedule.effective_to),
                "jkk_rate_bp": schedule.jkk_rate_bp,
                "jkm_flat_idr": schedule.jkm_flat_idr,
                "jht_rate_bp": schedule.jht_rate_bp,
                "source": schedule.source,
                "brackets": [
                    {
                        "number": bracket.number,
                        "income_from_idr": bracket.income_from_idr,
                        "income_to_idr": bracket.income_to_idr,
                        "base_idr": bracket.base_idr,
                    }
                    for bracket in schedule.brackets
                ],
            }
            for schedule in table.schedules
        ],
        "discounts": [
            {
                "name": discount.name,
                "programmes": [p.value for p in Programme if p in discount.programmes],
                "percent": discount.percent,
                "sectors": [s.value for s in Sector if s in discount.sectors],
                "first_month": str(discount.first_month),
                "last_month": str(discount.last_month),
                "excluded_payers": [p.value for p in Payer if p in discount.excluded_payers],
                "source": discount.source,
            }
            for discount in table.discounts
        ],
    }


@functools.cache
def default_rate_table() -> RateTable:
    """The shipped table, read once from ``collection/members/data/rates.json``."""
    return load_rate_table(json.loads(RATES_JSON.read_text(encoding="utf-8")))


def _load_schedule(entry: Any) -> RateSchedule:
    fields = _Fields(entry, "schedule")
    fields.where = f"schedule from {fields.text('effective_from')}"
    effective_to = fields.optional_month("effective_to")
    schedule = RateSchedule(
        effective_from=fields.month("effective_from"),
        effective_to=effective_to,
        jkk_rate_bp=fields.whole("jkk_rate_bp"),
        jkm_flat_idr=fields.whole("jkm_flat_idr"),
        jht_rate_bp=fields.whole("jht_rate_bp"),
        brackets=tuple(_load_bracket(item, fields.where) for item in fields.items("brackets")),
        source=fields.text("source"),
    )
    fields.finish()
    return schedule


def _load_bracket(entry: Any, schedule_where: str) -> Bracket:
    fields = _Fields(entry, f"{schedule_where}: bracket")
    number = fields.whole("number")
    fields.where = f"{schedule_where}: bracket {number}"
    income_to = fields.value("income_to_idr")
    bracket = Bracket(
        number=number,
        income_from_idr=fields.whole("income_from_idr"),
        income_to_idr=None if income_to is None else fields.whole("income_to_idr"),
        base_idr=fields.whole("base_idr"),
    )
    fields.finish()
    return bracket


def _load_discount(entry: Any) -> Discount:
    fields = _Fields(entry, "discount")
    fields.where = f"discount {fields.text('name')!r}"
    discount = Discount(
        name=fields.text("name"),
        programmes=fields.choices("programmes", Programme),
        percent=fields.whole("percent"),
        sectors=fields.choices("sectors", Sector),
        first_month=fields.month("first_month"),
        last_month=fields.month("last_month"),
        excluded_payers=fields.choices("excluded_payers", Payer),
        source=fields.text("source"),
    )
    fields.finish()
    return discount


class _Fields:
    """Reads one JSON object field by field, with messages that say where the problem is."""

    def __init__(self, entry: Any, where: str) -> None:
        if not isinstance(entry, dict):
            # A malformed document is a bad value to the caller of load_rate_table, not a bug.
            raise ValueError(f"{where}: expected an object, got {entry!r}")
        self.entry = entry
        self.where = where
        self.read: set[str] = set()

    def value(self, key: str) -> Any:
        if key not in self.entry:
            raise ValueError(f"{self.where}: missing field {key!r}")
        self.read.add(key)
        return self.entry[key]

    def whole(self, key: str) -> int:
        value = self.value(key)
        if not _is_whole(value):
            raise ValueError(f"{self.where}: {key} must be a whole number (an integer), got {value!r}")
        return value

    def text(self, key: str) -> str:
        value = self.value(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{self.where}: {key} must be a non-empty string, got {value!r}")
        return value

    def month(self, key: str) -> Month:
        try:
            return Month.parse(self.text(key))
        except ValueError as error:
            raise ValueError(f"{self.where}: {key}: {error}") from None

    def optional_month(self, key: str) -> Month | None:
        return None if self.value(key) is None else self.month(key)

    def items(self, key: str) -> list[Any]:
        value = self.value(key)
        if not isinstance(value, list):
            raise ValueError(f"{self.where}: {key} must be a list, got {value!r}")
        return value

    def choices(self, key: str, kind: type[_Choice]) -> frozenset[_Choice]:
        allowed = ", ".join(member.value for member in kind)
        chosen: set[_Choice] = set()
        for item in self.items(key):
            try:
                chosen.add(kind(item))
            except ValueError:
                raise ValueError(f"{self.where}: {key}: {item!r} is not one of {allowed}") from None
        return frozenset(chosen)

    def finish(self) -> None:
        unknown = sorted(set(self.entry) - self.read)
        if unknown:
            raise ValueError(f"{self.where}: unknown field(s) {', '.join(unknown)}: check the spelling")


def _is_whole(value: object) -> TypeGuard[int]:
    """True for an int; a bool is an int to Python but never an amount of money."""
    return isinstance(value, int) and not isinstance(value, bool)


def _require_whole(value: object, what: str, *, minimum: int) -> None:
    if not _is_whole(value):
        raise ValueError(f"{what} must be a whole number (an integer), got {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")


def _require_contiguous_brackets(brackets: tuple[Bracket, ...], where: str) -> None:
    if not brackets:
        raise ValueError(f"{where}: a schedule needs at least one bracket")
    if brackets[0].income_from_idr != 0:
        raise ValueError(f"{where}: bracket 1 starts at {_idr(brackets[0].income_from_idr)}; it must start at 0")
    for position, bracket in enumerate(brackets, start=1):
        if bracket.number != position:
            raise ValueError(
                f"{where}: bracket {bracket.number} is in position {position}; "
                "number brackets 1, 2, 3, ... in order of income"
            )
    for lower, upper in itertools.pairwise(brackets):
        if lower.income_to_idr is None:
            raise ValueError(
                f"{where}: bracket {lower.number} has no upper bound but is not the last; "
                "only the last bracket is open-ended"
            )
        if upper.income_from_idr != lower.income_to_idr + 1:
            raise ValueError(
                f"{where}: bracket {upper.number} starts at {_idr(upper.income_from_idr)} but bracket "
                f"{lower.number} ends at {_idr(lower.income_to_idr)}; it must start at "
                f"{_idr(lower.income_to_idr + 1)} (no gaps, no overlaps)"
            )
    if brackets[-1].income_to_idr is not None:
        raise ValueError(
            f"{where}: the last bracket ends at {_idr(brackets[-1].income_to_idr)}; "
            "leave its income_to_idr empty so that every income has a bracket"
        )


def _require_contiguous_schedules(schedules: tuple[RateSchedule, ...]) -> None:
    if not schedules:
        raise ValueError("a rate table needs at least one schedule")
    for earlier, later in itertools.pairwise(schedules):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            ends = "is open-ended" if earlier.effective_to is None else f"runs to {earlier.effective_to}"
            raise ValueError(
                f"schedules overlap: the one from {earlier.effective_from} {ends} but the next starts "
                f"{later.effective_from}; end it at {later.effective_from - 1} "
                "(schedules must be in order of effective_from)"
            )
        if later.effective_from != earlier.effective_to + 1:
            raise ValueError(
                f"gap between schedules: the one from {earlier.effective_from} ends {earlier.effective_to} "
                f"but the next starts {later.effective_from}, leaving {earlier.effective_to + 1} to "
                f"{later.effective_from - 1} without rates; end one where the other starts"
            )


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def _idr(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")
