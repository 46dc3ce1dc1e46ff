"""Orders that other capabilities open at the same providers (a member's own charges, ``SP-…``), as the review
queue of callbacks and the settlement matching see them: the branch each order belongs to and what our ledger
holds of it. Those capabilities sit above this layer, so each registers its kind of order (app.py), as packages
register their words (core/i18n.py); the debits' own orders need no registration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select

from core.extensions import DbSession


@dataclass(frozen=True)
class OrderOwner:
    """What we hold of one order: its member's branch, the amount, its status (``settled`` once on our ledger)
    and the day it was booked."""

    branch_id: int
    amount_idr: int
    status: str
    paid_on: date | None


OUTCOMES = ("settled", "refunded", "rejected")  # a resolution's money: kept (and booked), given back, none stands


@dataclass(frozen=True)
class Resolution:
    """Finance's resolution of a callback under review (payments/autodebit/review.py), as the kind of its order
    hears it: what became of the money (``outcome``: settled, refunded, rejected; None when not said), the note,
    who, when, and the callback as it arrived."""

    order_id: str
    provider: str
    raw_body: str
    outcome: str | None
    note: str
    actor_id: int
    now: datetime
    public_base_url: str


@dataclass(frozen=True)
class OrderKind:
    """A kind of order named by its prefix, and how to find its orders."""

    prefix: str
    of_branch: Callable[[int], Select[Any]]  # the order ids of a branch's members, as a subquery
    owners: Callable[[DbSession, str, Sequence[str]], dict[str, OrderOwner]]  # provider, order ids
    # provider, first and last day, branch (None: all): (order id, amount, day booked) of the orders on our ledger
    booked_between: Callable[[DbSession, str, date, date, int | None], list[tuple[str, int, date]]]
    # what finance's resolution of one of its callbacks under review does to the order (in the caller's
    # transaction; a DomainError refuses the resolution); None: the resolution changes only the callback
    resolve: Callable[[DbSession, Resolution], None] | None = None


def kind_of(order_id: str | None) -> OrderKind | None:
    """The registered kind an order id belongs to, by its prefix."""
    if not order_id:
        return None
    return next((kind for kind in _KINDS.values() if order_id.startswith(kind.prefix)), None)


_KINDS: dict[str, OrderKind] = {}


def register(*kinds: OrderKind) -> None:
    """Make a kind of order known (app.py, at start); the same kind again changes nothing."""
    for kind in kinds:
        if _KINDS.get(kind.prefix, kind) is not kind:
            raise ValueError(f"two kinds of order use the prefix {kind.prefix!r}")
        _KINDS[kind.prefix] = kind


def registered() -> tuple[OrderKind, ...]:
    return tuple(_KINDS.values())
