"""Today's money paths attacked from outside: the token cache between a write and its commit, the cash path on
odd members."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from collection.members.models import Member, PaymentAllocation
from core.extensions import db
from core.outbox import OutboxMessage
from organisation import token_cache
from organisation.models import Agent, Branch, StaffUser
from organisation.services import user_for_token
from payments.ledger.models import BranchAlert, Payment, Receipt
from tests.factories import NOW, nik_for


@pytest.fixture
def stepped_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_000.0]
    monkeypatch.setattr(token_cache, "clock", lambda: now[0])
    return now


@pytest.mark.postgresql_only  # two open transactions at once (SQLite would serialise the writer and the reader)
@pytest.mark.parametrize("change", ["login_disabled", "agent_terminated"])
def test_a_token_read_between_a_disabling_flush_and_its_commit_is_not_kept(pinned_app, world, stepped_clock, change):
    """Another request of this process checks the token after the disabling write was flushed (the cache emptied)
    but before it was committed: it reads the old, active row and must not keep it past the commit."""
    agent = world["agent"]
    with pinned_app.app_context():
        writer = Session(db.engine)
        if change == "login_disabled":
            writer.get_one(StaffUser, agent.id).is_active = False
        else:
            writer.get_one(Agent, agent.agent_id).status = "terminated"
        writer.flush()  # this process's write: the cache is emptied here
        reader = Session(db.engine)
        assert user_for_token(reader, agent.token, NOW, 5) is not None  # the committed row is still active
        reader.close()
        writer.commit()
        writer.close()
        after = Session(db.engine)
        try:
            assert user_for_token(after, agent.token, NOW, 5) is None, "a disabled login still passes from the cache"
        finally:
            after.close()


@pytest.mark.parametrize("member_id", [0, -1, 2**31, 2**63, 10**30, "1", 1.5, None])
def test_odd_member_ids_are_a_422_naming_member_id(client, world, member_id):
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    response = client.post("/api/v1/contributions", json={"member_id": member_id, "months": 1}, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert "member_id" in str(response.get_json()["errors"])


def test_a_member_that_does_not_exist_and_another_branchs_member_read_alike(client, world, enrol):
    theirs = enrol(as_="ptk_agent")
    ours_headers = world["agent"].headers

    def pay(member_id: int) -> Any:
        headers = ours_headers | {"Idempotency-Key": str(uuid.uuid4())}
        return client.post("/api/v1/contributions", json={"member_id": member_id, "months": 1}, headers=headers)

    missing, other = pay(theirs["id"] + 1000), pay(theirs["id"])
    assert (missing.status_code, other.status_code) == (404, 404)
    assert missing.get_json()["message"].replace(str(theirs["id"] + 1000), "N") == other.get_json()["message"].replace(
        str(theirs["id"]), "N"
    )


def at_once(app: Any, sends: list[Any]) -> list[tuple[int, Any]]:
    """Run each ``send(client)`` in its own thread (its own session), all released together."""
    barrier = threading.Barrier(len(sends))
    results: list[tuple[int, Any]] = []

    def run(send: Any) -> None:
        client = app.test_client()
        barrier.wait()
        response = send(client)
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=run, args=(send,)) for send in sends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def paying(staff: Any, key: str, member_id: int, months: int) -> Any:
    headers = staff.headers | {"Idempotency-Key": key}
    return lambda client: client.post(
        "/api/v1/contributions", json={"member_id": member_id, "months": months}, headers=headers
    )


@pytest.mark.postgresql_only
def test_six_keys_for_one_member_at_once_take_six_different_months(pinned_app, world, enrol):
    member = enrol()
    results = at_once(pinned_app, [paying(world["agent"], str(uuid.uuid4()), member["id"], 1) for _ in range(6)])

    assert sorted(status for status, _ in results) == [201] * 6, results
    months = sorted(month for _, body in results for month in body["months_covered"])
    assert months == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"]
    with pinned_app.app_context():
        taken = db.session.execute(
            select(PaymentAllocation.month, func.count()).group_by(PaymentAllocation.month)
        ).all()
        assert sorted((str(m), n) for m, n in taken) == [(m, 1) for m in months]
        assert str(db.session.get(Member, member["id"]).paid_through) == "2027-04"


@pytest.mark.postgresql_only
def test_one_key_for_two_members_at_once_is_one_payment_and_a_409(pinned_app, world, enrol):
    first, second = enrol(), enrol(nik=nik_for(serial=2))
    key = str(uuid.uuid4())
    results = at_once(
        pinned_app, [paying(world["agent"], key, first["id"], 1), paying(world["agent"], key, second["id"], 1)]
    )

    assert sorted(status for status, _ in results) == [201, 409], results
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
        assert db.session.scalar(select(func.count()).select_from(PaymentAllocation)) == 1
        paid = [db.session.get(Member, m["id"]).paid_through for m in (first, second)]
        assert sorted(str(p) for p in paid) == ["2026-11", "None"]


def test_cash_refused_many_times_in_a_day_raises_one_alert_and_writes_no_payment(pinned_app, world, enrol):
    with pinned_app.app_context():
        db.session.get_one(Branch, world["pkp"]).cash_limit_idr = 5_000  # below one month: every payment refused
        db.session.commit()
    members = [enrol(nik=nik_for(serial=n))["id"] for n in (1, 2, 3)]
    sends = [paying(world["agent"], str(uuid.uuid4()), m, 1) for m in members for _ in range(2)]
    results = at_once(pinned_app, sends)

    assert sorted(status for status, _ in results) == [409] * 6, results
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
        assert db.session.scalar(select(func.count()).select_from(PaymentAllocation)) == 0
        alerts = db.session.scalars(select(BranchAlert.kind)).all()
        assert alerts == ["cash_limit"]


def test_a_member_without_a_phone_pays_and_gets_no_text(pinned_app, client, world, enrol):
    member = enrol()
    with pinned_app.app_context():
        db.session.execute(update(Member).where(Member.id == member["id"]).values(phone=None))
        db.session.commit()
        texts_before = db.session.scalar(select(func.count()).select_from(OutboxMessage))

    response = paying(world["agent"], str(uuid.uuid4()), member["id"], 3)(client)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["months_covered"] == ["2026-11", "2026-12", "2027-01"]
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == texts_before
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 1
