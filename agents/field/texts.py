"""The agents' app's words for stored values (a member's status, a mandate's, an incentive line's kind), in the
reader's language: looked up with ``label(family, value)`` (core/i18n.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext, lazy_pgettext

from core.i18n import Labels

LABELS: Labels = {
    "member_status": {
        "active": lazy_gettext("Active"),
        "in_arrears": lazy_gettext("In arrears"),
        "lapsed": lazy_gettext("Lapsed (over 3 months)"),
    },
    "mandate_status": {
        "active": lazy_gettext("active"),
        "paused": lazy_gettext("paused"),
        "pending_authorisation": lazy_gettext("awaiting authorisation"),
    },
    "incentive_kind": {
        "acquisition": lazy_gettext("Acquisition"),
        "collection": lazy_gettext("Collection"),
        "clawback": lazy_gettext("Clawed back"),
        "carried": lazy_gettext("Carried in"),
        "pending": lazy_pgettext("incentive_pending", "Pending"),
    },
}
