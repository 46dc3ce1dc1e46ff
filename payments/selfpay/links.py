"""Paying from a pay link (collection/members/paylinks.py) without the one-time code: the link names the member and
the months, and nothing else of the member's page opens with it.

Every refusal of a link whose signature is not ours, whose member is gone, whose phone is no longer the member's or
whose 7 days are over reads the same (``LINK_REFUSED``, a 404): it says nothing of whether a member exists. A link
whose months are all paid, no month of the member overdue, says so (a 410): its holder already knew the
member and the months. A link whose months shifted since the text (some paid another way, more fallen due, a new
price, cover lapsed) opens the member's payment as it is today: the counter's choices, arrears first, with a note
that the amounts changed. Refused tokens are counted per client address, and an address past
``LINK_REFUSALS_PER_ADDRESS`` gets a 429 before any token is read, as codes are limited at sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext

from collection.members.models import Member
from collection.members.paylinks import PayLink, link_live, masked_name, read_token, token_member
from collection.members.position import PaymentChoice, member_position
from core import ratelimit
from core.clock import local_today
from core.errors import DomainError, NotFound, TooManyRequests
from core.extensions import DbSession
from organisation.models import Branch
from payments.autodebit.providers import Provider
from payments.selfpay.models import SelfCharge
from payments.selfpay.services import charge_receipt, create_charge
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
    """What the holder of a live link sees: the masked name, and the link's months with today's amount for them
    (one choice); or, once they shifted (``changed``), the member's choices of today, arrears first."""

    link: PayLink
    masked_name: str
    choices: tuple[PaymentChoice, ...]
    changed: bool
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
            gettext("Too many attempts: wait a while and try again."),
            retry_after=ratelimit.seconds_left(_refusals_key(address), window),
            reason="throttled",
        )
    member_id = token_member(token)
    member = session.get(Member, member_id) if member_id is not None else None
    link = read_token(secret.key, token, member.phone) if member is not None else None  # signed for his phone
    if link is None or member is None or not link_live(link, now):
        raise _refused(address)
    return link, member


def open_link(session: DbSession, secret: Secret, token: str, address: str, now: datetime) -> LinkView:
    """The payment a live link opens, priced by today's rates: its months while they are still the member's first
    open ones, else his choices of today; refused as the module says."""
    link, member = _live_link(session, secret, token, address, now)
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    position = member_position(session, member, today)
    choice = next(
        (c for c in position.choices if c.first == link.first_month and c.months == link.months),
        None,
    )
    name = masked_name(member.name)
    if choice is not None:
        return LinkView(link, name, (choice,), False, position.starts_new_period, branch.timezone)
    link_paid = all(month in position.settled for month in link.covered)
    overdue = position.standing.months_in_arrears > 0 or position.starts_new_period
    if not position.choices or (link_paid and not overdue):
        raise LinkPaid("These months are already paid.", reason=LINK_PAID)
    return LinkView(link, name, position.choices, True, position.starts_new_period, branch.timezone)


def pay_by_link(
    session: DbSession,
    secret: Secret,
    token: str,
    method: str,
    months: int,
    address: str,
    now: datetime,
    provider_name: str,
    provider: Provider,
) -> SelfCharge:
    """Open a VA or QRIS charge for the link's member: for exactly the link's months while they stand (the client's
    ``months`` is ignored), else for the one of today's choices the member picked (``months``), through the same
    path as the member's page; asking again returns the open charge."""
    view = open_link(session, secret, token, address, now)
    return create_charge(
        session,
        provider_name,
        provider,
        member_id=view.link.member_id,
        months=months if view.changed else view.link.months,
        method=method,
        now=now,
        origin="link",
        first_month=None if view.changed else view.link.first_month,
    )


def link_charge(
    session: DbSession, secret: Secret, token: str, charge_id: int, address: str, now: datetime, public_base_url: str
) -> tuple[SelfCharge, str | None, str]:
    """A charge of this link's member, for its months or opened from a pay link since it was issued (its months
    re-priced), with its receipt's link once paid, and the zone its deadline is shown in; any other charge is the
    neutral refusal."""
    link, member = _live_link(session, secret, token, address, now)
    charge = session.get(SelfCharge, charge_id)
    if (
        charge is None
        or charge.member_id != member.id
        or (
            (charge.first_month, charge.months) != (link.first_month, link.months)
            and not (charge.origin == "link" and charge.created_at >= link.issued_at)
        )
    ):
        raise _refused(address)
    receipt = charge_receipt(session, charge, public_base_url)
    branch = session.get(Branch, member.branch_id)
    return charge, receipt, branch.timezone if branch is not None else "Asia/Jakarta"
