"""Branch finance's words for stored values (a batch's status, a variance's kind, a match, an import's status…), in
the reader's language: looked up with ``label(family, value)`` (core/i18n.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext, lazy_pgettext

from core.i18n import Labels

LABELS: Labels = {
    "arrears_bucket": {
        "1 month": lazy_gettext("1 month"),
        "2 months": lazy_gettext("2 months"),
        "3 months": lazy_gettext("3 months"),
        "lapsed": lazy_gettext("Lapsed (over 3 months)"),
    },
    "incentive_line": {
        "acquisition": lazy_gettext("Acquisition"),
        "collection": lazy_gettext("Collection"),
        "clawback": lazy_gettext("Clawback"),
        "carried": lazy_gettext("Carried"),
        "pending": lazy_pgettext("incentive_pending", "Pending"),
    },
    "variance": {
        "total": lazy_gettext("Variance total"),
        "missing_deposit": lazy_gettext("Missing deposit"),
        "not_in_bank": lazy_gettext("Not in the bank"),
        "short_in_bank": lazy_gettext("Short in the bank"),
        "over_in_bank": lazy_gettext("Over in the bank"),
    },
    "match": {
        "reference": lazy_gettext("matched by reference"),
        "amount_date": lazy_gettext("matched by amount and date"),
        "settlement": lazy_gettext("provider payout"),
        "manual": lazy_gettext("matched by hand"),
    },
    "payment_status": {"settled": lazy_gettext("settled"), "reversed": lazy_gettext("reversed")},
    "agent_status": {
        "active": lazy_gettext("active"),
        "deactivated": lazy_gettext("deactivated"),
        "terminated": lazy_gettext("terminated"),
    },
    "import_status": {
        "queued": lazy_gettext("Queued"),
        "storing": lazy_gettext("Storing lines"),
        "matching": lazy_gettext("Matching"),
        "done": lazy_gettext("Done"),
        "refused": lazy_gettext("Refused: nothing was imported"),
        "failed": lazy_gettext("Broke off: upload the same file again to resume"),
    },
    "proposal_action": {
        "deposit": lazy_gettext("Agent's deposit"),
        "settlement": lazy_gettext("Provider payout"),
        "ignore": lazy_gettext("Not contributions (ignore)"),
    },
    "batch_status": {
        "open": lazy_pgettext("status_open", "Open"),
        "closed": lazy_gettext("Closed"),
        "returned": lazy_gettext("Returned"),
        "approved": lazy_gettext("Approved"),
    },
    "channel": {
        "cash": lazy_gettext("Cash"),
        "auto_debit": lazy_gettext("Auto-debit"),
        "sponsor": lazy_gettext("Sponsor"),
        "bank_transfer": lazy_gettext("Bank transfer"),
        "virtual_account": lazy_gettext("Virtual account"),
        "qris": lazy_gettext("QRIS"),
    },
}
