"""A branch's region and time zone: the province and regency checked against core/regions.py, the zone that of
the province unless the branch says otherwise."""

from __future__ import annotations

from core.regions import TIMEZONES, regencies_of, region_name, timezone_of_province


def region_problems(province_code: str, regency_code: str) -> dict[str, str]:
    """Field messages for a province and regency that do not exist or do not belong together; empty when fine."""
    problems: dict[str, str] = {}
    if len(province_code) != 2 or region_name(province_code) is None:
        problems["province_code"] = (
            f"There is no province {province_code!r}: write its 2-digit code (e.g. 19 for Kepulauan Bangka Belitung)."
        )
        return problems
    if len(regency_code) != 4 or region_name(regency_code) is None:
        problems["regency_code"] = (
            f"There is no regency or city {regency_code!r}: write its 4-digit code (e.g. 1971 for Kota Pangkal Pinang)."
        )
    elif regency_code not in dict(regencies_of(province_code)):
        problems["regency_code"] = (
            f"{regency_code} ({region_name(regency_code)}) is not in province {province_code} "
            f"({region_name(province_code)}): its code starts with {province_code}."
        )
    return problems


def branch_timezone(province_code: str, chosen: str | None) -> str:
    """The zone a branch keeps: ``chosen`` if given (one of WIB, WITA, WIT), else its province's."""
    if chosen:
        if chosen not in TIMEZONES:
            raise ValueError(f"The time zone is one of {', '.join(TIMEZONES)} (WIB, WITA, WIT), not {chosen!r}.")
        return chosen
    zone = timezone_of_province(province_code)
    if zone is None:
        raise ValueError(f"There is no province {province_code!r}.")
    return zone
