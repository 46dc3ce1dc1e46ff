"""The roster's rules (domain.md §5), pure: an agent's status moves, when he counts as idle, when he may be
reactivated, how an area is read, and where each member goes in a hand-over by village."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from organisation.models import AgentStatus

IDLE_MONTHS = 3  # no transaction for 3 consecutive months: the agent is deactivated
REACTIVATION_AFTER_MONTHS = 6  # a deactivated agent comes back no earlier than 6 months after
MAX_AREAS = 50
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9\-]{1,15}$")
_DISTRICT = re.compile(r"^[0-9]{6}$")
_VILLAGE = re.compile(r"^[^\W\d_][\w .'\-/]{1,79}$")
_SPACES = re.compile(r"\s+")

# The moves an agent's status may make; a terminated agent (fraud) never comes back.
TRANSITIONS: dict[AgentStatus, frozenset[AgentStatus]] = {
    AgentStatus.ACTIVE: frozenset({AgentStatus.DEACTIVATED, AgentStatus.TERMINATED}),
    AgentStatus.DEACTIVATED: frozenset({AgentStatus.ACTIVE, AgentStatus.TERMINATED}),
    AgentStatus.TERMINATED: frozenset(),
}


class IllegalMove(ValueError):
    """A status move the rules refuse; the message says what is allowed instead."""

    def __init__(self, current: AgentStatus, wanted: AgentStatus, message: str | None = None) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (a terminated agent stays terminated)"
        super().__init__(message or f"The agent is {current}; he cannot become {wanted}. Allowed: {allowed}.")
        self.current = current
        self.wanted = wanted


def move(current: AgentStatus, wanted: AgentStatus) -> AgentStatus:
    """The new status, or :class:`IllegalMove`."""
    if wanted not in TRANSITIONS[current]:
        raise IllegalMove(current, wanted)
    return wanted


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day where it has fewer days)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def is_idle(last_activity_on: date, today: date) -> bool:
    """Whether an agent whose last transaction (or start) was on ``last_activity_on`` has gone IDLE_MONTHS
    whole months without one by ``today``."""
    return last_activity_on <= months_before(today, IDLE_MONTHS)


def reactivation_allowed_from(deactivated_on: date) -> date:
    """The first day a deactivated agent may be reactivated."""
    later = deactivated_on.year * 12 + deactivated_on.month - 1 + REACTIVATION_AFTER_MONTHS
    year, month = divmod(later, 12)
    return date(year, month + 1, min(deactivated_on.day, calendar.monthrange(year, month + 1)[1]))


def normalise_code(code: str) -> str:
    """An agent code as stored (upper case, no spaces), or ValueError saying how to write one."""
    compact = code.strip().upper()
    if not CODE_PATTERN.match(compact):
        raise ValueError(
            f"'{code.strip()[:20]}' is not an agent code: 2 to 16 letters, digits or dashes, e.g. PKP-P07."
        )
    return compact


def village_key(village: str | None) -> str:
    """A village name as matched: lower case, single spaces."""
    return _SPACES.sub(" ", (village or "").strip()).casefold()


@dataclass(frozen=True, slots=True)
class Area:
    kind: str  # village or district
    key: str
    label: str


def parse_area(text: str, district_names: Mapping[str, str]) -> Area:
    """An area as typed: six digits are a district (kecamatan) code, anything else a village name."""
    compact = _SPACES.sub(" ", text.strip())
    if _DISTRICT.match(compact):
        name = district_names.get(compact)
        if name is None:
            raise ValueError(f"{compact} is not a district (kecamatan) code: 6 digits, e.g. 197101.")
        return Area("district", compact, name)
    if compact.isdigit():
        raise ValueError(f"'{compact}' is neither a district code (6 digits) nor a village name.")
    if not _VILLAGE.match(compact):
        raise ValueError(
            f"'{compact[:40]}' is not a village name: 2 to 80 characters, starting with a letter, e.g. Gerunggang."
        )
    return Area("village", village_key(compact), compact)


def parse_areas(texts: Iterable[str], district_names: Mapping[str, str]) -> list[Area]:
    """Every area of a list, each once; ValueError naming the first bad one (by its position)."""
    areas: dict[tuple[str, str], Area] = {}
    for position, text in enumerate(texts):
        try:
            area = parse_area(text, district_names)
        except ValueError as error:
            raise ValueError(f"Area {position + 1}: {error}") from error
        areas.setdefault((area.kind, area.key), area)
    if len(areas) > MAX_AREAS:
        raise ValueError(f"At most {MAX_AREAS} areas per agent; split the work between agents.")
    return list(areas.values())


def destination(
    village: str | None, district_code: str, target_areas: Iterable[Area], target_id: int, default_id: int
) -> int:
    """Where a member goes in a hand-over by village: to the target agent if his village or district is one of
    the target's areas, else to the default agent."""
    key = village_key(village)
    for area in target_areas:
        if (area.kind == "village" and key and area.key == key) or (
            area.kind == "district" and area.key == district_code
        ):
            return target_id
    return default_id


@dataclass(frozen=True, slots=True)
class AreaMatch:
    """Who covers a member by area: his agent, or None with why (``no_area``, ``ambiguous_village``,
    ``ambiguous_district``) and the agents in question."""

    agent_id: int | None
    reason: str | None = None
    candidates: tuple[int, ...] = ()


def area_agent(
    village: str | None,
    district_code: str,
    by_village: Mapping[str, frozenset[int]],
    by_district: Mapping[str, frozenset[int]],
) -> AreaMatch:
    """The one agent whose areas cover a member's village (its key), or else his district. A village covered by
    two agents is ambiguous (the district is not asked: the village is the finer area); a district too."""
    key = village_key(village)
    village_agents = by_village.get(key, frozenset()) if key else frozenset()
    if len(village_agents) == 1:
        return AreaMatch(next(iter(village_agents)))
    if village_agents:
        return AreaMatch(None, "ambiguous_village", tuple(sorted(village_agents)))
    district_agents = by_district.get(district_code, frozenset())
    if len(district_agents) == 1:
        return AreaMatch(next(iter(district_agents)))
    if district_agents:
        return AreaMatch(None, "ambiguous_district", tuple(sorted(district_agents)))
    return AreaMatch(None, "no_area")
