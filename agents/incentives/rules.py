"""An agent's monthly incentive statement and the Wadah's share (domain.md §5, Perdir 13/2022).

The rule is pure: the caller passes enrolments and contribution lines as values and gets back a statement
whose every line says how its figure was computed. The choices the regulation leaves open:

- Acquisition: the fee for every new member whose NIK was never registered before, in a calendar month of
  enrolment in which the agent enrolled at least ``new_nik_threshold`` such members. Re-enrolments of a
  known NIK earn nothing and do not count; they are listed at Rp0 so the agent sees why.
- Collection: a contribution line (one contribution month of one payment) earns in the calendar month of
  its ``eligible_on``, the day its cash was deposited and finance approved the daily batch. The rate
  depends on the line's contribution month number (see :func:`month_numbers`), which the caller fixes
  when the line is recorded. Lines past the last band are listed at Rp0.
- Pending: a line collected by the month's last day but not eligible by then (nor reversed by then) is
  shown in ``pending_lines`` with what it would earn; it is never part of the total.
- Reversal: a line reversed in its eligibility month or earlier never earns. A line reversed in a later
  month earned in its eligibility month and is taken back, to the rupiah, by a clawback line in the
  statement of the month of ``reversed_on``. It is recomputed from the line with the rules passed in,
  which must be those the line earned under: a change of rates between the two months is not handled here.
- Rounding: each percentage line is rounded half up to a whole rupiah (integer arithmetic, basis points);
  a clawback is exactly the negative of what its line earned, and the totals are plain sums of the lines,
  so a statement adds up exactly.
- Carry: a negative month (clawbacks larger than earnings) is not paid as negative. The statement pays
  ``max(total, 0)`` and carries ``min(total, 0)`` into the agent's next statement as a ``carried`` line.
- Self-paid months: a month the member paid himself, by virtual account or QRIS (payments/selfpay), earns his
  agent no collection fee by default (``self_paid_collection_fee`` False): the agent did not collect it. Set it
  True and such a month earns the collection rate for the agent who serves the member, eligible the day it was
  paid (there is no cash to deposit), as a cash month would.
- Wadah: its share is ``wadah_share_bp`` of the sum of its agents' payable amounts (never negative), rounded
  half up once on that sum. An agent's negative month adds nothing; it reduces his next month instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from collection.members.rates import Package
from core.months import Month

BASIS_POINTS = 10_000  # 100%


class LineKind(StrEnum):
    """What a statement line pays (or takes back)."""

    ACQUISITION = "acquisition"
    COLLECTION = "collection"
    CLAWBACK = "clawback"
    CARRIED = "carried"  # a negative previous month, brought forward
    PENDING = "pending"  # not yet earned: shown beside the statement, never in its total


@dataclass(frozen=True)
class IncentiveRules:
    """Every number of the incentive rule, with the Perdir 13/2022 defaults."""

    acquisition_fee_jkk_jkm_jht_idr: int = 15_000
    acquisition_fee_jkk_jkm_idr: int = 10_000
    new_nik_threshold: int = 25
    # (last contribution month number of the band, rate in basis points); after the last band: nothing
    collection_bands: tuple[tuple[int, int], ...] = ((24, 1_500), (60, 500))
    wadah_share_bp: int = 1_000
    # a month the member paid himself (VA, QRIS) earns the agent serving him the collection rate; default: no fee
    self_paid_collection_fee: bool = False

    def __post_init__(self) -> None:
        if self.acquisition_fee_jkk_jkm_jht_idr < 0 or self.acquisition_fee_jkk_jkm_idr < 0:
            raise ValueError("acquisition fees must not be negative")
        if self.new_nik_threshold < 1:
            raise ValueError("the new-NIK threshold must be at least 1")
        lasts = [last for last, _ in self.collection_bands]
        if lasts != sorted(set(lasts)) or (lasts and lasts[0] < 1):
            raise ValueError("collection bands must end at increasing month numbers from 1")
        for rate_bp in [rate for _, rate in self.collection_bands] + [self.wadah_share_bp]:
            if not 0 <= rate_bp <= BASIS_POINTS:
                raise ValueError(f"a rate must be 0..{BASIS_POINTS} basis points, got {rate_bp}")

    def acquisition_fee_idr(self, package: Package) -> int:
        """The fee for one new member enrolled in this package."""
        if package == Package.JKK_JKM_JHT:
            return self.acquisition_fee_jkk_jkm_jht_idr
        return self.acquisition_fee_jkk_jkm_idr

    def collection_rate_bp(self, month_number: int) -> int:
        """The collection rate for a member's Nth contribution month; 0 after the last band."""
        for last, rate_bp in self.collection_bands:
            if month_number <= last:
                return rate_bp
        return 0


