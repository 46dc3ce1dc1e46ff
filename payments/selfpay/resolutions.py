"""Finance's resolution of a member's own charge under review (``POST /webhook-events/<id>/resolution`` with an
``outcome``), applied to the charge so that his pages say what happened instead of 'being checked':

- ``settled``: the money is kept. If it is not on the ledger yet, it is booked now (the amount the callback
  brought, earliest open months first, any rest as credit; receipt and text as for any payment) and the charge
  shows the receipt. A charge whose payment is on the ledger already (a refund or chargeback callback questioned
  it) is settled again as it was.
- ``refunded``: the money goes back to the member (finance pays it outside iuran); nothing is booked.
- ``rejected``: no payment stands; nothing is booked.

A payment on the ledger is reversed first (``POST /contributions/<id>/reversal``) before its charge can be refunded
or rejected, and a reversed one is not settled again (409): the ledger and the page never disagree. Only a charge
under review changes; a callback in review whose charge is not (another provider's callback, an unreadable body)
leaves the charge as it is.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from collection.members.models import Member
from collection.members.position import member_position
from core import audit
from core.clock import local_today
from core.errors import Conflict, field_error
from core.extensions import DbSession
from organisation.models import Branch
from payments.autodebit.orders import Resolution
from payments.autodebit.providers import CallbackError, parse_midtrans_body
from payments.ledger.models import Payment, PaymentStatus
from payments.selfpay.charges import ChargeStatus
from payments.selfpay.models import SelfCharge
from payments.selfpay.services import book_charge

STATUS_OF_OUTCOME = {
    "settled": ChargeStatus.SETTLED,
    "refunded": ChargeStatus.REFUNDED,
    "rejected": ChargeStatus.REJECTED,
}
SETTLEMENT_STATUSES = ("settlement", "capture")


def resolve_charge(session: DbSession, resolution: Resolution) -> None:
    """Apply finance's outcome to the charge of a callback under review (see the module); in the caller's
    transaction. A charge under review needs an outcome: a 422 naming ``outcome`` without one."""
    charge = session.scalar(select(SelfCharge).where(SelfCharge.order_id == resolution.order_id).with_for_update())
    if charge is None or charge.status != ChargeStatus.REVIEW:
        return  # nothing of the charge is in question: the resolution is the callback's alone
    if resolution.outcome not in STATUS_OF_OUTCOME:
        raise field_error(
            "outcome",
            gettext("Say what became of the member's money: settled, refunded or rejected (his page shows it)."),
        )
    target = STATUS_OF_OUTCOME[resolution.outcome]
    payment = session.get(Payment, charge.payment_id) if charge.payment_id is not None else None
    on_ledger = payment is not None and payment.status == PaymentStatus.SETTLED
    if on_ledger and target != ChargeStatus.SETTLED:
        raise Conflict(
            gettext(
                "Payment %(order)s is on the member's ledger: reverse it first (its contribution's reversal), "
                "then resolve this callback.",
                order=charge.order_id,
            ),
            reason="payment_on_ledger",
        )
    if payment is not None and not on_ledger and target == ChargeStatus.SETTLED:
        raise Conflict(  # its idempotency key is the reversed payment's: booking again would return that one
            gettext(
                "Payment %(order)s was reversed on the member's ledger: it cannot be settled again. Choose refunded "
                "or rejected, or record the money as a new payment.",
                order=charge.order_id,
            ),
            reason="payment_reversed",
        )
    before = {"status": charge.status, "payment_id": charge.payment_id}
    if target == ChargeStatus.SETTLED and payment is None:
        charge.payment_id = _book(session, charge, resolution)
    charge.status = target
    charge.failure_reason = None if target == ChargeStatus.SETTLED else resolution.note[:200]
    audit.record(
        session,
        "self_charge.resolved",
        "self_charge",
        charge.id,
        resolution.actor_id,
        outcome=resolution.outcome,
        before=before,
        after={"status": charge.status, "payment_id": charge.payment_id},
    )


def _book(session: DbSession, charge: SelfCharge, resolution: Resolution) -> int:
    """Book the money the callback brought on the member's ledger, as a settled callback would have."""
    try:
        parsed = parse_midtrans_body(resolution.raw_body.encode())
    except CallbackError as error:
        raise Conflict(
            gettext("This callback cannot be read, so no amount can be booked: choose refunded or rejected."),
            reason="no_amount",
        ) from error
    if parsed.provider_status not in SETTLEMENT_STATUSES or parsed.amount_idr <= 0:
        raise Conflict(
            gettext("This callback brought no payment to book: choose refunded or rejected."), reason="no_amount"
        )
    member = session.get(Member, charge.member_id, with_for_update=True)
    assert member is not None
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, resolution.now)
    position = member_position(session, member, today)
    payment = book_charge(
        session,
        charge,
        member,
        branch,
        position,
        parsed.amount_idr,
        resolution.actor_id,
        today,
        resolution.now,
        resolution.public_base_url,
    )
    return payment.id
