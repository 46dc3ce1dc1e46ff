"""Paying from a pay link (collection/members/paylinks.py) without the one-time code: the link names the member and
the months, and nothing else of the member's page opens with it.

Every refusal of a link whose signature is not ours, whose member is gone or whose 7 days are over reads the same
(``LINK_REFUSED``, a 404): it says nothing of whether a member exists. A link whose months are all paid says so (a
410): its holder already knew the member and the months. A link whose months no longer open the member's payments
(paid in part, lapsed meanwhile) is the neutral refusal too. Refused tokens are counted per client address, and an
address past ``LINK_REFUSALS_PER_ADDRESS`` gets a 429 before any token is read, as codes are limited at sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select

from collection.members.models import Member
from collection.members.paylinks import PayLink, link_live, masked_name, read_token
from collection.members.position import PaymentChoice, member_position
from core import ratelimit
from core.clock import local_today
from core.errors import DomainError, NotFound, TooManyRequests
from core.extensions import DbSession
from organisation.models import Branch
from payments.autodebit.providers import Provider
from payments.ledger.models import Receipt
from payments.ledger.receipts import receipt_link
from payments.selfpay.models import SelfCharge
from payments.selfpay.services import create_charge
from payments.selfpay.signin import Secret

LINK_REFUSED = "link_refused"  # the one reason for a link not ours, unknown or expired
LINK_PAID = "link_paid"
LINK_REFUSALS_PER_ADDRESS = (20, 3600)  # refused links from one client address per hour


class LinkPaid(DomainError):
    """Every month the link names is paid."""

    status = 410
    name = "Gone"


@dataclass(frozen=True)
class LinkView:
    """What the holder of a live link sees: the masked name, the months and today's amount for them."""

    link: PayLink
    masked_name: str
    choice: PaymentChoice
    starts_new_period: bool
    timezone: str


def _refusals_key(address: str) -> str:
    return f"peserta:links:address:{address}"


def _refused(address: str) -> NotFound:
    ratelimit.hit(_refusals_key(address), LINK_REFUSALS_PER_ADDRESS[1])
    return NotFound(gettext("This link does not work: ask for a code on the member's page."), reason=LINK_REFUSED)


def _live_link(session: DbSession, secret: Secret, token: str, address: str, now: datetime) -> tuple[PayLink, Member]:
    limit, window = LINK_REFUSALS_PER_ADDRESS
    if ratelimit.hits(_refusals_key(address), window) >= limit:
        raise TooManyRequests(
            gettext("Too many attempts: wait a while and try again."), retry_after=window, reason="throttled"
        )
    link = read_token(secret.key, token)
    member = session.get(Member, link.member_id) if link is not None else None
    if link is None or member is None or not link_live(link, now):
        raise _refused(address)
    return link, member


def open_link(session: DbSession, secret: Secret, token: str, address: str, now: datetime) -> LinkView:
    """The payment a live link opens, priced by today's rates; refused as the module says."""
    link, member = _live_link(session, secret, token, address, now)
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    position = member_position(session, member, local_today(branch.timezone, now))
    choice = next(
        (c for c in position.choices if c.first == link.first_month and c.months == link.months),
        None,
    )
    if choice is None:
        if all(month in position.settled for month in link.covered):
            raise LinkPaid("These months are already paid.", reason=LINK_PAID)
        raise _refused(address)
    return LinkView(link, masked_name(member.name), choice, position.starts_new_period, branch.timezone)


def pay_by_link(
    session: DbSession,
    secret: Secret,
    token: str,
    method: str,
    address: str,
    now: datetime,
    provider_name: str,
    provider: Provider,
) -> SelfCharge:
    """Open a VA or QRIS charge for exactly the link's member and months (nothing else is taken from the client),
    through the same path as the member's page; asking again returns the open charge."""
    view = open_link(session, secret, token, address, now)
    return create_charge(
        session,
        provider_name,
        provider,
        member_id=view.link.member_id,
        months=view.link.months,
        method=method,
        now=now,
        origin="link",
        first_month=view.link.first_month,
    )


def link_charge(
    session: DbSession, secret: Secret, token: str, charge_id: int, address: str, now: datetime, public_base_url: str
) -> tuple[SelfCharge, str | None, str]:
    """A charge opened from this link (its member and months), with its receipt's link once paid, and the zone its
    deadline is shown in; any other charge is the neutral refusal."""
    link, member = _live_link(session, secret, token, address, now)
    charge = session.get(SelfCharge, charge_id)
    if (
        charge is None
        or charge.member_id != member.id
        or (charge.first_month, charge.months) != (link.first_month, link.months)
    ):
        raise _refused(address)
    receipt = None
    if charge.payment_id is not None:
        code = session.scalar(select(Receipt.verification_code).where(Receipt.payment_id == charge.payment_id))
        receipt = receipt_link(public_base_url, code) if code else None
    branch = session.get(Branch, member.branch_id)
    return charge, receipt, branch.timezone if branch is not None else "Asia/Jakarta"