@dataclass(frozen=True)
class Enrolment:
    """A member enrolled by an agent; ``nik_new`` when the NIK was never registered before."""

    member_id: int
    agent_id: int
    package: Package
    enrolled_on: date
    nik_new: bool

    def __post_init__(self) -> None:
        Package(self.package)  # raises ValueError for an unknown package


@dataclass(frozen=True)
class CollectedLine:
    """One contribution month of one payment an agent collected, with where its cash stands."""

    payment_id: int
    member_id: int
    agent_id: int
    month: Month  # the contribution month paid for
    month_number: int  # its ordinal among the member's settled months, from month_numbers()
    amount_idr: int
    collected_on: date
    eligible_on: date | None  # deposited and its daily batch approved by finance; None: not yet
    reversed_on: date | None = None

    def __post_init__(self) -> None:
        if self.amount_idr <= 0:
            raise ValueError(f"payment {self.payment_id}: amount_idr must be positive, got {self.amount_idr}")
        if self.month_number < 1:
            raise ValueError(f"payment {self.payment_id}: month_number starts at 1, got {self.month_number}")
        for name, day in (("eligible_on", self.eligible_on), ("reversed_on", self.reversed_on)):
            if day is not None and day < self.collected_on:
                raise ValueError(f"payment {self.payment_id}: {name} {day} is before collected_on {self.collected_on}")

    @property
    def earned_in(self) -> Month | None:
        """The month this line earns in, or None when it never earns (not eligible, or reversed by then)."""
        if self.eligible_on is None:
            return None
        earned = Month.of(self.eligible_on)
        if self.reversed_on is not None and Month.of(self.reversed_on) <= earned:
            return None
        return earned

    @property
    def clawed_back_in(self) -> Month | None:
        """The month whose statement takes this line's incentive back, or None."""
        if self.earned_in is None or self.reversed_on is None:
            return None
        return Month.of(self.reversed_on)

    def pending_at_end_of(self, month: Month) -> bool:
        """Collected by the month's last day, but neither eligible nor reversed by then."""
        last_day = month.last_day()
        return (
            self.collected_on <= last_day
            and (self.eligible_on is None or self.eligible_on > last_day)
            and (self.reversed_on is None or self.reversed_on > last_day)
        )


class Reason(StrEnum):
    """Why a line earns what it earns: its code; its figures are in the line's ``facts`` (the pages word them)."""

    CARRIED = "carried"  # facts: carried_from (Month)
    REENROLMENT = "reenrolment"  # facts: enrolled_on
    UNDER_THRESHOLD = "under_threshold"  # facts: enrolled_on, new_nik_count, threshold
    NEW_NIK = "new_nik"  # facts: enrolled_on, new_nik_count, threshold
    COLLECTED = "collected"  # facts: collected_on, eligible_on
    PAST_LAST_BAND = "past_last_band"  # facts: collected_on, eligible_on
    REVERSED = "reversed"  # facts: reversed_on, earned_idr, earned_in (Month)
    AWAITING_APPROVAL = "awaiting_approval"  # facts: collected_on


Fact = int | str | date | Month  # a line's figures: rupiah and counts as integers, days, months, a package


