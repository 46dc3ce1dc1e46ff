"""The roster's pure rules: status moves, the idle clock, reactivation, areas and a hand-over's destinations."""

from __future__ import annotations

from datetime import date

import pytest

from agents.roster.rules import (
    Area,
    AreaMatch,
    IllegalMove,
    area_agent,
    destination,
    is_idle,
    move,
    normalise_code,
    parse_area,
    parse_areas,
    reactivation_allowed_from,
)
from organisation.models import AgentStatus as S

DISTRICTS = {"197101": "Bukit Intan", "197102": "Taman Sari"}


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        (S.ACTIVE, S.DEACTIVATED, True),
        (S.ACTIVE, S.TERMINATED, True),
        (S.DEACTIVATED, S.ACTIVE, True),
        (S.DEACTIVATED, S.TERMINATED, True),
        (S.ACTIVE, S.ACTIVE, False),
        (S.DEACTIVATED, S.DEACTIVATED, False),
        (S.TERMINATED, S.ACTIVE, False),
        (S.TERMINATED, S.DEACTIVATED, False),
    ],
)
def test_an_agents_status_moves_only_as_the_table_allows(current, wanted, allowed):
    if allowed:
        assert move(current, wanted) == wanted
    else:
        with pytest.raises(IllegalMove):
            move(current, wanted)


@pytest.mark.parametrize(
    ("last", "today", "idle"),
    [
        (date(2026, 8, 22), date(2026, 11, 22), True),  # three whole months
        (date(2026, 8, 23), date(2026, 11, 22), False),  # a day short
        (date(2026, 2, 28), date(2026, 5, 31), True),
        (date(2026, 11, 28), date(2027, 2, 28), True),
        (date(2026, 11, 30), date(2027, 2, 28), False),  # February has no 30th: counted from 1 March
        (date(2026, 11, 30), date(2027, 3, 1), True),
    ],
)
def test_an_agent_is_idle_after_three_whole_months_without_a_transaction(last, today, idle):
    assert is_idle(last, today) is idle


@pytest.mark.parametrize(
    ("deactivated", "earliest"),
    [(date(2026, 11, 22), date(2027, 5, 22)), (date(2026, 8, 31), date(2027, 2, 28))],
)
def test_a_deactivated_agent_comes_back_six_months_later_at_the_earliest(deactivated, earliest):
    assert reactivation_allowed_from(deactivated) == earliest


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("197101", Area("district", "197101", "Bukit Intan")),
        (" Gerunggang ", Area("village", "gerunggang", "Gerunggang")),
        ("Bukit  Merapin", Area("village", "bukit merapin", "Bukit Merapin")),
    ],
)
def test_an_area_is_a_district_code_or_a_village_name(text, area):
    assert parse_area(text, DISTRICTS) == area


@pytest.mark.parametrize("text", ["999999", "12345", "x", "-dusun", "  ", "a" * 90])
def test_an_area_that_is_neither_is_refused(text):
    with pytest.raises(ValueError):
        parse_area(text, DISTRICTS)


def test_areas_are_kept_once_and_a_bad_one_is_named_by_its_position():
    assert len(parse_areas(["Gerunggang", "gerunggang", "197101"], DISTRICTS)) == 2
    with pytest.raises(ValueError, match="Area 2"):
        parse_areas(["Gerunggang", "999999"], DISTRICTS)


@pytest.mark.parametrize(("code", "stored"), [("pkp-p07", "PKP-P07"), (" AG1 ", "AG1")])
def test_an_agent_code_is_stored_in_capitals(code, stored):
    assert normalise_code(code) == stored


@pytest.mark.parametrize("code", ["", "A", "PKP P07", "-PKP", "X" * 17, "PKP/1"])
def test_a_bad_agent_code_is_refused(code):
    with pytest.raises(ValueError):
        normalise_code(code)


def test_a_member_goes_to_the_agent_whose_area_holds_his_village_or_district():
    areas = [Area("village", "gerunggang", "Gerunggang"), Area("district", "197102", "Taman Sari")]
    assert destination("GERUNGGANG ", "197101", areas, 1, 2) == 1
    assert destination(None, "197102", areas, 1, 2) == 1
    assert destination("Semabung", "197101", areas, 1, 2) == 2
    assert destination(None, "197101", areas, 1, 2) == 2


VILLAGES = {"gerunggang": frozenset({1}), "semabung": frozenset({2, 3})}
DISTRICT_AGENTS = {"197101": frozenset({4}), "197102": frozenset({5, 6})}


@pytest.mark.parametrize(
    ("village", "district", "match"),
    [
        ("Gerunggang", "197102", AreaMatch(1)),  # the village first, though two agents hold his district
        ("  GERUNGGANG ", "197101", AreaMatch(1)),
        ("Bacang", "197101", AreaMatch(4)),  # nobody holds his village: his district
        (None, "197101", AreaMatch(4)),
        ("", "197101", AreaMatch(4)),
        ("Semabung", "197101", AreaMatch(None, "ambiguous_village", (2, 3))),  # not his district's agent
        ("Bacang", "197102", AreaMatch(None, "ambiguous_district", (5, 6))),
        ("Bacang", "197103", AreaMatch(None, "no_area")),
        (None, "197103", AreaMatch(None, "no_area")),
    ],
)
def test_a_member_by_area_goes_to_the_one_agent_of_his_village_or_else_district(village, district, match):
    assert area_agent(village, district, VILLAGES, DISTRICT_AGENTS) == match
