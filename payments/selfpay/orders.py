"""Members' own charges (``SP-…``) as a kind of provider order (payments/autodebit/orders.py): finance of the
member's branch sees their callbacks in review (and its resolution of one shows on the charge:
payments/selfpay/resolutions.py), and the provider's settlement report and payouts match them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select

from collection.members.models import Member
from core.extensions import DbSession
from payments.autodebit.orders import OrderKind, OrderOwner
from payments.autodebit.providers import SELF_PAYMENT_ORDER_PREFIX
from payments.ledger.models import Payment
from payments.selfpay.charges import ChargeStatus
from payments.selfpay.models import SelfCharge
from payments.selfpay.resolutions import resolve_charge


def charges_of_branch(branch_id: int) -> Select[Any]:
    """The order ids of the branch's members' charges, as a subquery."""
    return (
        select(SelfCharge.order_id)
        .join(Member, Member.id == SelfCharge.member_id)
        .where(Member.branch_id == branch_id, SelfCharge.order_id.is_not(None))
    )


def charge_owners(session: DbSession, provider: str, order_ids: Sequence[str]) -> dict[str, OrderOwner]:
    """Each named charge's branch, amount, status and booking day (settled: on our ledger)."""
    rows = session.execute(
        select(SelfCharge.order_id, Member.branch_id, SelfCharge.amount_idr, SelfCharge.status, Payment.paid_on)
        .join(Member, Member.id == SelfCharge.member_id)
        .outerjoin(Payment, Payment.id == SelfCharge.payment_id)
        .where(SelfCharge.provider == provider, SelfCharge.order_id.in_(list(order_ids)))
    )
    return {
        order_id: OrderOwner(branch_id, amount_idr, status, paid_on)
        for order_id, branch_id, amount_idr, status, paid_on in rows
        if order_id is not None
    }


def charges_booked_between(
    session: DbSession, provider: str, first: date, last: date, branch_id: int | None
) -> list[tuple[str, int, date]]:
    """The settled charges booked on those days (the branch's, or all): what the provider's report should list."""
    query = (
        select(SelfCharge.order_id, SelfCharge.amount_idr, Payment.paid_on)
        .join(Payment, Payment.id == SelfCharge.payment_id)
        .where(
            SelfCharge.provider == provider,
            SelfCharge.status == ChargeStatus.SETTLED,
            Payment.paid_on.between(first, last),
        )
    )
    if branch_id is not None:
        query = query.join(Member, Member.id == SelfCharge.member_id).where(Member.branch_id == branch_id)
    return [(order_id, amount, paid_on) for order_id, amount, paid_on in session.execute(query) if order_id]


SELF_CHARGES = OrderKind(
    prefix=SELF_PAYMENT_ORDER_PREFIX,
    of_branch=charges_of_branch,
    owners=charge_owners,
    booked_between=charges_booked_between,
    resolve=resolve_charge,
)
