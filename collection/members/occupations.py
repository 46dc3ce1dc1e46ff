"""A member's sector from his occupation: transport (PP 50/2025's discount period for drivers, riders, couriers and
logistics) or other."""

from __future__ import annotations

from collection.members.rates import Sector

# One rule, a word list matched anywhere in the occupation, lower-cased. Anything else is 'other'.
TRANSPORT_WORDS = (
    "ojek", "ojol", "kurir", "courier", "driver", "sopir", "supir", "pengemudi", "angkot", "becak", "bentor",
    "taksi", "taxi", "ekspedisi", "logistik", "delivery", "motoris",
)  # fmt: skip


def sector_for(occupation: str) -> Sector:
    """Transport when the occupation names a driver, rider or courier (:data:`TRANSPORT_WORDS`), else other."""
    lowered = occupation.lower()
    return Sector.TRANSPORT if any(word in lowered for word in TRANSPORT_WORDS) else Sector.OTHER
