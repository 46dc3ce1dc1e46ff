"""The incentive rule as tables: the 25-new-NIK threshold, the rate bands, eligibility, reversals, the Wadah."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.incentives.rules import (
    CollectedLine,
    Enrolment,
    IncentiveRules,
    LineKind,
    Reason,
    agent_statement,
    collection_incentive_idr,
    facts_from_json,
    facts_json,
    month_numbers,
    wadah_statement,
)
from collection.members.rates import Package
from core.months import Month

AGENT = 7
MARCH = Month(2026, 3)
APRIL = Month(2026, 4)


def enrolments(count: int, package: Package, nik_new: bool = True, first_member_id: int = 1) -> list[Enrolment]:
    return [Enrolment(first_member_id + n, AGENT, package, date(2026, 3, 1 + n % 28), nik_new) for n in range(count)]


def collected(
    amount_idr: int = 16_800,
    month_number: int = 7,
    eligible_on: date | None = date(2026, 3, 11),
    reversed_on: date | None = None,
    payment_id: int = 501,
    agent_id: int = AGENT,
) -> CollectedLine:
    return CollectedLine(
        payment_id=payment_id,
        member_id=9_001,
        agent_id=agent_id,
        month=MARCH,
        month_number=month_number,
        amount_idr=amount_idr,
        collected_on=date(2026, 3, 10),
        eligible_on=eligible_on,
        reversed_on=reversed_on,
    )


@pytest.mark.parametrize(
    ("full", "basic", "known_nik", "count", "met", "acquisition_idr"),
    [
        (24, 0, 0, 24, False, 0),
        (25, 0, 0, 25, True, 25 * 15_000),
        (0, 25, 0, 25, True, 25 * 10_000),
        (14, 10, 0, 24, False, 0),  # mixed packages, one short
        (15, 10, 0, 25, True, 15 * 15_000 + 10 * 10_000),
        (24, 0, 1, 24, False, 0),  # a re-registered NIK does not make the 25th
        (25, 0, 3, 25, True, 25 * 15_000),  # nor earns a fee when the threshold is met
    ],
)
def test_acquisition_fees_are_paid_only_from_25_new_niks_in_the_month(
    full, basic, known_nik, count, met, acquisition_idr
):
    month_enrolments = (
        enrolments(full, Package.JKK_JKM_JHT)
        + enrolments(basic, Package.JKK_JKM, first_member_id=100)
        + enrolments(known_nik, Package.JKK_JKM_JHT, nik_new=False, first_member_id=200)
    )

    statement = agent_statement(AGENT, MARCH, month_enrolments, [])

    assert (statement.new_nik_count, statement.threshold_met) == (count, met)
    assert statement.acquisition_idr == statement.total_idr == acquisition_idr
    assert len(statement.lines) == full + basic + known_nik  # every enrolment is shown, Rp0 with the reason


def test_enrolments_of_another_month_or_agent_do_not_count_toward_the_threshold():
    month_enrolments = [
        *enrolments(24, Package.JKK_JKM_JHT),
        Enrolment(300, AGENT, Package.JKK_JKM_JHT, date(2026, 4, 1), True),
        Enrolment(301, AGENT + 1, Package.JKK_JKM_JHT, date(2026, 3, 31), True),
    ]

    statement = agent_statement(AGENT, MARCH, month_enrolments, [])

    assert (statement.new_nik_count, statement.acquisition_idr) == (24, 0)


def test_the_threshold_and_fees_come_from_the_rules():
    rules = IncentiveRules(acquisition_fee_jkk_jkm_idr=12_000, new_nik_threshold=2)

    statement = agent_statement(AGENT, MARCH, enrolments(2, Package.JKK_JKM), [], rules=rules)

    assert statement.acquisition_idr == 24_000


@pytest.mark.parametrize(
    ("month_number", "rate_bp", "reason", "collection_idr"),
    [
        (1, 1_500, Reason.COLLECTED, 2_520),
        (24, 1_500, Reason.COLLECTED, 2_520),
        (25, 500, Reason.COLLECTED, 840),
        (60, 500, Reason.COLLECTED, 840),
        (61, 0, Reason.PAST_LAST_BAND, 0),
    ],
)
def test_collection_pays_15_percent_to_month_24_then_5_percent_to_month_60(
    month_number, rate_bp, reason, collection_idr
):
    statement = agent_statement(AGENT, MARCH, [], [collected(16_800, month_number)])

    (line,) = statement.lines
    assert (line.kind, line.rate_bp, line.month_number, line.base_idr) == (
        LineKind.COLLECTION,
        rate_bp,
        month_number,
        16_800,
    )
    assert line.reason == reason and line.facts == {"collected_on": date(2026, 3, 10), "eligible_on": date(2026, 3, 11)}
    assert line.amount_idr == statement.collection_idr == statement.total_idr == collection_idr


def test_months_are_numbered_across_periods_in_calendar_order():
    first_period = list(Month(2024, 1).until(Month(2025, 12)))  # 24 months
    second_period = [Month(2026, 5), Month(2026, 6)]  # after a lapse
    settled = second_period + first_period + [Month(2024, 1)]  # unsorted, with a duplicate

    numbers = month_numbers(settled)

    assert numbers[Month(2024, 1)] == 1
    assert numbers[Month(2025, 12)] == 24
    assert numbers[Month(2026, 5)] == 25
    assert numbers[Month(2026, 6)] == 26
    assert len(numbers) == 26


@pytest.mark.parametrize(
    ("eligible_on", "month", "collection_idr", "pending_idr"),
    [
        (None, MARCH, 0, 2_520),  # not deposited or not approved yet: shown, not paid
        (None, APRIL, 0, 2_520),  # still pending a month later
        (date(2026, 4, 2), MARCH, 0, 2_520),  # was pending at the end of March
        (date(2026, 4, 2), APRIL, 2_520, 0),  # earns in the month it became eligible
        (date(2026, 3, 11), MARCH, 2_520, 0),
        (date(2026, 3, 11), APRIL, 0, 0),  # earns once, not again
    ],
)
def test_a_line_earns_in_the_month_it_becomes_eligible(eligible_on, month, collection_idr, pending_idr):
    statement = agent_statement(AGENT, month, [], [collected(eligible_on=eligible_on)])

    assert (statement.collection_idr, statement.total_idr) == (collection_idr, collection_idr)
    assert statement.pending_idr == pending_idr
    assert all(line.kind == LineKind.PENDING for line in statement.pending_lines)


@pytest.mark.parametrize(
    ("eligible_on", "reversed_on", "march", "april"),
    [
        (None, date(2026, 3, 12), (0, 0, 0), (0, 0, 0)),  # reversed before it was eligible: never earns
        (date(2026, 3, 11), date(2026, 3, 20), (0, 0, 0), (0, 0, 0)),  # reversed in the month it earned
        (date(2026, 3, 11), date(2026, 4, 10), (2_520, 0, 0), (0, -2_520, 0)),  # clawed back the next month
        (date(2026, 4, 2), date(2026, 3, 31), (0, 0, 0), (0, 0, 0)),  # reversed, then approved in a batch
        (None, date(2026, 4, 10), (0, 0, 2_520), (0, 0, 0)),  # pending until reversed
    ],
)
def test_a_reversed_payment_takes_its_incentive_back(eligible_on, reversed_on, march, april):
    line = collected(eligible_on=eligible_on, reversed_on=reversed_on)

    for month, (collection_idr, clawback_idr, pending_idr) in ((MARCH, march), (APRIL, april)):
        statement = agent_statement(AGENT, month, [], [line])
        assert (statement.collection_idr, statement.clawback_idr, statement.pending_idr) == (
            collection_idr,
            clawback_idr,
            pending_idr,
        ), month


def test_a_clawback_line_says_what_it_takes_back():
    line = collected(amount_idr=16_803, eligible_on=date(2026, 3, 11), reversed_on=date(2026, 4, 10))

    (clawback,) = agent_statement(AGENT, APRIL, [], [line]).lines

    assert (clawback.kind, clawback.payment_id, clawback.amount_idr) == (LineKind.CLAWBACK, 501, -2_520)
    assert clawback.reason == Reason.REVERSED
    assert clawback.facts == {"reversed_on": date(2026, 4, 10), "earned_idr": 2_520, "earned_in": MARCH}


@pytest.mark.parametrize(
    ("amounts", "month_number", "per_line", "total_idr"),
    [
        ([10], 1, [2], 2),  # 1.5 rounds up
        ([3], 1, [0], 0),  # 0.45 rounds down
        ([13], 1, [2], 2),  # 1.95
        ([30], 30, [2], 2),  # 5% of 30 = 1.5
        ([29], 30, [1], 1),  # 1.45
        ([16_803], 7, [2_520], 2_520),  # 2,520.45
        ([16_804], 7, [2_521], 2_521),  # 2,520.6
        ([10, 10, 10], 1, [2, 2, 2], 6),  # per line: 6, not 15% of 30 = 4.5 → 5
    ],
)
def test_each_line_is_rounded_half_up_and_the_total_is_their_sum(amounts, month_number, per_line, total_idr):
    lines = [collected(amount, month_number, payment_id=600 + n) for n, amount in enumerate(amounts)]

    statement = agent_statement(AGENT, MARCH, [], lines)

    assert [line.amount_idr for line in statement.lines] == per_line
    assert statement.total_idr == total_idr


def test_a_negative_month_is_carried_to_the_next_not_paid():
    earned_in_march = collected(eligible_on=date(2026, 3, 11), reversed_on=date(2026, 4, 10), payment_id=1)
    earned_in_april = collected(amount_idr=8_400, eligible_on=date(2026, 4, 3), payment_id=2)

    april = agent_statement(AGENT, APRIL, [], [earned_in_march, earned_in_april])
    may = agent_statement(
        AGENT,
        Month(2026, 5),
        [],
        [collected(amount_idr=33_600, eligible_on=date(2026, 5, 4), payment_id=3)],
        carried_in_idr=april.carried_out_idr,
    )

    assert (april.collection_idr, april.clawback_idr, april.total_idr) == (1_260, -2_520, -1_260)
    assert (april.payable_idr, april.carried_out_idr) == (0, -1_260)
    assert (may.carried_in_idr, may.collection_idr, may.total_idr, may.payable_idr) == (-1_260, 5_040, 3_780, 3_780)
    assert may.lines[0].kind == LineKind.CARRIED


def test_only_a_negative_amount_can_be_carried():
    with pytest.raises(ValueError, match="negative"):
        agent_statement(AGENT, MARCH, [], [], carried_in_idr=100)


@pytest.mark.parametrize(
    ("amounts", "base_idr", "share_idr"),
    [
        ([375_000, 50_005], 425_005, 42_501),  # 42,500.5 rounds up
        ([375_000, 50_004], 425_004, 42_500),  # 42,500.4
        ([2_520, -1_260], 2_520, 252),  # a negative agent adds nothing: he carries it himself
        ([], 0, 0),
    ],
)
def test_the_wadah_receives_10_percent_of_its_agents_payable_incentives(amounts, base_idr, share_idr):
    statements = []
    for agent_id, amount in enumerate(amounts, start=1):
        carried = min(amount, 0)
        lines = [] if amount <= 0 else [_line_earning(amount, agent_id)]
        statements.append(agent_statement(agent_id, MARCH, [], lines, carried_in_idr=carried))

    wadah = wadah_statement(3, MARCH, statements, IncentiveRules())

    assert dict(wadah.agent_totals) == {n: max(a, 0) for n, a in enumerate(amounts, start=1)}
    assert (wadah.base_idr, wadah.share_idr) == (base_idr, share_idr)


def _line_earning(incentive_idr: int, agent_id: int) -> CollectedLine:
    """A line at 5% whose incentive is exactly ``incentive_idr`` (20 × the incentive)."""
    return collected(amount_idr=incentive_idr * 20, month_number=30, payment_id=agent_id, agent_id=agent_id)


def test_the_wadah_statement_rejects_another_months_statement():
    with pytest.raises(ValueError, match="2026-04"):
        wadah_statement(3, MARCH, [agent_statement(AGENT, APRIL, [], [])])


def test_acquisition_lines_say_why_they_earn_or_not_with_their_figures():
    under = agent_statement(AGENT, MARCH, enrolments(2, Package.JKK_JKM), [])
    reached = agent_statement(AGENT, MARCH, enrolments(25, Package.JKK_JKM_JHT), [])
    again = agent_statement(AGENT, MARCH, enrolments(1, Package.JKK_JKM, nik_new=False), [])

    assert (under.lines[0].reason, under.lines[0].facts) == (
        Reason.UNDER_THRESHOLD,
        {"enrolled_on": date(2026, 3, 1), "package": "JKK+JKM", "new_nik_count": 2, "threshold": 25},
    )
    assert (reached.lines[0].reason, reached.lines[0].amount_idr, reached.lines[0].facts["new_nik_count"]) == (
        Reason.NEW_NIK,
        15_000,
        25,
    )
    assert (again.lines[0].reason, again.lines[0].facts) == (
        Reason.REENROLMENT,
        {"enrolled_on": date(2026, 3, 1), "package": "JKK+JKM"},
    )


def test_a_carried_line_and_a_pending_line_carry_their_days_and_months():
    pending = collected(eligible_on=None)

    statement = agent_statement(AGENT, APRIL, [], [pending], carried_in_idr=-1_000)

    (carried,) = statement.lines
    assert (carried.reason, carried.facts, carried.rate_bp) == (Reason.CARRIED, {"carried_from": MARCH}, None)
    assert (statement.pending_lines[0].reason, statement.pending_lines[0].facts) == (
        Reason.AWAITING_APPROVAL,
        {"collected_on": date(2026, 3, 10)},
    )


def test_a_lines_facts_go_to_json_and_back_unchanged():
    line = collected(eligible_on=date(2026, 3, 11), reversed_on=date(2026, 4, 10))
    (clawback,) = agent_statement(AGENT, APRIL, [], [line]).lines

    stored = facts_json(clawback.facts)

    assert stored == {"reversed_on": "2026-04-10", "earned_idr": 2_520, "earned_in": "2026-03"}
    assert facts_from_json(stored) == clawback.facts


def test_the_wadah_statement_keeps_its_rate_and_the_agents_that_carry():
    statements = [
        agent_statement(1, MARCH, [], [_line_earning(2_520, 1)]),
        agent_statement(2, MARCH, [], [], carried_in_idr=-1_260),
    ]

    wadah = wadah_statement(3, MARCH, statements, IncentiveRules(wadah_share_bp=1_250))

    assert (wadah.rate_bp, wadah.carrying_agents, wadah.share_idr) == (1_250, 1, 315)


@pytest.mark.parametrize(
    "rules",
    [
        {"collection_bands": ((60, 500), (24, 1_500))},
        {"wadah_share_bp": 10_001},
        {"new_nik_threshold": 0},
        {"acquisition_fee_jkk_jkm_idr": -1},
    ],
)
def test_rules_that_make_no_sense_are_rejected(rules):
    with pytest.raises(ValueError):
        IncentiveRules(**rules)


def test_a_line_cannot_be_eligible_before_it_was_collected():
    with pytest.raises(ValueError, match="eligible_on"):
        collected(eligible_on=date(2026, 3, 9))


def test_the_same_payment_month_twice_is_rejected():
    with pytest.raises(ValueError, match="twice"):
        agent_statement(AGENT, MARCH, [], [collected(), collected()])


_days_after = st.one_of(st.none(), st.integers(min_value=0, max_value=75))


@st.composite
def _lines(draw: st.DrawFn) -> list[CollectedLine]:
    lines = []
    for payment_id in range(draw(st.integers(min_value=0, max_value=12))):
        collected_on = date(2026, 1, 1) + timedelta(days=draw(st.integers(min_value=0, max_value=150)))
        eligible_after, reversed_after = draw(_days_after), draw(_days_after)
        lines.append(
            CollectedLine(
                payment_id=payment_id,
                member_id=payment_id % 3,
                agent_id=AGENT,
                month=Month.of(collected_on),
                month_number=draw(st.integers(min_value=1, max_value=70)),
                amount_idr=draw(st.integers(min_value=1, max_value=500_000)),
                collected_on=collected_on,
                eligible_on=None if eligible_after is None else collected_on + timedelta(days=eligible_after),
                reversed_on=None if reversed_after is None else collected_on + timedelta(days=reversed_after),
            )
        )
    return lines


@given(_lines())
def test_statements_add_up_and_never_take_back_more_than_was_earned(lines):
    carried = 0
    statements = []
    for month in Month(2026, 1).until(Month(2026, 9)):
        statement = agent_statement(AGENT, month, [], lines, carried_in_idr=carried)
        assert statement.total_idr == sum(line.amount_idr for line in statement.lines)
        assert statement.total_idr == (
            statement.acquisition_idr + statement.collection_idr + statement.clawback_idr + statement.carried_in_idr
        )
        assert statement.payable_idr >= 0 and statement.payable_idr + statement.carried_out_idr == statement.total_idr
        carried = statement.carried_out_idr
        statements.append(statement)

    statement_lines = [out for statement in statements for out in statement.lines]
    for line in lines:
        amounts = [out.amount_idr for out in statement_lines if out.payment_id == line.payment_id]
        earned, taken_back = sum(a for a in amounts if a > 0), -sum(a for a in amounts if a < 0)
        assert earned == (collection_incentive_idr(line, IncentiveRules()) if line.earned_in else 0)  # once only
        assert taken_back in (0, earned)  # never more than was earned, and all of it or nothing
        if line.reversed_on is not None:
            assert taken_back == earned  # a reversed payment keeps nothing
    # what was paid over the months, plus what is still owed back, is everything earned minus everything taken back
    net = sum(out.amount_idr for out in statement_lines if out.kind != LineKind.CARRIED)
    assert sum(statement.payable_idr for statement in statements) + carried == net