@dataclass(frozen=True)
class StatementLine:
    """One figure of a statement and, as a code with its figures, how it was computed."""

    kind: LineKind
    member_id: int | None
    payment_id: int | None
    contribution_month: Month | None
    base_idr: int  # what the rate applies to: the contribution, the fee, the carried amount
    rate_bp: int | None  # a collection, clawback or pending line's rate; None for a fee or a carried amount
    month_number: int | None  # the contribution month's place among the member's settled months
    amount_idr: int
    reason: Reason
    facts: Mapping[str, Fact] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentStatement:
    """An agent's incentives for a calendar month: the lines, their sums, what is paid and what is carried."""

    agent_id: int
    month: Month
    lines: tuple[StatementLine, ...]
    pending_lines: tuple[StatementLine, ...]
    new_nik_count: int
    threshold_met: bool

    def _sum(self, kind: LineKind) -> int:
        return sum(line.amount_idr for line in self.lines if line.kind == kind)

    @property
    def acquisition_idr(self) -> int:
        return self._sum(LineKind.ACQUISITION)

    @property
    def collection_idr(self) -> int:
        return self._sum(LineKind.COLLECTION)

    @property
    def clawback_idr(self) -> int:
        """Zero or negative."""
        return self._sum(LineKind.CLAWBACK)

    @property
    def carried_in_idr(self) -> int:
        """Zero or negative: what the previous month left unpaid."""
        return self._sum(LineKind.CARRIED)

    @property
    def total_idr(self) -> int:
        """The sum of the lines; negative when clawbacks outweigh the month's earnings."""
        return sum(line.amount_idr for line in self.lines)

    @property
    def payable_idr(self) -> int:
        """What is paid by the 5th of the next month."""
        return max(self.total_idr, 0)

    @property
    def carried_out_idr(self) -> int:
        """Zero or negative: pass it as ``carried_in_idr`` to the agent's next statement."""
        return min(self.total_idr, 0)

    @property
    def pending_idr(self) -> int:
        """What the pending lines would earn once their cash is deposited and approved."""
        return sum(line.amount_idr for line in self.pending_lines)


@dataclass(frozen=True)
class WadahStatement:
    """The agents' association's share of its agents' incentives for a month."""

    wadah_id: int
    month: Month
    agent_totals: Mapping[int, int]  # agent_id → payable_idr
    base_idr: int
    share_idr: int
    rate_bp: int  # the Wadah's share of base_idr
    carrying_agents: int  # agents whose negative month adds nothing (it is carried to their next month)


def month_numbers(settled_months: Iterable[Month]) -> dict[Month, int]:
    """Number a member's settled contribution months 1, 2, 3… in calendar order, across periods."""
    return {month: number for number, month in enumerate(sorted(set(settled_months)), start=1)}


def agent_statement(
    agent_id: int,
    month: Month,
    enrolments: Iterable[Enrolment],
    lines: Iterable[CollectedLine],
    carried_in_idr: int = 0,
    rules: IncentiveRules = IncentiveRules(),
) -> AgentStatement:
    """The agent's statement for ``month`` from his enrolments and collected lines (others' are ignored)."""
    if carried_in_idr > 0:
        raise ValueError(f"only a negative month is carried, got carried_in_idr={carried_in_idr}")
    own_lines = [line for line in lines if line.agent_id == agent_id]
    _reject_duplicates(own_lines)

    carried = []
    if carried_in_idr:
        carried.append(
            StatementLine(
                LineKind.CARRIED,
                None,
                None,
                None,
                carried_in_idr,
                None,
                None,
                carried_in_idr,
                Reason.CARRIED,
                {"carried_from": month - 1},
            )
        )
    month_enrolments = sorted(
        (e for e in enrolments if e.agent_id == agent_id and Month.of(e.enrolled_on) == month),
        key=lambda e: (e.enrolled_on, e.member_id),
    )
    new_nik_count = sum(1 for e in month_enrolments if e.nik_new)
    threshold_met = new_nik_count >= rules.new_nik_threshold
    acquisition = [_acquisition_line(e, new_nik_count, threshold_met, rules) for e in month_enrolments]

    by_day = sorted(own_lines, key=lambda line: (line.collected_on, line.payment_id, line.month))
    collection = [_collection_line(line, rules) for line in by_day if line.earned_in == month]
    clawback = [_clawback_line(line, rules) for line in by_day if line.clawed_back_in == month]
    pending = [_pending_line(line, rules) for line in by_day if line.pending_at_end_of(month)]

    return AgentStatement(
        agent_id=agent_id,
        month=month,
        lines=tuple(carried + acquisition + collection + clawback),
        pending_lines=tuple(pending),
        new_nik_count=new_nik_count,
        threshold_met=threshold_met,
    )


def wadah_statement(
    wadah_id: int,
    month: Month,
    agent_statements: Sequence[AgentStatement],
    rules: IncentiveRules = IncentiveRules(),
) -> WadahStatement:
    """The Wadah's share: ``wadah_share_bp`` of its agents' payable amounts for the month."""
    agent_totals: dict[int, int] = {}
    for statement in agent_statements:
        if statement.month != month:
            raise ValueError(f"agent {statement.agent_id}'s statement is for {statement.month}, not {month}")
        if statement.agent_id in agent_totals:
            raise ValueError(f"agent {statement.agent_id} has two statements for {month}")
        agent_totals[statement.agent_id] = statement.payable_idr
    base = sum(agent_totals.values())
    share = _percent_of(base, rules.wadah_share_bp)
    carrying = sum(1 for statement in agent_statements if statement.total_idr < 0)
    return WadahStatement(wadah_id, month, agent_totals, base, share, rules.wadah_share_bp, carrying)


