"""Callbacks in batches attacked from outside: garbage stored, a lapsed member, a member without a period, two
members' events interleaved, a settlement of an attempt settled already; bulk and one by one must end alike."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import delete, update

from collection.members.models import Member, MembershipPeriod
from core.clock import utcnow
from core.extensions import db
from core.months import Month
from payments.autodebit.models import DebitAttempt, WebhookEvent
from tests.factories import sent_debit
from tests.payments.autodebit.test_batches import callback, debits, members, outcome, process

__all__ = ["members"]  # the fixture


def odd_batch(app: Any, client: Any, member_ids: list[int], tag: str, gone: bool) -> dict[str, str]:
    """Garbage stored for a real order, a lapsed member's settlement, a member without a period, two members'
    pending and settled callbacks interleaved with a second debit of one of them, a settlement twice."""
    garbage, lapsed, no_period = debits(app, member_ids[:3], tag)
    b1, settled_twice = debits(app, member_ids[4:6], tag)
    mandate, _, a1 = sent_debit(app, member_ids[3], f"SBX-{tag}-A", order_id=f"IUR-{tag}-A1")
    _, _, a2 = sent_debit(app, member_ids[3], "", (2026, 12), mandate_id=mandate, order_id=f"IUR-{tag}-A2")
    with app.app_context():
        db.session.execute(update(DebitAttempt).where(DebitAttempt.order_id.in_([a1, b1])).values(status="created"))
        lapsed_id, gone_id = member_ids[1], member_ids[2]
        db.session.execute(
            update(MembershipPeriod).where(MembershipPeriod.member_id == lapsed_id).values(first_month=Month(2025, 10))
        )
        db.session.execute(update(Member).where(Member.id == lapsed_id).values(first_month=Month(2025, 10)))
        if gone:  # no member is without one (enrolment and both imports write it): a broken row
            db.session.execute(delete(MembershipPeriod).where(MembershipPeriod.member_id == gone_id))
        db.session.add(
            WebhookEvent(
                provider="midtrans",
                event_key=f"garbage-{tag}",
                order_id=garbage,
                raw_body="{not json",
                received_at=utcnow(),
                state="received",
            )
        )
        db.session.commit()
    callback(client, lapsed)
    callback(client, a1, "pending")
    callback(client, no_period)
    callback(client, b1, "pending")
    callback(client, settled_twice)
    callback(client, a1)
    callback(client, b1)
    callback(client, a2)
    callback(client, settled_twice, again="-again")
    roles = ["garbage", "lapsed", "no_period", "a1", "b1", "settled_twice", "a2"]
    return dict(zip([garbage, lapsed, no_period, a1, b1, settled_twice, a2], roles, strict=True))


@pytest.mark.parametrize("gone", [False, True])
def test_odd_callbacks_in_bulk_end_exactly_as_one_by_one(pinned_app, client, members, caplog, gone):
    one_by_one = odd_batch(pinned_app, client, members(6), "X", gone)
    assert process(pinned_app, bulk=False) == 10
    bulk = odd_batch(pinned_app, client, members(6), "Y", gone)
    with caplog.at_level(logging.WARNING, logger="payments.autodebit.services"):
        assert process(pinned_app, bulk=True) == 10

    # a member without a period (a broken row) fails the whole batch in bulk: it is replayed one by one
    assert ("replaying" in caplog.text) == gone
    expected, got = outcome(pinned_app, one_by_one), outcome(pinned_app, bulk)
    for found in (expected, got):  # the notes name the member's id
        found["events"] = [(r, s, n and re.sub(r"member \d+", "member #", n)) for r, s, n in found["events"]]
    assert got == expected
    states = {(role, state) for role, state, _ in got["events"]}
    assert ("garbage", "review") in states and ("settled_twice", "ignored") in states
    assert set(got["payments"]) == {"lapsed", "a1", "b1", "settled_twice", "a2"} | (set() if gone else {"no_period"})
    assert got["members"]["a1"] == ("active", "2026-12")
