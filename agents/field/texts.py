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
        "cancelled": lazy_gettext("cancelled"),
        "expired": lazy_gettext("expired"),
        "failed": lazy_gettext("failed"),
    },
    # How a payment on the member's page came: a month the member paid himself shows it, so it is not collected again
    "paid_by": {
        "cash": lazy_gettext("Cash"),
        "auto_debit": lazy_gettext("Auto-debit"),
        "sponsor": lazy_gettext("Sponsor"),
        "bank_transfer": lazy_gettext("Bank transfer"),
        "imported": lazy_gettext("Paid before iuran"),
        "virtual_account": lazy_gettext("Self-paid (VA)"),
        "qris": lazy_gettext("Self-paid (QRIS)"),
    },
    "incentive_kind": {
        "acquisition": lazy_gettext("Acquisition"),
        "collection": lazy_gettext("Collection"),
        "clawback": lazy_gettext("Clawed back"),
        "carried": lazy_gettext("Carried in"),
        "pending": lazy_pgettext("incentive_pending", "Pending"),
    },
}
