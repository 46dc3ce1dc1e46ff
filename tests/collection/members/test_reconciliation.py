"""The standing reconciliation: statuses move with time, flags and notices are raised once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from collection.members.models import (
    Member,
    MembershipPeriod,
    MemberStatusChange,
    PaymentAllocation,
    StandingFlag,
    VisitItem,
)
from collection.members.reconciliation import reconcile_branch, summary
from core.extensions import db
from core.months import Month
from core.outbox import OutboxMessage
from organisation.models import Branch
from payments.ledger.models import Payment
from tests.factories import NOW
from workers import jobs
from workers.queues import LOW, queue


def reconcile(app: Any, at: Any) -> dict[str, Any]:
    with app.app_context():

        branch_id = db.session.scalar(select(Branch.id).where(Branch.code == "PKP"))
        return summary(reconcile_branch(db.session, branch_id, at, chunk=2))


def rows(app: Any, model: Any, *columns: Any) -> list[tuple[Any, ...]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(select(*columns).order_by(model.id)).all()]


def test_a_member_who_stops_paying_falls_into_arrears_and_is_told_once(pinned_app, client, world, enrol):
    member = enrol(sector="other")
    later = NOW + timedelta(days=40)  # 1 Jan 2027: November and December unpaid

    first = reconcile(pinned_app, later)
    again = reconcile(pinned_app, later)

    assert (first["changed"], first["flags"]) == (1, 1)
    assert (again["changed"], again["flags"]) == (0, 0)
    assert rows(pinned_app, MemberStatusChange, MemberStatusChange.to_status)[-1] == ("in_arrears",)
    assert rows(pinned_app, StandingFlag, StandingFlag.kind, StandingFlag.months_in_arrears) == [("arrears_1", 2)]
    notices = rows(pinned_app, OutboxMessage, OutboxMessage.kind)
    assert notices.count(("standing_arrears_1",)) == 1
    assert rows(pinned_app, VisitItem, VisitItem.member_id, VisitItem.reason) == [(member["id"], "standing_arrears_1")]


def test_three_months_owed_is_flagged_and_four_is_a_lapse_dated_and_closing_the_period(pinned_app, enrol):
    member = enrol(sector="other")
    reconcile(pinned_app, NOW + timedelta(days=40))
    reconcile(pinned_app, NOW + timedelta(days=60))  # 21 Jan 2027: Nov, Dec, Jan overdue: 3 months
    reconcile(pinned_app, NOW + timedelta(days=90))  # 20 Feb 2027: February's due date passed too: lapsed

    kinds = [k for (k,) in rows(pinned_app, StandingFlag, StandingFlag.kind)]
    assert kinds[0] == "arrears_1" and "arrears_3" in kinds and kinds[-1] == "lapsed"
    with pinned_app.app_context():
        assert db.session.get(Member, member["id"]).status == "lapsed"
        period = db.session.scalars(select(MembershipPeriod)).one()
        assert period.ended_on is not None and period.ended_on.isoformat() == "2027-02-16"


def test_members_who_pay_by_hand_get_a_reminder_before_the_due_date(pinned_app, enrol, client, world):
    import uuid

    member = enrol(sector="other")
    client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    reconcile(pinned_app, NOW + timedelta(days=19))  # 11 Dec: four days before December's due date
    reconcile(pinned_app, NOW + timedelta(days=20))  # 12 Dec: three days before 15 Dec
    reconcile(pinned_app, NOW + timedelta(days=20))

    reminders = [k for (k,) in rows(pinned_app, OutboxMessage, OutboxMessage.kind) if k == "due_reminder"]
    assert len(reminders) == 1


def test_a_real_worker_reconciles_a_branch(pinned_app, enrol, rq_burst):
    member = enrol(sector="other")
    with pinned_app.app_context():

        branch_id = db.session.scalar(select(Branch.id).where(Branch.code == "PKP"))
        queue(LOW).enqueue(jobs.reconcile_branch, branch_id, (NOW + timedelta(days=40)).isoformat())

    rq_burst()

    with pinned_app.app_context():
        assert db.session.get(Member, member["id"]).status == "in_arrears"


def test_the_operators_cli_reconciles_with_a_progress_bar(pinned_app, enrol):
    enrol(sector="other")
    runner = pinned_app.test_cli_runner()

    result = runner.invoke(args=["reconcile", "--branch", "pkp", "--on", "2027-01-05"])
    bad = runner.invoke(args=["reconcile", "--branch", "XXX"])

    assert result.exit_code == 0, result.output
    assert "PKP" in result.output and "'in_arrears': 1" in result.output
    assert bad.exit_code != 0 and "no branch" in bad.output
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StandingFlag)) == 1


def test_a_member_who_paid_ahead_past_a_hole_is_in_arrears_for_the_hole(pinned_app, client, world, enrol):
    import uuid

    member = enrol(sector="other")
    client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    with pinned_app.app_context():  # February settled too, December and January not: his settled months have a hole
        payment = Payment(member_id=member["id"], channel="cash", amount_idr=10_000, paid_on=NOW.date())
        db.session.add(payment)
        db.session.flush()
        db.session.add(
            PaymentAllocation(payment_id=payment.id, member_id=member["id"], month=Month(2027, 2), amount_idr=10_000)
        )
        db.session.commit()

    first = reconcile(pinned_app, NOW + timedelta(days=40))  # 1 Jan 2027: December overdue, January not yet due

    assert (first["changed"], first["flags"]) == (1, 1)
    assert rows(pinned_app, StandingFlag, StandingFlag.kind, StandingFlag.months_in_arrears, StandingFlag.month) == [
        ("arrears_1", 1, Month(2026, 12))
    ]
    with pinned_app.app_context():
        stored = db.session.get(Member, member["id"])
        assert (stored.status, stored.paid_through) == ("in_arrears", Month(2026, 11))