def collection_incentive_idr(line: CollectedLine, rules: IncentiveRules) -> int:
    """What a line earns (or would earn) at its month number, rounded half up to a whole rupiah."""
    return _percent_of(line.amount_idr, rules.collection_rate_bp(line.month_number))


def _acquisition_line(
    enrolment: Enrolment, new_nik_count: int, threshold_met: bool, rules: IncentiveRules
) -> StatementLine:
    package = Package(enrolment.package)
    fee = rules.acquisition_fee_idr(package)
    facts: dict[str, Fact] = {"enrolled_on": enrolment.enrolled_on, "package": package.value}
    if not enrolment.nik_new:
        amount, reason = 0, Reason.REENROLMENT
    else:
        amount, reason = (fee, Reason.NEW_NIK) if threshold_met else (0, Reason.UNDER_THRESHOLD)
        facts |= {"new_nik_count": new_nik_count, "threshold": rules.new_nik_threshold}
    return StatementLine(LineKind.ACQUISITION, enrolment.member_id, None, None, fee, None, None, amount, reason, facts)


def _collection_line(line: CollectedLine, rules: IncentiveRules) -> StatementLine:
    rate_bp = rules.collection_rate_bp(line.month_number)
    assert line.eligible_on is not None  # it earns this month
    return StatementLine(
        LineKind.COLLECTION,
        line.member_id,
        line.payment_id,
        line.month,
        line.amount_idr,
        rate_bp,
        line.month_number,
        collection_incentive_idr(line, rules),
        Reason.COLLECTED if rate_bp else Reason.PAST_LAST_BAND,
        {"collected_on": line.collected_on, "eligible_on": line.eligible_on},
    )


def _clawback_line(line: CollectedLine, rules: IncentiveRules) -> StatementLine:
    earned = collection_incentive_idr(line, rules)
    assert line.reversed_on is not None and line.earned_in is not None  # it is clawed back this month
    return StatementLine(
        LineKind.CLAWBACK,
        line.member_id,
        line.payment_id,
        line.month,
        line.amount_idr,
        rules.collection_rate_bp(line.month_number),
        line.month_number,
        -earned,
        Reason.REVERSED,
        {"reversed_on": line.reversed_on, "earned_idr": earned, "earned_in": line.earned_in},
    )


def _pending_line(line: CollectedLine, rules: IncentiveRules) -> StatementLine:
    return StatementLine(
        LineKind.PENDING,
        line.member_id,
        line.payment_id,
        line.month,
        line.amount_idr,
        rules.collection_rate_bp(line.month_number),
        line.month_number,
        collection_incentive_idr(line, rules),
        Reason.AWAITING_APPROVAL,
        {"collected_on": line.collected_on},
    )


def _reject_duplicates(lines: Sequence[CollectedLine]) -> None:
    seen: set[tuple[int, Month]] = set()
    for line in lines:
        key = (line.payment_id, line.month)
        if key in seen:
            raise ValueError(f"payment {line.payment_id} pays {line.month} twice in the input")
        seen.add(key)


def _percent_of(amount_idr: int, rate_bp: int) -> int:
    """``amount × rate`` rounded half up to a whole rupiah, in integers (amount is not negative)."""
    return (amount_idr * rate_bp + BASIS_POINTS // 2) // BASIS_POINTS


def facts_json(facts: Mapping[str, Fact]) -> dict[str, int | str]:
    """A line's facts as JSON values: days ``2026-11-05``, months ``2026-11``, integers as they are."""
    return {name: value if isinstance(value, int | str) else str(value) for name, value in facts.items()}


MONTH_FACTS = ("carried_from", "earned_in")


def facts_from_json(stored: Mapping[str, int | str]) -> dict[str, Fact]:
    """The facts of facts_json back as values: ``*_on`` days, MONTH_FACTS months."""
    facts: dict[str, Fact] = {}
    for name, value in stored.items():
        if name.endswith("_on") and isinstance(value, str):
            facts[name] = date.fromisoformat(value)
        elif name in MONTH_FACTS and isinstance(value, str):
            facts[name] = Month.parse(value)
        else:
            facts[name] = value
    return facts
