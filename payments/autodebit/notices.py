"""The member's text when his auto-debit has failed for good, in both paths that write it (the one-by-one
services.py and the bulk batches.py): the same words, and the same pay link (collection/members/paylinks.py) the
nightly reminders and arrears notices end with. Pure: the caller passes the member's position and the signer."""

from __future__ import annotations

from datetime import datetime

from collection.members.paylinks import LinkSigner
from collection.members.position import MemberPosition, PaymentChoice
from core.months import Month

REASON_TEXT = {"insufficient_funds": "saldo tidak cukup", "expire": "waktu habis", "provider_timeout": "gangguan"}


def link_choice(position: MemberPosition, first_month: Month, months: int) -> PaymentChoice | None:
    """The months a failed debit's link pays: what the debit was for and every month owed before it (each counter
    choice starts at the member's oldest open month), the smallest choice that reaches the debit's last month; when
    none does (its months were paid meanwhile, or he lapsed), his first choice. A link must name one of the counter's
    choices to open (payments/selfpay/links.py), so it never names the debit's months alone while older ones are
    owed."""
    last = first_month + (months - 1)
    reaching = [c for c in position.choices if c.last >= last]
    if reaching and not position.starts_new_period:
        return reaching[0]
    return position.choices[0] if position.choices else None


def debit_failed_text(
    member_id: int,
    phone: str | None,
    first_month: Month,
    months: int,
    reason: str,
    position: MemberPosition | None,
    links: LinkSigner | None,
    now: datetime,
) -> str:
    """The text to ``phone`` (the member's on record, which the link is bound to): the month, why, pay by an agent;
    with a signer (and a position), then ``Bayar online: <link>``. In
    Bahasa Indonesia, as every text to members; about 240 characters with a 40-character PUBLIC_BASE_URL, two SMS
    parts like the other texts that carry a link."""
    body = (
        f"BPJS Ketenagakerjaan: autodebet iuran {first_month} gagal ({REASON_TEXT.get(reason, 'ditolak bank')}). "
        "Bayar lewat agen Perisai sebelum jatuh tempo agar perlindungan tetap aktif."
    )
    choice = link_choice(position, first_month, months) if position is not None and links is not None else None
    if choice is None or links is None:
        return body
    return f"{body} Bayar online: {links.link(member_id, choice.first, choice.months, now, phone=phone)}"
