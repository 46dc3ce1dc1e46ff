"""Indonesian mobile numbers: the rule lives in core/phones.py (staff phones use it too); kept here for the
members' modules that import it by this name."""

from core.phones import COUNTRY_CODE, PhoneError, normalise_phone

__all__ = ["COUNTRY_CODE", "PhoneError", "normalise_phone"]
