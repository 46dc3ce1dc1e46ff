"""A branch's region and time zone: the province and regency checked against core/regions.py, the zone that of
the province unless the branch says otherwise."""

from __future__ import annotations

from flask_babel import gettext

from core.regions import TIMEZONES, regencies_of, region_name, timezone_of_province


def region_problems(province_code: str, regency_code: str) -> dict[str, str]:
    """Field messages for a province and regency that do not exist or do not belong together; empty when fine."""
    problems: dict[str, str] = {}
    if len(province_code) != 2 or region_name(province_code) is None:
        problems["province_code"] = gettext(
            "There is no province '%(code)s': write its 2-digit code (e.g. 19 for Kepulauan Bangka Belitung).",
            code=province_code,
        )
        return problems
    if len(regency_code) != 4 or region_name(regency_code) is None:
        problems["regency_code"] = gettext(
            "There is no regency or city '%(code)s': write its 4-digit code (e.g. 1971 for Kota Pangkal Pinang).",
            code=regency_code,
        )
    elif regency_code not in dict(regencies_of(province_code)):
        problems["regency_code"] = gettext(
            "%(regency)s (%(regency_name)s) is not in province %(province)s (%(province_name)s): "
            "its code starts with %(province)s.",
            regency=regency_code,
            regency_name=region_name(regency_code),
            province=province_code,
            province_name=region_name(province_code),
        )
    return problems


def branch_timezone(province_code: str, chosen: str | None) -> str:
    """The zone a branch keeps: ``chosen`` if given (one of WIB, WITA, WIT), else its province's."""
    if chosen:
        if chosen not in TIMEZONES:
            raise ValueError(
                gettext(
                    "The time zone is one of %(zones)s (WIB, WITA, WIT), not '%(zone)s'.",
                    zones=", ".join(TIMEZONES),
                    zone=chosen,
                )
            )
        return chosen
    zone = timezone_of_province(province_code)
    if zone is None:
        raise ValueError(gettext("There is no province '%(code)s'.", code=province_code))

    return zone
