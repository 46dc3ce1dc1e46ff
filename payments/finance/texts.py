"""Branch finance's words, in the reader's language: for stored values (a batch's status, a variance's kind, a match,
an import's status…), looked up with ``label(family, value)`` (core/i18n.py); and the sentences that word what the
services return as codes and figures (a variance's cause, what is pending, why a credit is unmatched), for the
desk's pages and the API's messages alike."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, lazy_gettext, lazy_pgettext

from core.i18n import Labels, day_label, rupiah

LABELS: Labels = {
    "bank_format": {  # the column mapping of payments/finance/statements.py BANK_FORMATS (its labels in English)
        "generic": lazy_gettext(
            "Generic: date (YYYY-MM-DD), description, reference, amount (credit positive, debit negative)"
        ),
        "bri": lazy_gettext("BRI internet banking (Tanggal Transaksi, Uraian Transaksi, Debet, Kredit; 1.500.000,00)"),
        "bca": lazy_gettext("BCA KlikBCA (Tanggal Transaksi, Keterangan, Jumlah with CR/DB; 1,500,000.00 CR)"),
        "mandiri": lazy_gettext("Mandiri (Date, Description, Reference No., Debit, Credit; 1,500,000.00)"),
    },
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


def variance_cause(variance: Any) -> str:
    """A batch variance's cause (payments/finance/batches.py ``Variance``), in the reader's language."""
    if variance.kind == "missing_deposit":
        return gettext(
            "%(amount)s of the cash collected on %(day)s was not deposited by %(due)s.",
            amount=rupiah(variance.amount_idr),
            day=day_label(variance.collected_on),
            due=day_label(variance.due_by),
        )
    if variance.kind == "not_in_bank":
        return gettext(
            "Deposit %(reference)s of %(amount)s is on no imported bank statement.",
            reference=variance.reference,
            amount=rupiah(variance.declared_idr),
        )
    figures = {
        "reference": variance.reference,
        "declared": rupiah(variance.declared_idr),
        "banked": rupiah(variance.banked_idr),
        "difference": rupiah(variance.amount_idr),
    }
    if variance.kind == "short_in_bank":
        return gettext(
            "Deposit %(reference)s was declared as %(declared)s; the bank credited %(banked)s: %(difference)s short.",
            **figures,
        )
    return gettext(
        "Deposit %(reference)s was declared as %(declared)s; the bank credited %(banked)s: %(difference)s over.",
        **figures,
    )


def pending_text(pending: Any) -> str:
    """What cannot be judged yet in a batch (payments/finance/batches.py ``Pending``), in the reader's language."""
    if pending.code == "cash_due":
        return gettext(
            "%(amount)s of this day's cash is due at the bank by %(due)s.",
            amount=rupiah(pending.amount_idr),
            due=day_label(pending.due_by),
        )
    return gettext(
        "Deposit %(reference)s: no imported bank statement covers %(day)s yet.",
        reference=pending.reference,
        day=day_label(pending.day),
    )


def line_note(line: Any) -> str | None:
    """Why a bank credit is unmatched, how it was matched, or finance's own reason for it (a StatementLine or its
    dict), in the reader's language."""
    get = line.get if isinstance(line, dict) else lambda name: getattr(line, name)
    code, count = get("note_code"), get("note_count")
    if code is None:
        return get("note")
    if code == "no_match":
        return gettext("no deposit or provider payout with this reference or amount")
    if code == "many_by_reference":
        return gettext("%(count)s deposits carry this reference: match it by hand", count=count)
    if code == "many_by_amount":
        return gettext("%(count)s deposits of this amount in the days before: match it by hand", count=count)
    if code == "declared_differs":
        return gettext("deposit declared as %(amount)s", amount=rupiah(get("note_amount_idr")))
    if code == "provider_payout":
        return gettext(
            "%(provider)s payout of %(count)s debit(s) settled %(day)s",
            provider=get("provider"),
            count=count,
            day=day_label(get("note_on")),
        )
    return str(code)
