"""Self-service's words for stored values (how a member pays, a charge's status), in the reader's language: looked
up with ``label(family, value)`` (core/i18n.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext, lazy_pgettext

from core.i18n import Labels

LABELS: Labels = {
    "selfpay_method": {
        "virtual_account": lazy_gettext("Bank virtual account"),
        "qris": lazy_gettext("QRIS (e-wallet or bank app)"),
    },
    "self_charge_status": {
        "created": lazy_gettext("Being opened"),
        "pending": lazy_pgettext("charge", "Waiting for payment"),
        "settled": lazy_pgettext("charge", "Paid"),
        "expired": lazy_pgettext("charge", "Expired"),
        "failed": lazy_pgettext("charge", "Could not be opened"),
        "review": lazy_pgettext("charge", "Being checked by the branch"),
        "refunded": lazy_pgettext("charge", "Refund on its way"),
        "rejected": lazy_pgettext("charge", "Not paid"),
    },
}
