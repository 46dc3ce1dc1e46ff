"""The rules of a member's own charge: its statuses and moves, and what a provider's callback does to it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.months import Month

EXPIRY_MINUTES = 24 * 60  # a VA or QRIS charge stays payable one day (Midtrans's default for bank transfer)
VA_BANK = "bni"  # the bank of the virtual accounts (any Indonesian bank can transfer to a BNI VA)


class Method(StrEnum):
    """How the member pays: the ledger's channel of the same name."""

    VIRTUAL_ACCOUNT = "virtual_account"
    QRIS = "qris"


PAYMENT_TYPE = {Method.VIRTUAL_ACCOUNT: "bank_transfer", Method.QRIS: "qris"}  # Midtrans Core API's payment_type


class ChargeStatus(StrEnum):
    CREATED = "created"  # recorded; the provider not yet asked
    PENDING = "pending"  # open at the provider: the member can pay it until it expires
    SETTLED = "settled"  # paid and on the ledger
    EXPIRED = "expired"  # not paid in time; changes nothing
    FAILED = "failed"  # the provider refused to open it
    REVIEW = "review"  # money arrived that cannot be booked as it is (months paid meanwhile, a late payment…)
    REFUNDED = "refunded"  # finance resolved its review: the money goes back to the member
    REJECTED = "rejected"  # finance resolved its review: no payment stands (nothing kept, nothing booked)


RESOLVED_BY_FINANCE = (ChargeStatus.REFUNDED, ChargeStatus.REJECTED)


OPEN = (ChargeStatus.CREATED, ChargeStatus.PENDING)
OPENING_MINUTES = 2  # a charge still 'created' after this was never answered by the provider: not returned again
EXPIRY_GRACE_MINUTES = 15  # a callback sent at the deadline may still be on its way: expire only after this


def unanswered(status: str, expires_at: datetime, created_at: datetime, now: datetime) -> bool:
    """Whether an open charge is past what the provider can still settle as agreed: past its deadline (and the
    grace for callbacks on their way), or still being opened long after its request ended (no answer came)."""
    if status not in OPEN:
        return False
    if now >= expires_at + timedelta(minutes=EXPIRY_GRACE_MINUTES):
        return True
    return status == ChargeStatus.CREATED and now >= created_at + timedelta(minutes=EXPIRY_GRACE_MINUTES)


class Effect(StrEnum):
    SETTLE = "settle"
    EXPIRE = "expire"
    REVIEW = "review"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Verdict:
    effect: Effect
    note: str | None = None


def callback_verdict(
    status: str, charge_amount_idr: int, provider_status: str, amount_idr: int, months_still_open: bool
) -> Verdict:
    """What a verified callback does to a charge in ``status``.

    A settlement books the charge once; a settlement that cannot be booked as it is (the amount differs, the charge
    had expired, its months were paid meanwhile by another charge, an agent or an auto-debit) goes to finance's
    review: the money is never lost, and never booked twice. Expiry and failure close an open charge and change
    nothing else. A repeated or late status for a charge already past it is absorbed.
    """
    if provider_status in ("settlement", "capture"):
        if status == ChargeStatus.SETTLED:
            return Verdict(Effect.NOTHING, "already settled")
        if status == ChargeStatus.REVIEW:
            return Verdict(Effect.NOTHING, "already under review")
        if amount_idr != charge_amount_idr:
            return Verdict(Effect.REVIEW, f"paid Rp{amount_idr}, the charge was for Rp{charge_amount_idr}")
        if status in (ChargeStatus.EXPIRED, ChargeStatus.FAILED, *RESOLVED_BY_FINANCE):
            return Verdict(Effect.REVIEW, f"paid after the charge was {status}")
        if not months_still_open:
            return Verdict(Effect.REVIEW, "its months were paid meanwhile: refund or apply by hand")
        return Verdict(Effect.SETTLE)
    if provider_status == "pending":
        return Verdict(Effect.NOTHING, None if status in OPEN else f"pending after {status}")
    if provider_status in ("expire", "cancel", "deny", "failure"):
        if status in OPEN:
            return Verdict(Effect.EXPIRE)
        return Verdict(Effect.NOTHING, f"{provider_status} after {status}")
    # refunds and chargebacks of a member's own payment are finance's to handle by hand
    return Verdict(Effect.REVIEW, f"{provider_status} for a charge that is {status}")


def shown_status(status: str, expires_at: datetime, now: datetime) -> str:
    """The status a member sees: an open charge past its deadline shows as expired (its callback may lag)."""
    if status in OPEN and now >= expires_at:
        return ChargeStatus.EXPIRED
    return status


def covers(first_month: Month, months: int, open_months: tuple[Month, ...]) -> bool:
    """Whether a charge's months are still the member's first open months (nothing paid them meanwhile)."""
    wanted = tuple(first_month + k for k in range(months))
    return open_months[:months] == wanted


def owes_nothing_to_date(open_months: tuple[Month, ...], paid: tuple[Month, ...], this_month: Month) -> bool:
    """Whether, once ``paid`` is settled, every month up to this one is paid: the agent has nothing to collect
    (a month of the future still open is no reason for a visit)."""
    return all(m in paid for m in open_months if m <= this_month)
