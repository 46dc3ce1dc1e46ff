"""The periodic job that expires members' charges the provider never reported on: past their deadline (and a grace
for callbacks on their way) they close with nothing booked, a settlement that comes later still goes to finance's
review, and a charge whose callback waits to be applied is left to it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from core.audit import AuditEvent
from core.extensions import db
from payments.autodebit.models import WebhookEvent
from payments.ledger.models import Payment
from payments.selfpay.charges import EXPIRY_GRACE_MINUTES, unanswered
from payments.selfpay.models import SelfCharge
from payments.selfpay.services import expire_unanswered_charges
from tests.factories import NOW
from tests.payments.selfpay.conftest import deliver, process, queued_bodies
from tests.payments.selfpay.test_paying import open_charge
from workers.queues import EXPIRE_SELF_CHARGES, LOW, queue

GRACE = timedelta(minutes=EXPIRY_GRACE_MINUTES)
MADE = datetime(2026, 11, 22, 2, 0)
DEADLINE = MADE + timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [
        ("pending", DEADLINE, False),  # at the deadline: a callback may be on its way
        ("pending", DEADLINE + GRACE - timedelta(seconds=1), False),
        ("pending", DEADLINE + GRACE, True),
        ("created", MADE + GRACE - timedelta(seconds=1), False),  # still being opened
        ("created", MADE + GRACE, True),  # its request ended long ago: the provider never answered
        ("settled", DEADLINE + GRACE, False),
        ("review", DEADLINE + GRACE, False),
        ("expired", DEADLINE + GRACE, False),
    ],
)
def test_an_open_charge_is_unanswered_past_its_deadline_and_the_grace(status, now, expected):
    assert unanswered(status, DEADLINE, MADE, now) is expected


def _charge(app: Any) -> SelfCharge:
    with app.app_context():
        found = db.session.scalars(select(SelfCharge)).one()
        db.session.expunge_all()
        return found


def _payments(app: Any) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Payment)).all())


def test_the_job_expires_an_unreported_charge_and_a_later_payment_goes_to_review(
    pinned_app, client, enrol, sign_in, sandbox, rq_burst
):
    member = enrol()
    sign_in(client, member["kpj"])
    open_charge(client, months=1)
    with pinned_app.app_context():  # a day passes (the worker reads the real clock): the deadline is behind us
        db.session.execute(update(SelfCharge).values(created_at=NOW - timedelta(days=1), expires_at=NOW))
        db.session.commit()
    charge = _charge(pinned_app)
    assert charge.status == "pending"
    queued_bodies(sandbox)  # the pending notification is lost: the provider never reports on the charge

    with pinned_app.app_context():
        queue(LOW).enqueue(EXPIRE_SELF_CHARGES)  # by name, as the schedule's job is
        queue(LOW).enqueue(EXPIRE_SELF_CHARGES)  # twice: the second run finds nothing
    rq_burst(LOW)

    expired = _charge(pinned_app)
    assert (expired.status, expired.payment_id, _payments(pinned_app)) == ("expired", None, 0)
    with pinned_app.app_context():
        audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "self_charge.expired")).all()
    assert [(a.entity_id, a.details["before"]) for a in audited] == [(str(charge.id), "pending")]
    assert "Kedaluwarsa" in client.get(f"/peserta/bayar/{charge.id}").get_data(as_text=True)

    sandbox.pay(charge.order_id, late=True)  # the member's bank transfer arrives after all
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    assert _payments(pinned_app) == 0 and _charge(pinned_app).status == "review"
    with pinned_app.app_context():
        states = db.session.execute(select(WebhookEvent.state, WebhookEvent.note)).all()
    assert ("review", "paid after the charge was expired") in states


def test_a_charge_within_its_deadline_or_with_a_callback_waiting_is_left_open(
    pinned_app, client, enrol, sign_in, sandbox
):
    member = enrol()
    sign_in(client, member["kpj"])
    open_charge(client, months=1)
    charge = _charge(pinned_app)
    late = charge.expires_at + GRACE

    with pinned_app.app_context():
        assert expire_unanswered_charges(db.session, charge.expires_at) == 0  # at its deadline: still open
    sandbox.pay(charge.order_id)
    deliver(client, queued_bodies(sandbox))  # stored, not yet applied
    with pinned_app.app_context():
        assert expire_unanswered_charges(db.session, late) == 0  # its settlement waits to be applied
    assert _charge(pinned_app).status == "pending"

    process(pinned_app)

    assert _charge(pinned_app).status == "settled" and _payments(pinned_app) == 1
    with pinned_app.app_context():
        assert expire_unanswered_charges(db.session, late) == 0


def test_a_charge_left_being_opened_is_not_returned_again_and_expires(pinned_app, client, enrol, sign_in, sandbox):
    member = enrol()
    sign_in(client, member["kpj"])
    open_charge(client, months=1)
    with pinned_app.app_context():
        stuck = db.session.scalars(select(SelfCharge)).one()
        stuck.status, stuck.created_at = "created", NOW - GRACE  # its request died before the provider answered
        db.session.commit()
        stuck_id = stuck.id

    again = open_charge(client, months=1).headers["Location"]  # the member asks again: a new charge, not the dead one

    assert again != f"/peserta/bayar/{stuck_id}"
    with pinned_app.app_context():
        assert expire_unanswered_charges(db.session, NOW) == 1
        statuses = dict(db.session.execute(select(SelfCharge.id, SelfCharge.status)).all())
    assert statuses[stuck_id] == "expired" and sorted(statuses.values()) == ["expired", "pending"]
